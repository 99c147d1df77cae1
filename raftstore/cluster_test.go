package raftstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/testcluster"
	"github.com/beacon-sd/beacon/raftstore"
)

func put(key, value string) *catalog.KVRequest {
	return &catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: key, Value: []byte(value)}}
}

// readKV reads key from member m's local store (a stale read).
func readKV(t *testing.T, m *testcluster.Member, key string) *catalog.KVEntry {
	t.Helper()
	var e *catalog.KVEntry
	if err := m.Server.Store().View(func(tx *catalog.ReadTx) error {
		e, _ = tx.KV(key)
		return nil
	}); err != nil {
		t.Fatalf("read %s on %s: %v", key, m.ID, err)
	}
	return e
}

func mustApply(t *testing.T, c *testcluster.Cluster, via int, cmd catalog.Command) catalog.Result {
	t.Helper()
	res, err := c.Apply(via, cmd)
	if err != nil {
		t.Fatalf("apply via %s: %v", c.Members[via].ID, err)
	}
	return res
}

func TestWritesOnAnyServerReplicate(t *testing.T) {
	c := testcluster.New(t, 3)
	var last uint64
	for i, m := range c.Members {
		res := mustApply(t, c, i, put(fmt.Sprintf("k/%d", i), m.ID))
		if !res.OK || res.Index <= last {
			t.Fatalf("write via %s: OK=%v index=%d (previous %d)", m.ID, res.OK, res.Index, last)
		}
		last = res.Index
	}
	c.WaitApplied(last)
	for _, m := range c.Members {
		for i, w := range c.Members {
			e := readKV(t, m, fmt.Sprintf("k/%d", i))
			if e == nil || string(e.Value) != w.ID {
				t.Errorf("%s: k/%d = %+v, want value %q", m.ID, i, e, w.ID)
			}
		}
	}
}

func TestLeaderKillElectsNewLeaderAndWritesContinue(t *testing.T) {
	c := testcluster.New(t, 3)
	mustApply(t, c, 0, put("before", "1"))
	old := c.WaitLeader()
	c.Kill(old.Index)
	nl := c.WaitLeader()
	if nl == old {
		t.Fatal("killed leader still leads")
	}
	via := c.Followers()[0].Index
	res := mustApply(t, c, via, put("after", "2"))
	c.Restart(old.Index)
	c.WaitApplied(res.Index)
	for _, m := range c.Members {
		if e := readKV(t, m, "before"); e == nil {
			t.Errorf("%s lost the write made before the failover", m.ID)
		}
		if e := readKV(t, m, "after"); e == nil || string(e.Value) != "2" {
			t.Errorf("%s: write after failover = %+v", m.ID, e)
		}
	}
}

func TestRestartedFollowerCatchesUpFromLog(t *testing.T) {
	c := testcluster.New(t, 3)
	f := c.Followers()[0]
	c.Kill(f.Index)
	var last uint64
	for i := 0; i < 50; i++ {
		last = mustApply(t, c, c.WaitLeader().Index, put(fmt.Sprintf("k%02d", i), "v")).Index
	}
	c.Restart(f.Index)
	c.WaitApplied(last)
	if e := readKV(t, f, "k49"); e == nil {
		t.Fatal("restarted follower missing k49")
	}
}

func TestLaggingFollowerCatchesUpBySnapshot(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.WithConfig(func(cfg *raftstore.Config) {
		cfg.SnapshotThreshold = 32
		cfg.TrailingLogs = 8
	}))
	for _, restart := range []struct {
		name string
		do   func(int)
	}{
		{"same data dir", c.Restart},
		{"empty data dir", c.RestartEmpty},
	} {
		t.Run(restart.name, func(t *testing.T) {
			f := c.Followers()[0]
			behind := f.Server.AppliedIndex()
			c.Kill(f.Index)
			leader := c.WaitLeader()
			var last uint64
			for i := 0; i < 200; i++ {
				last = mustApply(t, c, leader.Index, put(fmt.Sprintf("%s/%03d", restart.name, i), "v")).Index
			}
			if err := leader.Server.Raft().Snapshot().Error(); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
			// The leader keeps TrailingLogs (8) entries behind its snapshot;
			// everything the follower needs next must be gone from the log.
			snap, err := snapshotIndex(leader)
			if err != nil || snap < behind+8+1 {
				t.Fatalf("leader snapshot index %d (err %v) does not cover the follower's gap from %d: the test would not exercise snapshot install", snap, err, behind)
			}
			restart.do(f.Index)
			c.WaitApplied(last)
			if e := readKV(t, f, fmt.Sprintf("%s/199", restart.name)); e == nil {
				t.Fatal("follower missing the last write after snapshot catch-up")
			}
			// Raft records the installed snapshot only after the FSM has
			// restored it, so the follower can serve the data a moment
			// before its stats show the snapshot.
			c.Eventually(5*time.Second, func() error {
				if fs, _ := snapshotIndex(f); fs < snap {
					return fmt.Errorf("follower's snapshot index %d < leader's %d: it did not install the leader's snapshot", fs, snap)
				}
				return nil
			})
		})
	}
}

func snapshotIndex(m *testcluster.Member) (uint64, error) {
	var idx uint64
	_, err := fmt.Sscan(m.Server.Raft().Stats()["last_snapshot_index"], &idx)
	return idx, err
}

