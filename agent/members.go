package agent

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/agent/httpapi"
	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
	"github.com/beacon-sd/beacon/raftstore"
)

// members implements httpapi.Membership from the catalog: every node with
// its liveness check, which the leader writes critical when the node's
// lease expires (passing: alive, critical: failed), the nodes that left
// gracefully (left), and the Raft servers. A client agent asks a server
// for the list.
type members struct{ a *Agent }

var _ httpapi.Membership = members{}

func (m members) Members() []httpapi.Member {
	ctx, cancel := context.WithTimeout(m.a.stopCtx, 5*time.Second)
	defer cancel()
	if m.a.server == nil {
		var out []httpapi.Member
		if err := m.a.remote.getJSON(ctx, "/v1/agent/members", &out); err != nil {
			return []httpapi.Member{m.self()}
		}
		return out
	}
	return m.fromCatalog(ctx)
}

func (m members) self() httpapi.Member {
	role := "node"
	if m.a.cfg.Server {
		role = "consul"
	}
	addr, _ := nodeAddress(m.a.cfg)
	return httpapi.Member{Name: m.a.cfg.NodeName, Addr: addr, Port: uint16(max(m.a.cfg.Ports.Server, 0)), Tags: map[string]string{"role": role, "dc": m.a.cfg.Datacenter}, Status: httpapi.MemberAlive}
}

func (m members) fromCatalog(ctx context.Context) []httpapi.Member {
	servers := map[string]raftstore.ServerInfo{}
	if cfg, _, err := m.a.server.Configuration(); err == nil {
		for _, s := range cfg {
			servers[s.ID] = s
		}
	}
	var out []httpapi.Member
	_, _ = m.a.server.Read(ctx, raftstore.Stale)
	// member describes a catalog node, as a server if it is one.
	member := func(name, addr, dc string, status httpapi.MemberStatus) httpapi.Member {
		mem := httpapi.Member{Name: name, Addr: addr, Tags: map[string]string{"role": "node", "dc": dc}, Status: status}
		if s, ok := servers[name]; ok {
			mem.Tags["role"] = "consul"
			mem.Port = portOf(s.Address)
			delete(servers, name)
		}
		return mem
	}
	_ = m.a.server.Store().View(func(tx *catalog.ReadTx) error {
		nodes, _ := tx.Nodes()
		for _, n := range nodes {
			mem := member(n.Node, n.Address, n.Datacenter, httpapi.MemberAlive)
			checks, _ := tx.NodeChecks(n.Node)
			for _, c := range checks {
				if c.CheckID == health.NodeLivenessID && c.Status == catalog.HealthCritical {
					mem.Status = httpapi.MemberFailed
				}
			}
			out = append(out, mem)
		}
		left, _ := tx.LeftMembers()
		for _, l := range left {
			out = append(out, member(l.Node, l.Address, l.Datacenter, httpapi.MemberLeft))
		}
		return tx.Err()
	})
	for _, s := range servers {
		host, _, _ := net.SplitHostPort(s.Address)
		out = append(out, httpapi.Member{Name: s.ID, Addr: host, Port: portOf(s.Address), Tags: map[string]string{"role": "consul", "dc": m.a.cfg.Datacenter}, Status: httpapi.MemberAlive})
	}
	slices.SortFunc(out, func(x, y httpapi.Member) int { return strings.Compare(x.Name, y.Name) })
	return out
}

func portOf(addr string) uint16 {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.ParseUint(p, 10, 16)
	return uint16(n)
}

// Join adds a server: a server agent joins its cluster through it; a
// client agent adds it to the servers it can use.
func (m members) Join(ctx context.Context, addr string) error {
	if m.a.server != nil {
		return m.a.server.Join(ctx, addr)
	}
	m.a.remote.add(addr)
	return nil
}

// Leave asks the agent to leave and exit; the process's main loop does the
// graceful shutdown after the response is written.
func (m members) Leave(context.Context) error {
	m.a.leaveOnce.Do(func() { close(m.a.leaveCh) })
	return nil
}

// ForceLeave removes a node: a Raft server from the configuration, any
// node from the catalog.
func (m members) ForceLeave(ctx context.Context, node string) error {
	if m.a.server == nil {
		return m.a.remote.forward(ctx, "PUT", "/v1/agent/force-leave/"+node)
	}
	if cfg, _, err := m.a.server.Configuration(); err == nil {
		for _, s := range cfg {
			if s.ID == node {
				if err := m.a.server.RemoveServer(ctx, raftstore.Peer{ID: s.ID, Addr: s.Address}); err != nil {
					return err
				}
			}
		}
	}
	_, err := m.a.server.Apply(ctx, &catalog.DeregisterRequest{Node: node})
	return err
}
