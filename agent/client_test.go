package agent

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestWithSessionNode(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       map[string]string // nil: the body must come back unchanged
	}{
		{name: "empty body", body: "", want: map[string]string{"Node": "c1"}},
		{name: "null body", body: "null", want: map[string]string{"Node": "c1"}},
		{name: "no node", body: `{"Name":"x","TTL":"10s"}`, want: map[string]string{"Name": "x", "TTL": "10s", "Node": "c1"}},
		{name: "empty node", body: `{"Node":""}`, want: map[string]string{"Node": "c1"}},
		{name: "null node", body: `{"Node":null}`, want: map[string]string{"Node": "c1"}},
		{name: "empty node in lower case", body: `{"node":""}`, want: map[string]string{"Node": "c1"}},
		{name: "node given", body: `{"Node":"other"}`},
		{name: "node given in lower case", body: `{"node":"other"}`},
		{name: "not an object", body: `[1]`},
		{name: "not JSON", body: `{`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := withSessionNode([]byte(tc.body), "c1")
			if tc.want == nil {
				if string(got) != tc.body {
					t.Fatalf("body %q rewritten to %q", tc.body, got)
				}
				return
			}
			var fields map[string]string
			if err := json.Unmarshal(got, &fields); err != nil || !maps.Equal(fields, tc.want) {
				t.Fatalf("body %q rewritten to %s (%v), want %v", tc.body, got, err, tc.want)
			}
		})
	}
}
