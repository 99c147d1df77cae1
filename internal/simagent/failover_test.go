package simagent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/agenttest"
	"github.com/beacon-sd/beacon/internal/simagent"
)

// TestNoFalseCriticalsAcrossFailovers forces several leader changes in a
// row while 200 simulated agents keep heartbeating and renewing their
// leases: no check and no node may be marked critical, ever (issue 4).
func TestNoFalseCriticalsAcrossFailovers(t *testing.T) {
	const (
		agents    = 200
		services  = 10
		failovers = 4
	)
	servers := agenttest.ClusterArgs(t, 3, leaseArgs...)
	sims := startSims(t, servers, agents, simagent.Config{Services: services, CheckTTL: 10 * time.Second})

	leader := agenttest.Leader(t, servers...)
	var from uint64
	view(t, leader, func(tx *catalog.ReadTx) error {
		passing, _ := tx.ChecksInState(catalog.HealthPassing)
		if want := len(servers) + agents*(services+1); len(passing) != want {
			t.Errorf("passing checks before the failovers: %d, want %d", len(passing), want)
		}
		from = tx.CurrentRevision() + 1
		return tx.Err()
	})

	for i := range failovers {
		old := agenttest.Leader(t, servers...)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := old.Server().TransferLeadership(ctx, "")
		cancel()
		if err != nil {
			t.Fatalf("failover %d: transfer leadership from %s: %v", i+1, old.Config().NodeName, err)
		}
		agenttest.Eventually(t, 15*time.Second, func() error {
			if l := agenttest.Leader(t, servers...); l == old {
				return fmt.Errorf("failover %d: %s still leads", i+1, old.Config().NodeName)
			}
			return nil
		})
		// Let the new leader's fresh TTL (plus grace) run out while the
		// agents renew: an expiry it got wrong would be written now.
		time.Sleep(leaseTTL + time.Second)
	}
	// Heartbeats and renewals go on for a while longer than one lease.
	time.Sleep(2 * leaseTTL)

	leader = agenttest.Leader(t, servers...)
	view(t, leader, func(tx *catalog.ReadTx) error {
		critical, _ := tx.ChecksInState(catalog.HealthCritical)
		for _, c := range critical {
			t.Errorf("critical after the failovers: %s/%s: %q", c.Node, c.CheckID, c.Output)
		}
		for _, ev := range checkEvents(t, tx, from) {
			t.Errorf("check written after the agents settled (rev %d): %s %s/%s status %s: %q",
				ev.Revision, ev.Type, ev.Check.Node, ev.Check.CheckID, ev.Check.Status, ev.Check.Output)
		}
		return tx.Err()
	})
	if expired, revived := expiredTotal(servers); expired+revived != 0 {
		t.Errorf("lease writes across the failovers: %d expired, %d revived; want none", expired, revived)
	}
	for _, s := range sims {
		if err := s.Err(); err != nil {
			t.Error(err)
		}
	}
}

// checkEvents returns every check put from revision from on. Once the
// agents have settled nothing writes a check: a put is a status change,
// and the only ones possible here are false criticals and their recovery.
func checkEvents(t *testing.T, tx *catalog.ReadTx, from uint64) []catalog.Event {
	t.Helper()
	var out []catalog.Event
	for {
		events, next, err := tx.Events(from, 4096)
		if err != nil {
			t.Fatalf("reading the event log from %d: %v", from, err)
		}
		for _, ev := range events {
			if ev.Table == catalog.TableChecks && ev.Type == catalog.EventPut {
				out = append(out, ev)
			}
		}
		if len(events) == 0 || next == from {
			return out
		}
		from = next
	}
}
