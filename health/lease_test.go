package health_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

// leaseCluster is a catalog store with a writer that applies commands to
// it directly, standing in for Raft on a leader.
type leaseCluster struct {
	t      *testing.T
	store  *catalog.Store
	mu     sync.Mutex
	idx    uint64
	writes atomic.Int64 // commands applied through the writer
	notLed atomic.Bool  // VerifyLeader fails
}

func newLeaseCluster(t *testing.T) *leaseCluster {
	t.Helper()
	return newLeaseClusterWith(t, catalog.Options{})
}

func newLeaseClusterWith(t *testing.T, opts catalog.Options) *leaseCluster {
	t.Helper()
	s, err := catalog.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &leaseCluster{t: t, store: s}
}

func (c *leaseCluster) VerifyLeader(context.Context) error {
	if c.notLed.Load() {
		return errors.New("not the leader")
	}
	return nil
}

func (c *leaseCluster) Apply(_ context.Context, cmd catalog.Command) (catalog.Result, error) {
	c.writes.Add(1)
	if err := cmd.Validate(); err != nil {
		return catalog.Result{}, err
	}
	return c.apply(cmd)
}

// apply commits cmd as the next log entry. Setting up state skips
// validation, so sessions may have TTLs far below the API's 10s minimum.
func (c *leaseCluster) apply(cmd catalog.Command) (catalog.Result, error) {
	data, err := catalog.Encode(cmd)
	if err != nil {
		return catalog.Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idx++
	res, err := c.store.ApplyBatch([]catalog.Entry{{Index: c.idx, Time: time.Now(), Data: data}})
	if err != nil {
		return catalog.Result{}, err
	}
	return res[0], res[0].Err
}

func (c *leaseCluster) must(cmd catalog.Command) {
	c.t.Helper()
	if _, err := c.apply(cmd); err != nil {
		c.t.Fatalf("%T: %v", cmd, err)
	}
}

// addNode registers a node with a passing liveness check.
func (c *leaseCluster) addNode(name string) {
	c.t.Helper()
	c.must(&catalog.RegisterRequest{
		Node:   catalog.Node{Node: name, Address: "10.0.0.1"},
		Checks: []*catalog.Check{{CheckID: health.NodeLivenessID, Name: "Serf Health Status", Status: catalog.HealthPassing}},
	})
}

func (c *leaseCluster) liveness(node string) string {
	var status string
	_ = c.store.View(func(tx *catalog.ReadTx) error {
		if ch := tx.Check(node, health.NodeLivenessID); ch != nil {
			status = ch.Status
		}
		return nil
	})
	return status
}

func (c *leaseCluster) leases(cfg health.LeaseConfig) *health.Leases {
	c.t.Helper()
	l, err := health.NewLeases(cfg, c.store, c, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(l.Follow)
	return l
}

func testLeaseConfig() health.LeaseConfig {
	return health.LeaseConfig{NodeTTL: 300 * time.Millisecond, ExpiryRate: 1000, Tick: 10 * time.Millisecond}
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// renewing renews node every interval until stop is closed.
func renewing(t *testing.T, l *health.Leases, node string, interval time.Duration) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			if _, err := l.RenewNode(node); err != nil && !errors.Is(err, health.ErrNotLeading) {
				t.Errorf("RenewNode(%s): %v", node, err)
			}
			select {
			case <-done:
				return
			case <-time.After(interval):
			}
		}
	}()
	return func() { close(done); <-exited }
}

func waitLeading(t *testing.T, l *health.Leases) {
	t.Helper()
	eventually(t, 2*time.Second, "leases running", func() bool {
		_, err := l.RenewSession("none")
		return !errors.Is(err, health.ErrNotLeading)
	})
}

