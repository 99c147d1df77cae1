package cli

import (
	"net/http"
	"testing"
)

const raftConfigJSON = `{"Servers":[
 {"ID":"n1","Node":"n1","Address":"10.0.0.1:8300","Leader":true,"Voter":true},
 {"ID":"n2","Node":"n2","Address":"10.0.0.2:8300","Leader":false,"Voter":true},
 {"ID":"n3","Node":"n3","Address":"10.0.0.3:8300","Leader":false,"Voter":false}],"Index":12}`

func TestOperatorRaft(t *testing.T) {
	peers := map[string]http.HandlerFunc{"GET /v1/operator/raft/configuration": replyJSON(raftConfigJSON)}
	remove := map[string]http.HandlerFunc{"DELETE /v1/operator/raft/peer": reply(200, "")}
	transfer := map[string]http.HandlerFunc{"POST /v1/operator/raft/transfer-leader": replyJSON(`{"Success":true}`)}
	runCases(t, []cliCase{
		{name: "list-peers", args: []string{"operator", "raft", "list-peers"}, routes: peers,
			wantReqs: []string{"GET /v1/operator/raft/configuration"},
			wantOut: "" +
				"Node  ID  Address        State     Voter\n" +
				"n1    n1  10.0.0.1:8300  leader    true\n" +
				"n2    n2  10.0.0.2:8300  follower  true\n" +
				"n3    n3  10.0.0.3:8300  follower  false\n"},
		{name: "list-peers json stale", args: []string{"operator", "raft", "list-peers", "-format", "json", "-stale"}, routes: peers,
			outHas: []string{`"Index": 12`, `"Leader": true`}, wantReqs: []string{"GET /v1/operator/raft/configuration?stale"}},
		{name: "list-peers no leader", args: []string{"operator", "raft", "list-peers"},
			routes: map[string]http.HandlerFunc{"*": reply(500, "No cluster leader")}, wantCode: 1,
			errHas: []string{"Error getting peers: Unexpected response code: 500 (No cluster leader)"}},
		{name: "remove-peer id", args: []string{"operator", "raft", "remove-peer", "-id", "n3"}, routes: remove,
			wantOut: "Removed peer with id \"n3\"\n", wantReqs: []string{"DELETE /v1/operator/raft/peer?id=n3"}},
		{name: "remove-peer address", args: []string{"operator", "raft", "remove-peer", "-address", "10.0.0.3:8300"}, routes: remove,
			wantOut: "Removed peer with address \"10.0.0.3:8300\"\n", wantReqs: []string{"DELETE /v1/operator/raft/peer?address=10.0.0.3%3A8300"}},
		{name: "remove-peer neither", args: []string{"operator", "raft", "remove-peer"}, wantCode: 1,
			errHas: []string{"missing -id or -address", "Usage: beacon operator raft remove-peer [options] -id ID | -address ADDR"}},
		{name: "remove-peer both", args: []string{"operator", "raft", "remove-peer", "-id", "a", "-address", "b"}, wantCode: 1,
			errHas: []string{"not both"}},
		{name: "remove-peer unknown", args: []string{"operator", "raft", "remove-peer", "-id", "zz"},
			routes: map[string]http.HandlerFunc{"*": reply(500, `id "zz" was not found in the Raft configuration`)}, wantCode: 1,
			errHas: []string{`Error removing peer: Unexpected response code: 500 (id "zz" was not found in the Raft configuration)`}},
		{name: "transfer-leader", args: []string{"operator", "raft", "transfer-leader"}, routes: transfer,
			wantOut: "Success! Leadership transferred\n", wantReqs: []string{"POST /v1/operator/raft/transfer-leader"}},
		{name: "transfer-leader id", args: []string{"operator", "raft", "transfer-leader", "-id", "n2"}, routes: transfer,
			wantOut: "Success! Leadership transferred\n", wantReqs: []string{"POST /v1/operator/raft/transfer-leader?id=n2"}},
		{name: "transfer-leader empty answer", args: []string{"operator", "raft", "transfer-leader"},
			routes:  map[string]http.HandlerFunc{"POST /v1/operator/raft/transfer-leader": reply(200, "")},
			wantOut: "Success! Leadership transferred\n"},
		{name: "transfer-leader reported failure", args: []string{"operator", "raft", "transfer-leader"},
			routes:   map[string]http.HandlerFunc{"POST /v1/operator/raft/transfer-leader": replyJSON(`{"Success":false}`)},
			wantCode: 1, errHas: []string{"the agent reported failure"}},
	})
}
