package cli

import (
	"net/http"
	"testing"
)

func TestInfo(t *testing.T) {
	const self = `{"Config":{"Datacenter":"dc1","NodeName":"n2","NodeID":"n2","Server":true,"Version":"0.1.0","Revision":"abc"},
		"Member":{"Name":"n2"},"Meta":{},"Stats":{"raft":{"applied_index":"40","state":"Follower"},"runtime":{"goroutines":17}}}`
	routes := map[string]http.HandlerFunc{
		"GET /v1/agent/self":                  replyJSON(self),
		"GET /v1/status/leader":               replyJSON(`"10.0.0.1:8300"`),
		"GET /v1/operator/raft/configuration": replyJSON(raftConfigJSON),
	}
	noLeader := map[string]http.HandlerFunc{
		"GET /v1/agent/self":                  replyJSON(self),
		"GET /v1/status/leader":               replyJSON(`""`),
		"GET /v1/operator/raft/configuration": reply(500, "No cluster leader"),
	}
	runCases(t, []cliCase{
		{name: "info", args: []string{"info"}, routes: routes,
			wantReqs: []string{"GET /v1/agent/self", "GET /v1/status/leader", "GET /v1/operator/raft/configuration"},
			wantOut: "agent:\n" +
				"\tdatacenter = dc1\n\tnode_id = n2\n\tnode_name = n2\n\trevision = abc\n\tserver = true\n\tversion = 0.1.0\n" +
				"leader:\n\taddress = 10.0.0.1:8300\n" +
				"raft:\n\tapplied_index = 40\n\tconfig_index = 12\n\tleader_id = n1\n\tservers = 3\n\tstate = follower\n\tvoters = 2\n" +
				"runtime:\n\tgoroutines = 17\n"},
		{name: "stale", args: []string{"info", "-stale"}, routes: routes, outHas: []string{"agent:"},
			wantReqs: []string{"GET /v1/agent/self", "GET /v1/status/leader?stale", "GET /v1/operator/raft/configuration?stale"}},
		{name: "json", args: []string{"info", "-format", "json"}, routes: routes,
			outHas: []string{`"Self": {`, `"Leader": "10.0.0.1:8300"`, `"Raft": {`, `"NodeName": "n2"`}},
		{name: "no leader", args: []string{"info"}, routes: noLeader, wantCode: 1,
			outHas: []string{"leader:\n\taddress = none\n", "raft:\n\tapplied_index = 40\n\terror = Unexpected response code: 500 (No cluster leader)\n"},
			errHas: []string{"Error querying the Raft configuration: Unexpected response code: 500 (No cluster leader)"}},
		{name: "self fails", args: []string{"info"}, routes: map[string]http.HandlerFunc{"*": reply(403, "Permission denied")},
			wantCode: 1, errHas: []string{"Error querying agent: Unexpected response code: 403 (Permission denied)"},
			wantReqs: []string{"GET /v1/agent/self"}},
	})
}

func TestLeave(t *testing.T) {
	runCases(t, []cliCase{
		{name: "leave", args: []string{"leave"}, routes: map[string]http.HandlerFunc{"PUT /v1/agent/leave": reply(200, "")},
			wantOut: "Graceful leave complete\n", wantReqs: []string{"PUT /v1/agent/leave"}},
		{name: "leave refused", args: []string{"leave"}, routes: map[string]http.HandlerFunc{"*": reply(500, "boom")},
			wantCode: 1, errHas: []string{"Error leaving: Unexpected response code: 500 (boom)"}},
	})
}