func TestLeaseRenewalsAreNotWrites(t *testing.T) {
	c := newLeaseCluster(t)
	c.addNode("alive")
	l := c.leases(testLeaseConfig())
	l.Lead()
	waitLeading(t, l)
	stop := renewing(t, l, "alive", 100*time.Millisecond)
	time.Sleep(time.Second) // three TTLs and more
	stop()
	if got := c.liveness("alive"); got != catalog.HealthPassing {
		t.Fatalf("renewed node's liveness = %q, want passing", got)
	}
	if w := c.writes.Load(); w != 0 {
		t.Fatalf("%d Raft writes while a node kept renewing; want 0", w)
	}
	if st := l.Stats(); st.Renewals < 5 || st.Nodes != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestLeaseExpiryMarksNodeCriticalAndRenewalRevives(t *testing.T) {
	c := newLeaseCluster(t)
	c.addNode("dies")
	cfg := testLeaseConfig()
	l := c.leases(cfg)
	l.Lead()
	waitLeading(t, l)
	l.RenewNode("dies")
	start := time.Now()
	eventually(t, cfg.NodeTTL+time.Second, "node critical after its lease ran out", func() bool {
		return c.liveness("dies") == catalog.HealthCritical
	})
	if took := time.Since(start); took < cfg.NodeTTL {
		t.Fatalf("node expired after %s, before its TTL of %s", took, cfg.NodeTTL)
	}
	if st := l.Stats(); st.NodesExpired != 1 {
		t.Fatalf("NodesExpired = %d, want 1", st.NodesExpired)
	}
	// The agent comes back: its renewal writes it passing again.
	if _, err := l.RenewNode("dies"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "node passing after renewing", func() bool {
		return c.liveness("dies") == catalog.HealthPassing
	})
	if st := l.Stats(); st.NodesRevived != 1 {
		t.Fatalf("NodesRevived = %d, want 1", st.NodesRevived)
	}
}

func (c *leaseCluster) registered(node string) bool {
	var found bool
	_ = c.store.View(func(tx *catalog.ReadTx) error {
		n, _ := tx.Node(node)
		found = n != nil
		return nil
	})
	return found
}

// TestLeaseReapsFailedNodes: a node failed for longer than ReapFailedAfter
// is deregistered (Consul's reconnect_timeout), counting from when this
// leader saw it fail or, for one already failed, from the start of its
// term; a renewing node stays.
func TestLeaseReapsFailedNodes(t *testing.T) {
	c := newLeaseCluster(t)
	c.addNode("dies")
	c.addNode("lives")
	c.must(&catalog.RegisterRequest{
		Node:   catalog.Node{Node: "was-dead", Address: "10.0.0.2"},
		Checks: []*catalog.Check{{CheckID: health.NodeLivenessID, Name: "Serf Health Status", Status: catalog.HealthCritical}},
	})
	cfg := testLeaseConfig()
	cfg.ReapFailedAfter = 800 * time.Millisecond
	l := c.leases(cfg)
	start := time.Now()
	l.Lead()
	waitLeading(t, l)
	stop := renewing(t, l, "lives", 50*time.Millisecond)
	defer stop()
	eventually(t, 2*time.Second, "dies critical", func() bool { return c.liveness("dies") == catalog.HealthCritical })
	failed := time.Now()
	eventually(t, 3*time.Second, "was-dead reaped", func() bool { return !c.registered("was-dead") })
	if took := time.Since(start); took < cfg.ReapFailedAfter {
		t.Fatalf("was-dead reaped %s after the term started, before ReapFailedAfter (%s)", took, cfg.ReapFailedAfter)
	}
	eventually(t, 3*time.Second, "dies reaped", func() bool { return !c.registered("dies") })
	if took := time.Since(failed); took < cfg.ReapFailedAfter-100*time.Millisecond {
		t.Fatalf("dies reaped %s after it failed, before ReapFailedAfter (%s)", took, cfg.ReapFailedAfter)
	}
	if !c.registered("lives") || c.liveness("lives") != catalog.HealthPassing {
		t.Fatal("the renewing node was reaped or failed")
	}
	if st := l.Stats(); st.NodesReaped != 2 {
		t.Fatalf("NodesReaped = %d, want 2", st.NodesReaped)
	}
	eventually(t, time.Second, "reaped nodes' timers dropped", func() bool { return l.Stats().Nodes == 1 })
}

// TestLeaseReloadAfterCompactionDropsStaleTimers: when the event log is
// compacted past the revision the leases had read, they reload the
// catalog; nodes and sessions that went meanwhile lose their timers, and
// nodes whose liveness changed take the new state.
func TestLeaseReloadAfterCompactionDropsStaleTimers(t *testing.T) {
	c := newLeaseClusterWith(t, catalog.Options{Events: catalog.EventRetention{MaxEvents: 4}})
	c.addNode("stays")
	c.addNode("goes")
	c.addNode("fails")
	cfg := testLeaseConfig()
	cfg.NodeTTL = time.Hour // nothing expires by itself here
	l := c.leases(cfg)
	l.Lead()
	waitLeading(t, l)
	if st := l.Stats(); st.Nodes != 3 {
		t.Fatalf("tracking %d nodes, want 3", st.Nodes)
	}
	// In one burst (the leases read the log at most every 20 ms), far more
	// events than the log keeps.
	c.must(&catalog.DeregisterRequest{Node: "goes"})
	c.must(&catalog.CheckStatusRequest{Updates: []catalog.CheckUpdate{{Node: "fails", CheckID: health.NodeLivenessID, Status: catalog.HealthCritical}}})
	for i := range 20 {
		c.must(&catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: fmt.Sprintf("k%d", i), Value: []byte("v")}})
	}
	eventually(t, 2*time.Second, "the deregistered node's timer dropped", func() bool { return l.Stats().Nodes == 2 })
	// "fails" is known critical now: a renewal writes it passing again.
	if _, err := l.RenewNode("fails"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "fails revived", func() bool { return c.liveness("fails") == catalog.HealthPassing })
}

