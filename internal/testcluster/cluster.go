package testcluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/raftstore"
)

// Cluster is N raftstore servers in this process, talking over loopback TCP
// through the real transport and a FaultNetwork. Create it with New; it
// cleans up after the test, first checking that every live server holds the
// same catalog and then that no goroutine leaked.
type Cluster struct {
	t       testing.TB
	Net     *FaultNetwork
	Members []*Member
	opts    options

	// mu guards every Member's Server field, so a test's clients may call
	// Server(i) while a nemesis goroutine kills and restarts members.
	mu sync.Mutex
}

// Member is one server slot of the cluster. Server is nil while killed.
type Member struct {
	Index  int
	ID     string
	Addr   string
	Dir    string
	Server *raftstore.Server
	cfg    raftstore.Config
}

type options struct {
	configure func(*raftstore.Config)
	logLevel  slog.Level
}

// Option changes how New builds the cluster.
type Option func(*options)

// WithConfig lets a test adjust every server's config (e.g. snapshot
// thresholds) before it starts.
func WithConfig(f func(*raftstore.Config)) Option { return func(o *options) { o.configure = f } }

// WithLogLevel sets the servers' log level (default: warnings only; set
// BEACON_TEST_LOG=debug to see everything).
func WithLogLevel(l slog.Level) Option { return func(o *options) { o.logLevel = l } }

// New starts n servers that bootstrap together (bootstrap_expect = n,
// retry_join = every address) and waits for a leader.
func New(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	o := options{logLevel: slog.LevelWarn}
	if os.Getenv("BEACON_TEST_LOG") == "debug" {
		o.logLevel = slog.LevelDebug
	}
	for _, f := range opts {
		f(&o)
	}
	leaks := goleak.IgnoreCurrent()
	c := &Cluster{t: t, Net: NewFaultNetwork(), opts: o}
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = c.reserve()
	}
	root := t.TempDir()
	for i := 0; i < n; i++ {
		m := &Member{Index: i, ID: fmt.Sprintf("s%d", i), Addr: addrs[i], Dir: filepath.Join(root, fmt.Sprintf("s%d", i))}
		m.cfg = c.config(m, n, addrs)
		c.Members = append(c.Members, m)
	}
	t.Cleanup(func() {
		c.Heal()
		c.CheckConsistent()
		c.Close()
		goleak.VerifyNone(t, leaks,
			goleak.IgnoreTopFunction("github.com/dgraph-io/ristretto/v2/z.(*AllocatorPool).freeupAllocators"),
			// A raft future left unresolved by a node that stopped while it
			// was pending (hashicorp/raft#498); raftstore stops waiting on
			// it, the goroutine that does is raft's to end.
			goleak.IgnoreAnyFunction("github.com/beacon-sd/beacon/raftstore.(*Server).await.func1"))
	})
	for _, m := range c.Members {
		c.start(m)
	}
	c.WaitLeader()
	return c
}

// config is the fast-timing config tests use.
func (c *Cluster) config(m *Member, expect int, addrs []string) raftstore.Config {
	cfg := raftstore.DefaultConfig()
	cfg.NodeID = m.ID
	cfg.BindAddr = m.Addr
	cfg.DataDir = m.Dir
	cfg.BootstrapExpect = expect
	cfg.RetryJoin = addrs
	cfg.RetryInterval = 50 * time.Millisecond
	cfg.HeartbeatTimeout = 150 * time.Millisecond
	cfg.ElectionTimeout = 150 * time.Millisecond
	cfg.LeaderLeaseTimeout = 100 * time.Millisecond
	cfg.ApplyTimeout = 5 * time.Second
	cfg.RPCTimeout = 2 * time.Second
	cfg.SnapshotInterval = 100 * time.Millisecond
	cfg.Network = c.Net.For(m.Addr)
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{c.t}, &slog.HandlerOptions{Level: c.opts.logLevel})).With("server", m.ID)
	if c.opts.configure != nil {
		c.opts.configure(&cfg)
	}
	return cfg
}

func (c *Cluster) start(m *Member) {
	c.t.Helper()
	srv, err := raftstore.New(m.cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", m.ID, err)
	}
	c.mu.Lock()
	m.Server = srv
	c.mu.Unlock()
}

// Server returns member i's server, or nil while it is killed. Safe to
// call concurrently with Kill and Restart.
func (c *Cluster) Server(i int) *raftstore.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Members[i].Server
}

// Live returns the members that are running.
func (c *Cluster) Live() []*Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Member
	for _, m := range c.Members {
		if m.Server != nil {
			out = append(out, m)
		}
	}
	return out
}

// Leader returns the member that currently leads, or nil.
func (c *Cluster) Leader() *Member {
	for _, m := range c.Live() {
		if srv := c.Server(m.Index); srv != nil && srv.IsLeader() {
			return m
		}
	}
	return nil
}

