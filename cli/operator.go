package cli

import (
	"encoding/json"
	"net/http"
	"net/url"
)

var operatorCommands = []*command{{
	name:     "operator raft list-peers",
	synopsis: "Lists the Raft servers",
	usage:    "[options]",
	help: `
  Lists the servers of the Raft configuration
  (GET /v1/operator/raft/configuration): node, ID, address, state (leader or
  follower) and whether it votes.`,
	read: true,
	run:  runRaftListPeers,
}, {
	name:     "operator raft remove-peer",
	synopsis: "Removes a server from the Raft configuration",
	usage:    "[options] -id ID | -address ADDR",
	help: `
  Removes a server from the Raft configuration
  (DELETE /v1/operator/raft/peer), by ID or by address. Use it for a server
  that failed and will not come back; a healthy server should leave instead.`,
	run: runRaftRemovePeer,
}, {
	name:     "operator raft transfer-leader",
	synopsis: "Hands Raft leadership to another server",
	usage:    "[options] [-id ID]",
	help: `
  Asks the leader to hand leadership over
  (POST /v1/operator/raft/transfer-leader): to the server -id, or to any
  other voter.`,
	run: runRaftTransferLeader,
}}

// raftConfig is the answer of GET /v1/operator/raft/configuration.
type raftConfig struct {
	Servers []raftServer
	Index   uint64
}

type raftServer struct {
	ID      string
	Node    string
	Address string
	Leader  bool
	Voter   bool
}

func runRaftListPeers(inv *invocation, args []string) int {
	args, c, code, ok := inv.start(args, 0, 0)
	if !ok {
		return code
	}
	var cfg raftConfig
	r, err := c.get("/v1/operator/raft/configuration", inv.query(), &cfg)
	if err != nil {
		return inv.fail("getting peers", err)
	}
	if inv.json() {
		return inv.printJSON(r.body)
	}
	tw := inv.table()
	row(tw, "Node", "ID", "Address", "State", "Voter")
	for _, s := range cfg.Servers {
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		row(tw, s.Node, s.ID, s.Address, state, s.Voter)
	}
	tw.Flush()
	return 0
}

func runRaftRemovePeer(inv *invocation, args []string) int {
	var id, address string
	inv.fs.StringVar(&id, "id", "", "The ID of the server to remove.")
	inv.fs.StringVar(&address, "address", "", "The address (host:port) of the server to remove.")
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 0, 0); !ok {
		return code
	}
	q := url.Values{}
	switch {
	case id != "" && address != "":
		return inv.usageError("give -id or -address, not both")
	case id != "":
		q.Set("id", id)
	case address != "":
		q.Set("address", address)
	default:
		return inv.usageError("missing -id or -address")
	}
	c := inv.client()
	if c == nil {
		return 1
	}
	if _, err := c.do(http.MethodDelete, "/v1/operator/raft/peer", q, nil); err != nil {
		return inv.fail("removing peer", err)
	}
	if id != "" {
		inv.printf("Removed peer with id %q\n", id)
	} else {
		inv.printf("Removed peer with address %q\n", address)
	}
	return 0
}

func runRaftTransferLeader(inv *invocation, args []string) int {
	var id string
	inv.fs.StringVar(&id, "id", "", "The ID of the server to hand leadership to (default: any voter).")
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 0, 0); !ok {
		return code
	}
	q := url.Values{}
	if id != "" {
		q.Set("id", id)
	}
	c := inv.client()
	if c == nil {
		return 1
	}
	r, err := c.do(http.MethodPost, "/v1/operator/raft/transfer-leader", q, nil)
	if err != nil {
		return inv.fail("transferring leadership", err)
	}
	// Consul answers {"Success": bool}; an empty or other body means success.
	var res struct{ Success *bool }
	if json.Unmarshal(r.body, &res) == nil && res.Success != nil && !*res.Success {
		return inv.errorf("Error transferring leadership: the agent reported failure")
	}
	inv.printf("Success! Leadership transferred\n")
	return 0
}
