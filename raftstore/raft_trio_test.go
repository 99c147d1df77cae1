package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/hclogslog"
)

// Three raw raft nodes, each on a gatedStore behind a raft.LogCache as
// Server uses, whose log writes (and, with gatedFSM, FSM applies) can be
// held or failed: tests of beacon's raft patches (third_party/raft/BEACON.md)
// and of the read index.

// gate holds its callers while closed.
type gate struct {
	mu sync.Mutex
	ch chan struct{} // non-nil while closed: callers wait until it is closed
}

// closeGate makes pass wait until the returned release is called.
func (g *gate) closeGate() (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	g.ch = ch
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.ch = nil
			g.mu.Unlock()
			close(ch)
		})
	}
}

// pass returns at once if the gate is open, else calls waiting and waits.
func (g *gate) pass(waiting func()) {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	if ch != nil {
		waiting()
		<-ch
	}
}

// gatedStore is an in-memory log store whose StoreLogs can be held until
// released, or made to fail once.
type gatedStore struct {
	*raft.InmemStore
	gate
	mu      sync.Mutex
	fail    error         // returned (once) instead of storing
	holding chan struct{} // receives when a StoreLogs starts waiting
}

func newGatedStore() *gatedStore {
	return &gatedStore{InmemStore: raft.NewInmemStore(), holding: make(chan struct{}, 1)}
}

func (g *gatedStore) StoreLog(l *raft.Log) error { return g.StoreLogs([]*raft.Log{l}) }

func (g *gatedStore) StoreLogs(logs []*raft.Log) error {
	g.mu.Lock()
	fail := g.fail
	g.fail = nil
	g.mu.Unlock()
	g.pass(func() {
		select {
		case g.holding <- struct{}{}:
		default:
		}
	})
	if fail != nil {
		return fail
	}
	return g.InmemStore.StoreLogs(logs)
}

// holdWrites makes StoreLogs wait until the returned release is called.
func (g *gatedStore) holdWrites() (release func()) { return g.closeGate() }

func (g *gatedStore) failNextWrite(err error) {
	g.mu.Lock()
	g.fail = err
	g.mu.Unlock()
}

// has reports whether the store holds entry idx with data.
func (g *gatedStore) has(idx uint64, data string) bool {
	var l raft.Log
	return g.InmemStore.GetLog(idx, &l) == nil && string(l.Data) == data
}

type raftNode struct {
	r     *raft.Raft
	store *gatedStore
	cache *raft.LogCache
	trans *raft.InmemTransport // nil over TCP
	fsm   *recordingFSM        // when no FSM was passed in
	raw   raft.FSM             // the FSM raft drives
}

// startRaftTrio starts three connected nodes, on the in-memory transport
// or over loopback TCP with raft's NetworkTransport (as Server uses, with
// its default pipelining), and returns them with the leader first. Node i
// runs fsms[i] if given, a recordingFSM otherwise.
func startRaftTrio(t *testing.T, tcp bool, fsms ...raft.FSM) []*raftNode {
	t.Helper()
	var nodes []*raftNode
	var servers []raft.Server
	var transports []raft.Transport
	for i := range 3 {
		n := &raftNode{store: newGatedStore(), fsm: &recordingFSM{}}
		n.raw = n.fsm
		if i < len(fsms) {
			n.raw = fsms[i]
		}
		var addr raft.ServerAddress
		var trans raft.Transport
		if tcp {
			nt, err := raft.NewTCPTransport("127.0.0.1:0", nil, 3, 5*time.Second, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = nt.Close() })
			addr, trans = nt.LocalAddr(), nt
		} else {
			addr, n.trans = raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("n%d", i)))
			trans = n.trans
		}
		nodes = append(nodes, n)
		transports = append(transports, trans)
		servers = append(servers, raft.Server{ID: raft.ServerID(fmt.Sprintf("n%d", i)), Address: addr})
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b && a.trans != nil {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
	for i, n := range nodes {
		conf := raft.DefaultConfig()
		conf.LocalID = servers[i].ID
		conf.HeartbeatTimeout = 100 * time.Millisecond
		conf.ElectionTimeout = 100 * time.Millisecond
		conf.LeaderLeaseTimeout = 100 * time.Millisecond
		conf.CommitTimeout = 5 * time.Millisecond
		conf.SnapshotThreshold = 1 << 30
		conf.Logger = hclogslog.New(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})), "raft")
		var err error
		n.cache, err = raft.NewLogCache(logCacheSize, n.store)
		if err != nil {
			t.Fatal(err)
		}
		n.r, err = raft.NewRaft(conf, n.raw, n.cache, n.store, raft.NewInmemSnapshotStore(), transports[i])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			done := make(chan error, 1)
			go func() { done <- n.r.Shutdown().Error() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("%s: raft Shutdown did not return within 10s", servers[i].ID)
			}
		})
	}
	if err := nodes[0].r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatalf("BootstrapCluster: %v", err)
	}
	nodes = waitTrioLeader(t, nodes)
	// A new leader reports its state before it appends its first entry;
	// wait for that entry so the tests' holds catch their own writes.
	if err := nodes[0].r.Barrier(10 * time.Second).Error(); err != nil {
		t.Fatalf("Barrier: %v", err)
	}
	return nodes
}