func TestLeaseNewLeaderGivesFreshTTLPlusGrace(t *testing.T) {
	c := newLeaseCluster(t)
	c.addNode("quiet")
	cfg := testLeaseConfig()
	cfg.Grace = 400 * time.Millisecond
	l := c.leases(cfg)
	start := time.Now()
	l.Lead()
	eventually(t, cfg.NodeTTL+cfg.Grace+time.Second, "node critical once TTL+grace passed", func() bool {
		return c.liveness("quiet") == catalog.HealthCritical
	})
	if took := time.Since(start); took < cfg.NodeTTL+cfg.Grace {
		t.Fatalf("a new leader expired a node after %s, before TTL+grace (%s)", took, cfg.NodeTTL+cfg.Grace)
	}
}

func TestLeaseNoExpiryWithoutConfirmedLeadership(t *testing.T) {
	c := newLeaseCluster(t)
	c.addNode("n1")
	l := c.leases(testLeaseConfig())
	c.notLed.Store(true)
	l.Lead()
	time.Sleep(800 * time.Millisecond)
	if got := c.liveness("n1"); got != catalog.HealthPassing {
		t.Fatalf("a leader that could not confirm its leadership expired a node: %q", got)
	}
	c.notLed.Store(false)
	eventually(t, time.Second, "expiry once leadership is confirmed", func() bool {
		return c.liveness("n1") == catalog.HealthCritical
	})
}

func TestLeaseFollowStopsExpiry(t *testing.T) {
	c := newLeaseCluster(t)
	c.addNode("n1")
	l := c.leases(testLeaseConfig())
	l.Lead()
	waitLeading(t, l)
	l.Follow()
	if _, err := l.RenewNode("n1"); !errors.Is(err, health.ErrNotLeading) {
		t.Fatalf("RenewNode after Follow: %v, want ErrNotLeading", err)
	}
	time.Sleep(600 * time.Millisecond)
	if got := c.liveness("n1"); got != catalog.HealthPassing || c.writes.Load() != 0 {
		t.Fatalf("a follower expired a node: liveness %q, %d writes", got, c.writes.Load())
	}
}

func TestLeaseExpiryRateIsBounded(t *testing.T) {
	c := newLeaseCluster(t)
	const nodes = 60
	for i := range nodes {
		c.addNode(nodeName(i))
	}
	cfg := testLeaseConfig()
	cfg.NodeTTL = 100 * time.Millisecond
	cfg.ExpiryRate = 20
	l := c.leases(cfg)
	start := time.Now()
	l.Lead()
	time.Sleep(cfg.NodeTTL + time.Second)
	st := l.Stats()
	// Within the first second of expiries: the burst (20) plus 20/s, and
	// some slack for the time the sleep overran.
	elapsed := time.Since(start) - cfg.NodeTTL
	limit := uint64(20 + 20*elapsed.Seconds() + 5)
	if st.NodesExpired > limit {
		t.Fatalf("%d nodes expired in %s at a rate of 20/s (limit %d)", st.NodesExpired, elapsed, limit)
	}
	if st.NodesExpired == 0 {
		t.Fatal("no node expired")
	}
	eventually(t, 5*time.Second, "every node expired eventually", func() bool {
		return l.Stats().NodesExpired == nodes
	})
}

