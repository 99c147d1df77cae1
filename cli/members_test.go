package cli

import (
	"net/http"
	"testing"
)

func TestMembers(t *testing.T) {
	const body = `[
 {"Name":"s2","Addr":"10.0.0.2","Port":8301,"Tags":{"role":"consul","dc":"dc1","build":"1.2.3:abc"},"Status":4},
 {"Name":"s1","Addr":"10.0.0.1","Port":8301,"Tags":{"role":"consul","dc":"dc1","build":"1.2.3:abc"},"Status":1},
 {"Name":"c1","Addr":"::1","Port":8301,"Tags":{"role":"node","dc":"dc2"},"Status":3}]`
	routes := map[string]http.HandlerFunc{"GET /v1/agent/members": replyJSON(body)}
	runCases(t, []cliCase{
		{name: "table", args: []string{"members"}, routes: routes, wantReqs: []string{"GET /v1/agent/members"},
			wantOut: "" +
				"Node  Address        Status  Type    Build  DC\n" +
				"c1    [::1]:8301     left    client         dc2\n" +
				"s1    10.0.0.1:8301  alive   server  1.2.3  dc1\n" +
				"s2    10.0.0.2:8301  failed  server  1.2.3  dc1\n"},
		{name: "json", args: []string{"members", "-format", "json"}, routes: routes,
			outHas: []string{"[\n    {\n        \"Name\": \"s2\",", `"Status": 3`}},
		{name: "empty", args: []string{"members"}, routes: map[string]http.HandlerFunc{"GET /v1/agent/members": replyJSON(`[]`)},
			wantOut: "Node  Address  Status  Type  Build  DC\n"},
		{name: "garbage answer", args: []string{"members"}, routes: map[string]http.HandlerFunc{"GET /v1/agent/members": replyJSON(`{`)},
			wantCode: 1, errHas: []string{"Error retrieving members: decoding response"}},
	})
}