func TestMinorityPartitionCommitsNothing(t *testing.T) {
	c := testcluster.New(t, 3)
	old := c.WaitLeader()
	c.Partition(old.Index) // the old leader alone: a minority of one

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := old.Server.Apply(ctx, put("minority", "x"))
	cancel()
	if !errors.Is(err, raftstore.ErrOutcomeUnknown) && !errors.Is(err, raftstore.ErrNoLeader) {
		t.Fatalf("write in minority: err = %v, want ErrOutcomeUnknown or ErrNoLeader", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	_, err = old.Server.Read(ctx, raftstore.Consistent)
	cancel()
	if err == nil {
		t.Fatal("minority served a consistent read")
	}

	var majority *testcluster.Member
	c.Eventually(10*time.Second, func() error {
		for _, m := range c.Live() {
			if m != old && m.Server.IsLeader() {
				majority = m
				return nil
			}
		}
		return errors.New("majority has not elected a leader")
	})
	res := mustApply(t, c, majority.Index, put("majority", "y"))
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	_, err = majority.Server.Read(ctx, raftstore.Consistent)
	cancel()
	if err != nil {
		t.Fatalf("consistent read on majority leader: %v", err)
	}

	c.Heal()
	c.WaitApplied(res.Index)
	for _, m := range c.Members {
		if e := readKV(t, m, "minority"); e != nil {
			t.Errorf("%s holds the write made in the minority: %+v", m.ID, e)
		}
		if e := readKV(t, m, "majority"); e == nil {
			t.Errorf("%s is missing the majority's write", m.ID)
		}
	}
}

func TestReadModes(t *testing.T) {
	c := testcluster.New(t, 3)
	res := mustApply(t, c, 0, put("k", "v"))
	f := c.Followers()[0]
	for _, mode := range []raftstore.Consistency{raftstore.Default, raftstore.Consistent, raftstore.Stale} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			info, err := f.Server.Read(ctx, mode)
			if err != nil {
				t.Fatalf("read on follower: %v", err)
			}
			if !info.KnownLeader || info.Consistency != mode {
				t.Errorf("info = %+v", info)
			}
			if mode != raftstore.Stale && f.Server.AppliedIndex() < res.Index {
				t.Errorf("%s read returned before the follower applied index %d (at %d)", mode, res.Index, f.Server.AppliedIndex())
			}
		})
	}
	// A partitioned follower still serves stale reads, not consistent ones.
	c.Partition(f.Index)
	c.Eventually(5*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if _, err := f.Server.Read(ctx, raftstore.Consistent); err == nil {
			return errors.New("partitioned follower still serves consistent reads")
		}
		return nil
	})
	if _, err := f.Server.Read(context.Background(), raftstore.Stale); err != nil {
		t.Errorf("stale read on partitioned follower: %v", err)
	}
}

func TestJoinRemoveAndLeave(t *testing.T) {
	c := testcluster.New(t, 3)
	n := c.AddServer()
	c.Eventually(10*time.Second, func() error {
		servers, _, err := c.WaitLeader().Server.Configuration()
		if err != nil || len(servers) != 4 {
			return fmt.Errorf("configuration %v (err %v), want 4 servers", servers, err)
		}
		return nil
	})
	res := mustApply(t, c, n.Index, put("via-new", "1"))
	c.WaitApplied(res.Index)

	// Graceful leave of the current leader: leadership moves, then it is removed.
	leader := c.WaitLeader()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := leader.Server.Leave(ctx); err != nil {
		t.Fatalf("leave: %v", err)
	}
	c.Kill(leader.Index)
	nl := c.WaitLeader()
	servers, _, err := nl.Server.Configuration()
	if err != nil || len(servers) != 3 || hasServer(servers, leader.ID) {
		t.Fatalf("after leave: %v (err %v)", servers, err)
	}

	// Operator removal of a dead server.
	victim := c.Followers()[0]
	c.Kill(victim.Index)
	if err := nl.Server.RemoveServer(ctx, raftstore.Peer{ID: victim.ID}); err != nil {
		t.Fatalf("remove %s: %v", victim.ID, err)
	}
	servers, _, _ = c.WaitLeader().Server.Configuration()
	if len(servers) != 2 || hasServer(servers, victim.ID) {
		t.Fatalf("after remove: %v", servers)
	}
	mustApply(t, c, c.WaitLeader().Index, put("after-remove", "1"))
}

func hasServer(servers []raftstore.ServerInfo, id string) bool {
	for _, s := range servers {
		if s.ID == id {
			return true
		}
	}
	return false
}

// A server removed by an operator and started again with an empty data dir
// must join the cluster as it is now, not bootstrap itself with the
// cluster's original (stale) server set.
func TestRemovedServerRejoinsAfterRestartEmpty(t *testing.T) {
	c := testcluster.New(t, 3)
	victim := c.Followers()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitLeader().Server.RemoveServer(ctx, raftstore.Peer{ID: victim.ID}); err != nil {
		t.Fatalf("remove %s: %v", victim.ID, err)
	}
	c.RestartEmpty(victim.Index)
	c.Eventually(10*time.Second, func() error {
		servers, _, err := c.WaitLeader().Server.Configuration()
		if err != nil || len(servers) != 3 || !hasServer(servers, victim.ID) {
			return fmt.Errorf("configuration %v (err %v): %s has not rejoined", servers, err, victim.ID)
		}
		return nil
	})
	res := mustApply(t, c, c.WaitLeader().Index, put("after-rejoin", "1"))
	c.WaitApplied(res.Index)
	if e := readKV(t, victim, "after-rejoin"); e == nil {
		t.Fatalf("%s rejoined but did not receive new writes", victim.ID)
	}
}
