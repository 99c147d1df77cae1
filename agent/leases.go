package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/beacon-sd/beacon/agent/httpapi"
	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
	"github.com/beacon-sd/beacon/raftstore"
)

// Node liveness and TTL sessions (issue 4). The leader keeps a lease per
// node and a timer per TTL session in memory (health.Leases); renewals
// reach it through CallLeader (a follower forwards them over the server
// port) and are never Raft writes. Every agent, server or client, renews
// its own node's lease every third of the TTL (keepLease).

// Leader-call methods (raftstore.CallLeader).
const (
	leaderRenewNode    = "lease.node"
	leaderRenewSession = "lease.session"
)

// startLeases runs the leader-side timers on a server agent.
func (a *Agent) startLeases() error {
	lc := health.DefaultLeaseConfig()
	lc.NodeTTL, lc.ExpiryRate, lc.ReapFailedAfter = a.cfg.LeaseTTL, a.cfg.LeaseExpiryRate, a.cfg.ReconnectTimeout
	_, lc.Grace, _ = a.cfg.RaftTiming()
	if a.cfg.Dev {
		lc.Grace = 0 // one server: nobody else could have renewed
	}
	l, err := health.NewLeases(lc, a.server.Store(), leaseWriter{a.server}, a.log.With("component", "leases"))
	if err != nil {
		return err
	}
	a.leases = l
	a.server.HandleLeader(a.serveLeader)
	a.server.OnLeadership(func(leading bool) {
		if leading {
			l.Lead()
		} else {
			l.Follow()
		}
	})
	return nil
}

// serveLeader answers lease renewals on the leader.
func (a *Agent) serveLeader(_ context.Context, method string, body []byte) ([]byte, error) {
	var (
		out any
		err error
	)
	switch method {
	case leaderRenewNode:
		var g health.LeaseGrant
		g, err = a.leases.RenewNode(string(body))
		out = httpapi.LeaseGrant{TTL: g.TTL, Nodes: g.Nodes}
	case leaderRenewSession:
		out, err = a.leases.RenewSession(string(body))
	default:
		return nil, fmt.Errorf("unknown leader call %q", method)
	}
	if errors.Is(err, health.ErrNotLeading) {
		return nil, fmt.Errorf("%w: %w", raftstore.ErrNotLeader, err)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// leaseWriter lets the leases write through Raft.
type leaseWriter struct{ s *raftstore.Server }

func (w leaseWriter) VerifyLeader(ctx context.Context) error { return w.s.VerifyLeader(ctx) }

func (w leaseWriter) Apply(ctx context.Context, cmd catalog.Command) (catalog.Result, error) {
	return w.s.ApplyAsLeader(ctx, cmd)
}

// RenewNode renews a node's lease with the leader.
func (a serverStore) RenewNode(ctx context.Context, node string) (httpapi.LeaseGrant, error) {
	var g httpapi.LeaseGrant
	body, err := a.s.CallLeader(ctx, leaderRenewNode, []byte(node))
	if err == nil {
		err = json.Unmarshal(body, &g)
	}
	return g, err
}

// RenewSession renews a TTL session with the leader.
func (a serverStore) RenewSession(ctx context.Context, id string) (*catalog.Session, error) {
	var s *catalog.Session
	body, err := a.s.CallLeader(ctx, leaderRenewSession, []byte(id))
	if err == nil {
		err = json.Unmarshal(body, &s)
	}
	return s, err
}

// renewNode renews a node's lease through a server.
func (r *remote) renewNode(ctx context.Context, node string) (httpapi.LeaseGrant, error) {
	var g httpapi.LeaseGrant
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://beacon-server/v1/internal/lease/node/"+url.PathEscape(node), nil)
	if err != nil {
		return g, err
	}
	return g, r.do(req, &g)
}

// keepLease renews this node's lease every third of its TTL until the
// agent stops. A failed renewal is retried soon, so that an election or a
// server going away costs no lease.
func (a *Agent) keepLease() {
	defer a.wg.Done()
	if a.WaitLeader(a.stopCtx) != nil {
		return
	}
	renew := func(ctx context.Context) (httpapi.LeaseGrant, error) {
		if a.server != nil {
			return serverStore{a.server}.RenewNode(ctx, a.cfg.NodeName)
		}
		return a.remote.renewNode(ctx, a.cfg.NodeName)
	}
	ttl := a.cfg.LeaseTTL
	failures := 0
	for {
		ctx, cancel := context.WithTimeout(a.stopCtx, max(ttl/3, 100*time.Millisecond))
		g, err := renew(ctx)
		cancel()
		wait := ttl / 3
		switch {
		case err == nil && g.TTL > 0:
			ttl, failures = g.TTL, 0
			// 80–100% of a third: agents started together (or released
			// together by a new leader) do not renew in lockstep.
			wait = ttl/3 - rand.N(ttl/15+1)
			a.local.SetClusterSize(g.Nodes)
		case a.stopCtx.Err() != nil:
			return
		default:
			failures++
			wait = min(ttl/10, time.Second)
			if failures == 3 || failures%30 == 0 {
				a.log.Warn("renewing this node's liveness lease failed", "failures", failures, "error", err)
			}
		}
		select {
		case <-a.stopCtx.Done():
			return
		case <-time.After(wait):
		}
	}
}
