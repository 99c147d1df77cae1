package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

var infoCommands = []*command{{
	name:     "info",
	synopsis: "Describes the agent, the Raft group and the leader",
	usage:    "[options]",
	help: `
  Prints the agent's configuration (GET /v1/agent/self), the Raft
  configuration as this agent sees it (GET /v1/operator/raft/configuration)
  and the leader's address (GET /v1/status/leader), as "key = value" lines
  grouped in sections. Statistics the agent reports in /v1/agent/self are
  added to their sections.`,
	read: true,
	run:  runInfo,
}, {
	name:     "leave",
	synopsis: "Makes the agent leave the cluster gracefully and stop",
	usage:    "[options]",
	help: `
  Asks the agent to leave the cluster gracefully and shut down
  (PUT /v1/agent/leave).`,
	run: runLeave,
}}

// agentSelf is the part of GET /v1/agent/self that info prints.
type agentSelf struct {
	Config struct {
		Datacenter string
		NodeName   string
		NodeID     string
		Server     bool
		Version    string
		Revision   string
	}
	Stats map[string]map[string]any
}

// infoReport gathers info's three answers; a failed part keeps its error.
type infoReport struct {
	self      agentSelf
	selfRaw   json.RawMessage
	leader    string
	leaderRaw json.RawMessage
	leaderErr error
	raft      raftConfig
	raftRaw   json.RawMessage
	raftErr   error
}

func runInfo(inv *invocation, args []string) int {
	args, c, code, ok := inv.start(args, 0, 0)
	if !ok {
		return code
	}
	var rep infoReport
	r, err := c.get("/v1/agent/self", nil, &rep.self)
	if err != nil {
		return inv.fail("querying agent", err)
	}
	rep.selfRaw = r.body
	if r, err := c.get("/v1/status/leader", inv.query(), &rep.leader); err != nil {
		rep.leaderErr = err
	} else {
		rep.leaderRaw = r.body
	}
	if r, err := c.get("/v1/operator/raft/configuration", inv.query(), &rep.raft); err != nil {
		rep.raftErr = err
	} else {
		rep.raftRaw = r.body
	}
	if inv.json() {
		inv.printValue(map[string]json.RawMessage{"Self": rep.selfRaw, "Leader": rep.leaderRaw, "Raft": rep.raftRaw})
	} else {
		printSections(inv, rep.sections())
	}
	code = 0
	if rep.leaderErr != nil {
		code = inv.fail("querying the leader", rep.leaderErr)
	}
	if rep.raftErr != nil {
		code = inv.fail("querying the Raft configuration", rep.raftErr)
	}
	return code
}

// sections arranges the report as info prints it.
func (rep *infoReport) sections() map[string]map[string]string {
	cfg := rep.self.Config
	s := map[string]map[string]string{
		"agent": {
			"datacenter": cfg.Datacenter, "node_name": cfg.NodeName, "node_id": cfg.NodeID,
			"server": strconv.FormatBool(cfg.Server), "version": cfg.Version, "revision": cfg.Revision,
		},
		"leader": {},
		"raft":   {},
	}
	switch {
	case rep.leaderErr != nil:
		s["leader"]["error"] = rep.leaderErr.Error()
	case rep.leader == "":
		s["leader"]["address"] = "none"
	default:
		s["leader"]["address"] = rep.leader
	}
	if rep.raftErr != nil {
		s["raft"]["error"] = rep.raftErr.Error()
	} else {
		rep.raftSection(s["raft"])
	}
	for name, stats := range rep.self.Stats {
		if s[name] == nil {
			s[name] = map[string]string{}
		}
		for k, v := range stats {
			if _, ok := s[name][k]; !ok {
				s[name][k] = fmt.Sprint(v)
			}
		}
	}
	return s
}

// raftSection fills the raft section from the Raft configuration.
func (rep *infoReport) raftSection(sec map[string]string) {
	cfg := rep.self.Config
	voters, state, leaderID := 0, "none", "none"
	for _, srv := range rep.raft.Servers {
		if srv.Voter {
			voters++
		}
		if srv.Leader {
			leaderID = srv.ID
		}
		if srv.ID == cfg.NodeID || srv.ID == cfg.NodeName || srv.Node == cfg.NodeName {
			state = "follower"
			if srv.Leader {
				state = "leader"
			}
		}
	}
	sec["state"] = state
	sec["leader_id"] = leaderID
	sec["servers"] = strconv.Itoa(len(rep.raft.Servers))
	sec["voters"] = strconv.Itoa(voters)
	sec["config_index"] = strconv.FormatUint(rep.raft.Index, 10)
}

// printSections writes sections as Consul's info does: "name:" then
// "\tkey = value" lines, both sorted.
func printSections(inv *invocation, sections map[string]map[string]string) {
	names := make([]string, 0, len(sections))
	for name := range sections {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		inv.printf("%s:\n", name)
		keys := make([]string, 0, len(sections[name]))
		for k := range sections[name] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			inv.printf("\t%s = %s\n", k, sections[name][k])
		}
	}
}

func runLeave(inv *invocation, args []string) int {
	args, c, code, ok := inv.start(args, 0, 0)
	if !ok {
		return code
	}
	if _, err := c.put("/v1/agent/leave", nil, nil); err != nil {
		return inv.fail("leaving", err)
	}
	inv.printf("Graceful leave complete\n")
	return 0
}