// WaitLeader waits (up to 10 s) until exactly one live member leads and
// every live member that can reach it agrees, and returns it.
func (c *Cluster) WaitLeader() *Member {
	c.t.Helper()
	var l *Member
	c.Eventually(10*time.Second, func() error {
		l = c.Leader()
		if l == nil {
			return fmt.Errorf("no leader")
		}
		return nil
	})
	return l
}

// Followers returns the live members that do not lead.
func (c *Cluster) Followers() []*Member {
	var out []*Member
	for _, m := range c.Live() {
		if !m.Server.IsLeader() {
			out = append(out, m)
		}
	}
	return out
}

// Partition isolates the given members from the others.
func (c *Cluster) Partition(idx ...int) {
	addrs := make([]string, len(idx))
	for i, j := range idx {
		addrs[i] = c.Members[j].Addr
	}
	c.Net.Partition(addrs...)
}

// Heal reconnects every member.
func (c *Cluster) Heal() { c.Net.Heal() }

// Kill stops member i abruptly as far as the cluster is concerned: no
// leave, no leadership hand-over (the process-level crash test uses
// SIGKILL; this is the in-process equivalent).
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	c.mu.Lock()
	m := c.Members[i]
	srv := m.Server
	m.Server = nil
	c.mu.Unlock()
	if srv == nil {
		return
	}
	if err := srv.Shutdown(); err != nil {
		c.t.Errorf("shutdown %s: %v", m.ID, err)
	}
}

// Restart kills member i (if running) and starts it on the same data dir
// and address.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Kill(i)
	c.start(c.Members[i])
}

// RestartEmpty kills member i, deletes its data dir and starts it again
// with no state: it must catch up from the leader.
func (c *Cluster) RestartEmpty(i int) {
	c.t.Helper()
	c.Kill(i)
	if err := os.RemoveAll(c.Members[i].Dir); err != nil {
		c.t.Fatalf("wipe %s: %v", c.Members[i].ID, err)
	}
	c.start(c.Members[i])
}

// AddServer starts a new server that joins the running cluster through
// retry_join (no bootstrap) and returns it.
func (c *Cluster) AddServer() *Member {
	c.t.Helper()
	i := len(c.Members)
	m := &Member{Index: i, ID: fmt.Sprintf("s%d", i), Addr: c.reserve(), Dir: filepath.Join(c.t.TempDir(), fmt.Sprintf("s%d", i))}
	var addrs []string
	for _, o := range c.Members {
		addrs = append(addrs, o.Addr)
	}
	m.cfg = c.config(m, 0, addrs)
	c.Members = append(c.Members, m)
	c.start(m)
	return m
}

// Close shuts every live member down and releases their ports.
func (c *Cluster) Close() {
	for i := range c.Members {
		c.Kill(i)
	}
	c.Net.Close()
}

// Eventually polls f until it returns nil, failing the test with f's last
// error after timeout.
func (c *Cluster) Eventually(timeout time.Duration, f func() error) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitApplied waits until every live member has applied at least idx.
func (c *Cluster) WaitApplied(idx uint64) {
	c.t.Helper()
	c.Eventually(10*time.Second, func() error {
		for _, m := range c.Live() {
			if a := m.Server.AppliedIndex(); a < idx {
				return fmt.Errorf("%s applied %d < %d", m.ID, a, idx)
			}
		}
		return nil
	})
}

// CheckConsistent waits until every live member has applied the same
// entries and then requires their catalogs to hash equal.
func (c *Cluster) CheckConsistent() {
	c.t.Helper()
	live := c.Live()
	if len(live) == 0 || c.t.Failed() {
		return
	}
	c.Eventually(15*time.Second, func() error {
		var want uint64
		for _, m := range live {
			if a := m.Server.AppliedIndex(); a > want {
				want = a
			}
		}
		for _, m := range live {
			if a := m.Server.AppliedIndex(); a != want {
				return fmt.Errorf("%s applied %d, another member %d", m.ID, a, want)
			}
		}
		return nil
	})
	var firstHash, firstID string
	for _, m := range live {
		h, err := m.Server.Store().Hash()
		if err != nil {
			c.t.Errorf("hash %s: %v", m.ID, err)
			return
		}
		if firstID == "" {
			firstHash, firstID = h, m.ID
		} else if h != firstHash {
			c.t.Errorf("catalog of %s (hash %s) differs from %s (hash %s) at applied index %d", m.ID, h, firstID, firstHash, m.Server.AppliedIndex())
		}
	}
}

// Apply writes cmd through member i (any member: non-leaders forward).
func (c *Cluster) Apply(i int, cmd catalog.Command) (catalog.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := c.Server(i)
	if srv == nil {
		return catalog.Result{}, fmt.Errorf("%s is killed", c.Members[i].ID)
	}
	return srv.Apply(ctx, cmd)
}

// reserve returns a loopback address whose port the cluster's network
// holds for the cluster's life (see FaultNetwork.Reserve).
func (c *Cluster) reserve() string {
	c.t.Helper()
	addr, err := c.Net.Reserve()
	if err != nil {
		c.t.Fatalf("reserve port: %v", err)
	}
	return addr
}

// testWriter sends log lines to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
