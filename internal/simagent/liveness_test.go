package simagent_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/agent"
	"github.com/beacon-sd/beacon/agent/httpapi"
	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
	"github.com/beacon-sd/beacon/internal/agenttest"
	"github.com/beacon-sd/beacon/internal/simagent"
)

// TestKilledAgentFailsLeftAgentLeaves: a killed agent's node is critical
// within its lease TTL (+2s) and its services leave ?passing answers; an
// agent that leaves gracefully is listed as left, never as failed.
func TestKilledAgentFailsLeftAgentLeaves(t *testing.T) {
	servers := agenttest.ClusterArgs(t, 3, leaseArgs...)
	sims := startSims(t, servers, 3, simagent.Config{Services: 2})
	victim, leaver, bystander := sims[0], sims[1], sims[2]
	svc := simagent.ServiceName(0)
	follower := servers[0]
	for _, s := range servers {
		if !s.Server().IsLeader() {
			follower = s
		}
	}
	all := []string{victim.Name(), leaver.Name(), bystander.Name()}
	wantPassing(t, follower, svc, all...)

	killed := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	agenttest.Eventually(t, leaseTTL+2*time.Second-time.Since(killed), func() error {
		var c *catalog.Check
		view(t, agenttest.Leader(t, servers...), func(tx *catalog.ReadTx) error {
			c = tx.Check(victim.Name(), health.NodeLivenessID)
			return tx.Err()
		})
		if c == nil || c.Status != catalog.HealthCritical || c.Output != health.LivenessCriticalOutput {
			return fmt.Errorf("%s: liveness check %+v, want critical from the lease", victim.Name(), c)
		}
		return nil
	})
	t.Logf("killed agent's node critical %v after the kill (lease TTL %v)", time.Since(killed).Round(time.Millisecond), leaseTTL)
	wantPassing(t, follower, svc, leaver.Name(), bystander.Name())

	if err := leaver.Leave(); err != nil {
		t.Fatal(err)
	}
	want := map[string]httpapi.MemberStatus{victim.Name(): httpapi.MemberFailed, leaver.Name(): httpapi.MemberLeft, bystander.Name(): httpapi.MemberAlive}
	agenttest.Eventually(t, 10*time.Second, func() error { return membersAre(follower, want) })
	wantPassing(t, follower, svc, bystander.Name())
	// Long enough for any lease the leaver left behind to run out: it
	// must stay left, and the victim must be the only node expired.
	time.Sleep(2 * leaseTTL)
	if err := membersAre(follower, want); err != nil {
		t.Error(err)
	}
	if expired, _ := expiredTotal(servers); expired != 1 {
		t.Errorf("lease expiries: %d, want 1 (the killed agent's)", expired)
	}
}

// wantPassing waits until /v1/health/service/svc?passing on a lists the
// given nodes, in any order.
func wantPassing(t *testing.T, a *agent.Agent, svc string, nodes ...string) {
	t.Helper()
	slices.Sort(nodes)
	agenttest.Eventually(t, 10*time.Second, func() error {
		var entries []struct{ Node struct{ Node string } }
		if err := getJSON(a, "/v1/health/service/"+svc+"?passing", &entries); err != nil {
			return err
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Node.Node)
		}
		slices.Sort(got)
		if !slices.Equal(got, nodes) {
			return fmt.Errorf("%s?passing: nodes %v, want %v", svc, got, nodes)
		}
		return nil
	})
}

// membersAre checks the status of some nodes in /v1/agent/members.
func membersAre(a *agent.Agent, want map[string]httpapi.MemberStatus) error {
	var members []struct {
		Name   string
		Status httpapi.MemberStatus
	}
	if err := getJSON(a, "/v1/agent/members", &members); err != nil {
		return err
	}
	got := map[string]httpapi.MemberStatus{}
	for _, m := range members {
		if _, ok := want[m.Name]; ok {
			got[m.Name] = m.Status
		}
	}
	for name, st := range want {
		if got[name] != st {
			return fmt.Errorf("members: %s has status %d, want %d (all: %+v)", name, got[name], st, members)
		}
	}
	return nil
}

// TestSessionOfDeadNodeReleasesLock: a session bound to a node's liveness
// check loses its lock when the node's agent dies and its lease expires,
// and the key cannot be locked again before the session's lock delay.
func TestSessionOfDeadNodeReleasesLock(t *testing.T) {
	const (
		key       = "service/leader"
		lockDelay = 3 * leaseTTL
	)
	servers := agenttest.ClusterArgs(t, 3, leaseArgs...)
	sims := startSims(t, servers, 2, simagent.Config{Services: 1})
	holder, contender := sims[0], sims[1]
	leader := agenttest.Leader(t, servers...)
	for _, s := range sims {
		apply(t, leader, &catalog.SessionRequest{Op: catalog.SessionCreate, Session: catalog.Session{
			ID: s.Name() + "-session", Name: "lock", Node: s.Name(), NodeChecks: []string{health.NodeLivenessID}, LockDelay: lockDelay}})
	}
	lock := func(s *simagent.Agent) bool {
		return apply(t, agenttest.Leader(t, servers...), &catalog.KVRequest{Op: catalog.KVLock,
			Entry: catalog.KVEntry{Key: key, Value: []byte(s.Name()), Session: s.Name() + "-session"}}).OK
	}
	if !lock(holder) {
		t.Fatal("the holder could not take the free lock")
	}
	if lock(contender) {
		t.Fatal("the contender took a held lock")
	}

	killed := time.Now()
	if err := holder.Kill(); err != nil {
		t.Fatal(err)
	}
	agenttest.Eventually(t, leaseTTL+2*time.Second-time.Since(killed), func() error {
		var (
			kv   *catalog.KVEntry
			sess *catalog.Session
		)
		view(t, agenttest.Leader(t, servers...), func(tx *catalog.ReadTx) error {
			kv, _ = tx.KV(key)
			sess, _ = tx.Session(holder.Name() + "-session")
			return tx.Err()
		})
		if sess != nil || kv == nil || kv.Session != "" {
			return fmt.Errorf("holder's session %+v, key %+v: want the session gone and the key released", sess, kv)
		}
		return nil
	})
	// The release was written after the kill, so until kill+lockDelay
	// every attempt must fail; then one must succeed.
	attempts := 0
	agenttest.Eventually(t, lockDelay+10*time.Second, func() error {
		attempts++
		began := time.Now()
		if lock(contender) {
			if began.Before(killed.Add(lockDelay)) {
				t.Fatalf("the contender took the lock %v after the kill, within the %v lock delay", began.Sub(killed), lockDelay)
			}
			return nil
		}
		return fmt.Errorf("the contender cannot take the released lock (attempt %d, %v after the kill)", attempts, time.Since(killed))
	})
}