// waitTrioLeader waits for one node to lead and returns the nodes with the
// leader first.
func waitTrioLeader(t *testing.T, nodes []*raftNode) []*raftNode {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, n := range nodes {
			if n.r.State() == raft.Leader {
				rest := slices.Concat(nodes[:i:i], nodes[i+1:])
				return append([]*raftNode{n}, rest...)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no leader within 10s")
	return nil
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// errorOf returns a channel that receives the future's error when it is done.
func errorOf(f raft.Future) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f.Error() }()
	return ch
}

func TestLeaderReplicatesDuringItsOwnWrite(t *testing.T) {
	nodes := startRaftTrio(t, false)
	leader := nodes[0]
	release := leader.store.holdWrites()
	defer release()

	done := errorOf(leader.r.Apply([]byte("x"), 10*time.Second))
	<-leader.store.holding
	idx := leader.r.LastIndex()
	// Upstream raft writes the leader's log before replicating, so the
	// followers would never see the entry while the write is held.
	for _, f := range nodes[1:] {
		waitFor(t, "follower stores the entry while the leader's write is held", func() bool { return f.store.has(idx, "x") })
	}
	if leader.store.has(idx, "x") {
		t.Fatal("the leader's store has the entry before its write was released")
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for _, n := range nodes {
		waitFor(t, "every FSM applies x", func() bool { return slices.Equal(n.fsm.get(), []string{"x"}) })
	}
}

func TestCommitNeedsTwoDurableCopies(t *testing.T) {
	nodes := startRaftTrio(t, false)
	leader, reachable, cut := nodes[0], nodes[1], nodes[2]
	leader.trans.Disconnect(cut.trans.LocalAddr())
	cut.trans.Disconnect(leader.trans.LocalAddr())
	release := leader.store.holdWrites()
	defer release()

	done := errorOf(leader.r.Apply([]byte("y"), 10*time.Second))
	<-leader.store.holding
	idx := leader.r.LastIndex()
	waitFor(t, "the reachable follower stores the entry", func() bool { return reachable.store.has(idx, "y") })
	// One durable copy (the follower's) is not a quorum of three.
	select {
	case err := <-done:
		t.Fatalf("Apply finished (%v) with only the follower's copy durable", err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("Apply after the leader's write: %v", err)
	}
	if !leader.store.has(idx, "y") {
		t.Fatal("the entry committed but is not in the leader's store")
	}
}

func TestLeaderWriteFailureStepsDown(t *testing.T) {
	nodes := startRaftTrio(t, false)
	leader := nodes[0]
	leader.store.failNextWrite(errors.New("disk on fire"))
	if err := leader.r.Apply([]byte("lost?"), 10*time.Second).Error(); err == nil {
		t.Fatal("Apply succeeded although the leader's log write failed")
	}
	waitFor(t, "the leader steps down after its log write failed", func() bool { return leader.r.State() != raft.Leader })

	nodes = waitTrioLeader(t, nodes)
	if err := nodes[0].r.Apply([]byte("after"), 10*time.Second).Error(); err != nil {
		t.Fatalf("Apply on the next leader: %v", err)
	}
	// The failed entry may or may not have committed through the two
	// followers, but every node must apply the same sequence.
	want := func() []string { return nodes[0].fsm.get() }
	for _, n := range nodes {
		waitFor(t, "every FSM applies the same entries", func() bool {
			got := n.fsm.get()
			return slices.Equal(got, want()) && slices.Contains(got, "after")
		})
	}
	if got := want(); len(got) > 2 || got[len(got)-1] != "after" {
		t.Fatalf("applied %q, want [after] or [lost? after]", got)
	}
}

// TestPipelineSurvivesFollowerWriteFailures: a follower that fails a log
// write answers an AppendEntries with Success=false, which ends the
// leader's pipeline decoder. Upstream raft could then block its pipeline
// sender forever (a send parked behind a response nobody reads), so the
// follower silently stopped receiving entries while heartbeats went on.
// Each injected failure must be followed by the follower catching up.
func TestPipelineSurvivesFollowerWriteFailures(t *testing.T) {
	nodes := startRaftTrio(t, true)
	leader, follower := nodes[0], nodes[1]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_ = leader.r.Apply([]byte(fmt.Sprintf("w%d-%d", w, i)), 5*time.Second).Error()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	for round := range 8 {
		follower.store.failNextWrite(fmt.Errorf("injected failure %d", round))
		waitFor(t, "the injected failure is used", func() bool {
			follower.store.mu.Lock()
			defer follower.store.mu.Unlock()
			return follower.store.fail == nil
		})
		target := leader.r.LastIndex()
		waitFor(t, fmt.Sprintf("round %d: the follower stores entry %d after its failed write", round, target), func() bool {
			last, _ := follower.store.LastIndex()
			return last >= target
		})
	}
}

// gatedFSM is the catalog FSM with an ApplyBatch that can be held.
type gatedFSM struct {
	*FSM
	gate
}

func (g *gatedFSM) Apply(l *raft.Log) any { return g.ApplyBatch([]*raft.Log{l})[0] }

func (g *gatedFSM) ApplyBatch(logs []*raft.Log) []any {
	g.pass(func() {})
	return g.FSM.ApplyBatch(logs)
}

// holdApplies makes ApplyBatch wait until the returned release is called.
func (g *gatedFSM) holdApplies() (release func()) { return g.closeGate() }

// TestReadIndexCoversWhatFollowersApplied: followers learn of a commit
// from the leader and may apply it before the leader's own FSM does. The
// read index the leader hands out must cover it; at the leader's applied
// index, a read on that follower could return a new value and a later
// read elsewhere the old one.
func TestReadIndexCoversWhatFollowersApplied(t *testing.T) {
	var fsms []raft.FSM
	for range 3 {
		store, err := catalog.Open(catalog.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		fsms = append(fsms, &gatedFSM{FSM: newFSM(store)})
	}
	nodes := startRaftTrio(t, false, fsms...)
	leader, follower := nodes[0], nodes[1]
	leaderFSM, followerFSM := leader.raw.(*gatedFSM), follower.raw.(*gatedFSM)
	release := leaderFSM.holdApplies()
	defer release()

	data, err := catalog.Encode(&catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: "k", Value: []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	done := errorOf(leader.r.Apply(data, 10*time.Second))
	var idx uint64
	waitFor(t, "the follower applies the write while the leader's FSM is held", func() bool {
		idx = leader.r.LastIndex()
		return followerFSM.Applied() >= idx
	})
	if got := leaderFSM.Applied(); got >= idx {
		t.Fatalf("the leader's FSM applied %d while held", got)
	}
	s := &Server{raft: leader.r, fsm: leaderFSM.FSM, logCache: leader.cache}
	for _, consistent := range []bool{false, true} {
		if consistent {
			s.ready.Store(true)
			s.shutdownCh = make(chan struct{})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := s.leaderReadIndex(ctx, consistent)
		cancel()
		if err != nil || got < idx {
			t.Fatalf("leaderReadIndex(consistent=%v) = %d, %v; want >= %d, the index the follower applied", consistent, got, err, idx)
		}
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("Apply: %v", err)
	}
}