func TestLeaseTracksNodesRegisteredAndRemovedLater(t *testing.T) {
	c := newLeaseCluster(t)
	l := c.leases(testLeaseConfig())
	l.Lead()
	waitLeading(t, l)
	c.addNode("late") // registered after Lead, never renews
	eventually(t, 2*time.Second, "a node registered later expires too", func() bool {
		return c.liveness("late") == catalog.HealthCritical
	})
	c.addNode("gone")
	c.must(&catalog.MemberRequest{Op: catalog.MemberLeave, Node: "gone"})
	eventually(t, time.Second, "a node that left is no longer tracked", func() bool {
		return l.Stats().Nodes == 1
	})
}

func TestLeaseSessionTTL(t *testing.T) {
	c := newLeaseCluster(t)
	c.addNode("n1")
	ttl := 150 * time.Millisecond
	for _, id := range []string{"expires", "renewed"} {
		c.must(&catalog.SessionRequest{Op: catalog.SessionCreate, Session: catalog.Session{ID: id, Node: "n1", TTL: ttl}})
	}
	c.must(&catalog.KVRequest{Op: catalog.KVLock, Entry: catalog.KVEntry{Key: "lock", Session: "expires"}})
	l := c.leases(testLeaseConfig())
	l.Lead()
	waitLeading(t, l)
	stopNode := renewing(t, l, "n1", 50*time.Millisecond)
	defer stopNode()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			if s, err := l.RenewSession("renewed"); err != nil || s == nil {
				t.Errorf("RenewSession(renewed) = %v, %v", s, err)
				return
			}
			select {
			case <-done:
				return
			case <-time.After(ttl / 2):
			}
		}
	}()
	sessionGone := func(id string) bool {
		var s *catalog.Session
		_ = c.store.View(func(tx *catalog.ReadTx) error { s, _ = tx.Session(id); return nil })
		return s == nil
	}
	eventually(t, health.SessionTTLMultiplier*ttl+time.Second, "unrenewed session invalidated", func() bool {
		return sessionGone("expires")
	})
	var kv *catalog.KVEntry
	_ = c.store.View(func(tx *catalog.ReadTx) error { kv, _ = tx.KV("lock"); return nil })
	if kv == nil || kv.Session != "" {
		t.Fatalf("the expired session's lock was not released: %+v", kv)
	}
	time.Sleep(4 * ttl)
	if sessionGone("renewed") {
		t.Fatal("a renewed session was invalidated")
	}
	if s, err := l.RenewSession("expires"); s != nil || err != nil {
		t.Fatalf("RenewSession of an invalidated session = %v, %v; want nil, nil", s, err)
	}
}

func TestLeaseConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*health.LeaseConfig)
		ok   bool
	}{
		{"defaults", func(*health.LeaseConfig) {}, true},
		{"zero TTL", func(c *health.LeaseConfig) { c.NodeTTL = 0 }, false},
		{"negative grace", func(c *health.LeaseConfig) { c.Grace = -time.Second }, false},
		{"zero rate", func(c *health.LeaseConfig) { c.ExpiryRate = 0 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := health.DefaultLeaseConfig()
			tc.mod(&cfg)
			if err := cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func nodeName(i int) string { return "node-" + string(rune('a'+i/26)) + string(rune('a'+i%26)) }

// warnRecorder is a slog.Handler that keeps the messages of warnings and
// errors.
type warnRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *warnRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (r *warnRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}
func (r *warnRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *warnRecorder) WithGroup(string) slog.Handler      { return r }

// TestLeaseFollowerQuietWhenStoreCloses: a server shutting down closes
// its store under a leading Leases; the timers stop without logging the
// closed store as a failure (it did, every 20 ms, until the term ended).
func TestLeaseFollowerQuietWhenStoreCloses(t *testing.T) {
	c := newLeaseCluster(t)
	c.addNode("n1")
	rec := &warnRecorder{}
	l, err := health.NewLeases(testLeaseConfig(), c.store, c, slog.New(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Follow()
	l.Lead()
	waitLeading(t, l)
	if err := c.store.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.msgs) != 0 {
		t.Fatalf("warnings after the store closed: %q", rec.msgs)
	}
}
