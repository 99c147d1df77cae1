package local

import (
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

func TestScaleFactor(t *testing.T) {
	for _, tc := range []struct {
		nodes, want int
	}{
		{0, 1}, {1, 1}, {128, 1}, {129, 2}, {256, 2}, {257, 3}, {1000, 4}, {5000, 7}, {10000, 8},
	} {
		if got := scaleFactor(tc.nodes); got != tc.want {
			t.Errorf("scaleFactor(%d) = %d, want %d", tc.nodes, got, tc.want)
		}
	}
}

func TestFullSyncIntervalGrowsWithClusterSize(t *testing.T) {
	s := &State{cfg: Config{SyncInterval: time.Minute}}
	for _, tc := range []struct {
		nodes    int
		min, max time.Duration
	}{
		{10, 45 * time.Second, 75 * time.Second},
		{5000, 7 * 45 * time.Second, 7 * 75 * time.Second},
	} {
		s.SetClusterSize(tc.nodes)
		for range 50 {
			if d := s.fullSyncInterval(); d < tc.min || d > tc.max {
				t.Fatalf("%d nodes: full sync interval %s outside [%s, %s]", tc.nodes, d, tc.min, tc.max)
			}
		}
	}
}

// TestSyncLeavesLivenessStatusToTheLeader: the leader writes serfHealth
// critical when the node's lease expires; anti-entropy must not flip it
// back (only a lease renewal does), but restores the check if it is gone.
func TestSyncLeavesLivenessStatusToTheLeader(t *testing.T) {
	cat := newFakeCatalog(t)
	s := newState(t, testConfig(""), cat)
	s.Start()
	waitSynced(t, s)
	cat.mustWrite(&catalog.CheckStatusRequest{Updates: []catalog.CheckUpdate{{
		Node: "node1", CheckID: health.NodeLivenessID, Status: catalog.HealthCritical, Output: health.LivenessCriticalOutput}}})
	n := len(cat.commands())
	s.SyncFull()
	waitFor(t, "a full sync round", func() bool { return s.InSync() })
	if err := syncNow(t, s); err != nil {
		t.Fatal(err)
	}
	if got := commandsSince(cat, n); len(got) != 0 {
		t.Fatalf("a full sync rewrote the leader's liveness status: %v", got)
	}
	if c := cat.check("node1", health.NodeLivenessID); c == nil || c.Status != catalog.HealthCritical {
		t.Fatalf("liveness = %+v, want still critical", c)
	}
	cat.mustWrite(&catalog.DeregisterRequest{Node: "node1", CheckID: health.NodeLivenessID})
	s.SyncFull()
	waitFor(t, "the liveness check restored", func() bool {
		c := cat.check("node1", health.NodeLivenessID)
		return c != nil && c.Status == catalog.HealthPassing
	})
}
