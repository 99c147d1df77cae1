package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestServices(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrapped := file("wrapped.json", `{"service":{"name":"web","id":"web-1","port":80,"tags":["a"],
		"meta":{"some_key":"v"},
		"check":{"http":"http://localhost/health","interval":"10s","deregister_critical_service_after":"1m","header":{"x_h":["1"]}}}}`)
	bare := file("bare.json", `{"Name":"db","Port":5432,"Checks":[{"TTL":"10s","CheckID":"db-ttl"}]}`)
	plural := file("plural.json", `{"services":[{"name":"a"},{"name":"b"}]}`)
	noName := file("noname.json", `{"service":{"port":1}}`)
	broken := file("broken.json", `{"service":`)
	register := map[string]http.HandlerFunc{"PUT /v1/agent/service/register": reply(200, "")}
	bodyIs := func(want ...string) func(*testing.T, []recordedRequest) {
		return func(t *testing.T, reqs []recordedRequest) {
			if len(reqs) != len(want) {
				t.Fatalf("%d requests, want %d", len(reqs), len(want))
			}
			for i, r := range reqs {
				var got, exp any
				if err := json.Unmarshal(r.Body, &got); err != nil {
					t.Fatalf("body %q: %v", r.Body, err)
				}
				json.Unmarshal([]byte(want[i]), &exp)
				if !reflect.DeepEqual(got, exp) {
					t.Errorf("body %d = %s\nwant %s", i, r.Body, want[i])
				}
			}
		}
	}
	runCases(t, []cliCase{
		{name: "register from flags", routes: register,
			args:    []string{"services", "register", "-name", "web", "-id", "web-1", "-port", "80", "-address", "10.0.0.5", "-tag", "a", "-tag", "b", "-meta", "k=v", "-meta", "x=y=z"},
			wantOut: "Registered service: web\n", wantReqs: []string{"PUT /v1/agent/service/register"},
			check: bodyIs(`{"Name":"web","ID":"web-1","Port":80,"Address":"10.0.0.5","Tags":["a","b"],"Meta":{"k":"v","x":"y=z"}}`)},
		{name: "register name only", routes: register, args: []string{"services", "register", "-name", "web"},
			wantOut: "Registered service: web\n", check: bodyIs(`{"Name":"web"}`)},
		{name: "register wrapped file", routes: register, args: []string{"services", "register", wrapped},
			wantOut: "Registered service: web\n",
			check: bodyIs(`{"Name":"web","ID":"web-1","Port":80,"Tags":["a"],"Meta":{"some_key":"v"},
				"Check":{"HTTP":"http://localhost/health","Interval":"10s","DeregisterCriticalServiceAfter":"1m","Header":{"x_h":["1"]}}}`)},
		{name: "register bare file", routes: register, args: []string{"services", "register", bare},
			wantOut: "Registered service: db\n", check: bodyIs(`{"Name":"db","Port":5432,"Checks":[{"TTL":"10s","CheckID":"db-ttl"}]}`)},
		{name: "register several", routes: register, args: []string{"services", "register", plural},
			wantOut: "Registered service: a\nRegistered service: b\n", check: bodyIs(`{"Name":"a"}`, `{"Name":"b"}`)},
		{name: "register with token", routes: register, args: []string{"services", "register", "-token", "t", "-name", "web"},
			wantOut: "Registered service: web\n", check: func(t *testing.T, reqs []recordedRequest) {
				if reqs[0].Header.Get("X-Consul-Token") != "t" {
					t.Errorf("token not sent")
				}
			}},
		{name: "register file without name", args: []string{"services", "register", noName}, wantCode: 1,
			errHas: []string{"has no name"}, wantReqs: []string{}},
		{name: "register broken file", args: []string{"services", "register", broken}, wantCode: 1,
			errHas: []string{"service file:"}, wantReqs: []string{}},
		{name: "register missing file", args: []string{"services", "register", filepath.Join(dir, "nope.json")}, wantCode: 1,
			errHas: []string{"no such file"}},
		{name: "register file and flags", args: []string{"services", "register", "-port", "1", bare}, wantCode: 1,
			errHas: []string{"not both"}},
		{name: "register nothing", args: []string{"services", "register"}, wantCode: 1,
			errHas: []string{"missing FILE or -name", "Usage: beacon services register"}},
		{name: "register bad meta", args: []string{"services", "register", "-name", "a", "-meta", "novalue"}, wantCode: 1,
			errHas: []string{`want key=value, got "novalue"`}},
		{name: "register bad port", args: []string{"services", "register", "-name", "a", "-port", "http"}, wantCode: 1,
			errHas: []string{"invalid value"}},
		{name: "register rejected", args: []string{"services", "register", "-name", "a", "-address", "0.0.0.0"},
			routes:   map[string]http.HandlerFunc{"PUT /v1/agent/service/register": reply(400, "Invalid service address")},
			wantCode: 1, errHas: []string{"Error registering service: Unexpected response code: 400 (Invalid service address)"}},
		{name: "deregister", args: []string{"services", "deregister", "web-1"},
			routes:  map[string]http.HandlerFunc{"PUT /v1/agent/service/deregister/web-1": reply(200, "")},
			wantOut: "Deregistered service: web-1\n", wantReqs: []string{"PUT /v1/agent/service/deregister/web-1"}},
		{name: "deregister -id", args: []string{"services", "deregister", "-id", "web-1"},
			routes:  map[string]http.HandlerFunc{"PUT /v1/agent/service/deregister/web-1": reply(200, "")},
			wantOut: "Deregistered service: web-1\n"},
		{name: "deregister unknown", args: []string{"services", "deregister", "nope"},
			routes:   map[string]http.HandlerFunc{"*": reply(404, `Unknown service ID "nope"`)},
			wantCode: 1, errHas: []string{`Error deregistering service: Unexpected response code: 404 (Unknown service ID "nope")`}},
		{name: "deregister without id", args: []string{"services", "deregister"}, wantCode: 1, errHas: []string{"missing service ID"}},
		{name: "deregister id twice", args: []string{"services", "deregister", "-id", "a", "b"}, wantCode: 1, errHas: []string{"not both"}},
	})
}

func TestCamelKey(t *testing.T) {
	for in, want := range map[string]string{
		"name": "Name", "id": "ID", "check_id": "CheckID", "CheckID": "CheckID", "ttl": "TTL",
		"deregister_critical_service_after": "DeregisterCriticalServiceAfter", "grpc_use_tls": "GRPCUseTLS",
		"tls_skip_verify": "TLSSkipVerify", "enable_tag_override": "EnableTagOverride", "Port": "Port",
		"tagged_addresses": "TaggedAddresses", "script_args": "ScriptArgs",
	} {
		if got := camelKey(in); got != want {
			t.Errorf("camelKey(%q) = %q, want %q", in, got, want)
		}
	}
}
