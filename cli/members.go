package cli

import (
	"net"
	"sort"
	"strconv"
	"strings"
)

var membersCommands = []*command{{
	name:     "members",
	synopsis: "Lists the members of the cluster",
	usage:    "[options]",
	help: `
  Lists the cluster's members as the agent knows them (GET /v1/agent/members):
  node name, address, status (alive, leaving, left, failed), type (server or
  client), build and datacenter.`,
	read: true,
	run:  runMembers,
}}

// member is an entry of GET /v1/agent/members.
type member struct {
	Name   string
	Addr   string
	Port   uint16
	Tags   map[string]string
	Status int
}

// memberStatus names Serf's member status codes.
func memberStatus(s int) string {
	switch s {
	case 0:
		return "none"
	case 1:
		return "alive"
	case 2:
		return "leaving"
	case 3:
		return "left"
	case 4:
		return "failed"
	}
	return "unknown(" + strconv.Itoa(s) + ")"
}

func runMembers(inv *invocation, args []string) int {
	args, c, code, ok := inv.start(args, 0, 0)
	if !ok {
		return code
	}
	var members []member
	r, err := c.get("/v1/agent/members", inv.query(), &members)
	if err != nil {
		return inv.fail("retrieving members", err)
	}
	if inv.json() {
		return inv.printJSON(r.body)
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	tw := inv.table()
	row(tw, "Node", "Address", "Status", "Type", "Build", "DC")
	for _, m := range members {
		typ := "client"
		if m.Tags["role"] == "consul" || m.Tags["role"] == "server" {
			typ = "server"
		}
		build, _, _ := strings.Cut(m.Tags["build"], ":")
		addr := net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port)))
		row(tw, m.Name, addr, memberStatus(m.Status), typ, build, m.Tags["dc"])
	}
	tw.Flush()
	return 0
}
