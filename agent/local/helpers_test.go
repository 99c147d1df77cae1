package local

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/beacon-sd/beacon/catalog"
)

// TestMain fails the package's tests if a sync loop or runner leaks.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errDown = errors.New("catalog unreachable")

// fakeCatalog is a Catalog over an in-memory catalog.Store that applies
// each command as the next log entry, records the commands it applied,
// and can be made unreachable.
type fakeCatalog struct {
	t    testing.TB
	s    *catalog.Store
	down atomic.Bool

	mu   sync.Mutex // guards the following
	idx  uint64
	cmds []catalog.Command

	// beforeApply, when set, runs before each Apply (on the sync loop's
	// goroutine), to act while a command is in flight.
	beforeApply func(catalog.Command)
}

func newFakeCatalog(t testing.TB) *fakeCatalog {
	t.Helper()
	s, err := catalog.Open(catalog.DefaultOptions())
	if err != nil {
		t.Fatalf("catalog.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return &fakeCatalog{t: t, s: s}
}

func (f *fakeCatalog) Apply(_ context.Context, cmd catalog.Command) (catalog.Result, error) {
	if f.down.Load() {
		return catalog.Result{}, errDown
	}
	if f.beforeApply != nil {
		f.beforeApply(cmd)
	}
	res, err := f.write(cmd)
	if err == nil {
		f.mu.Lock()
		f.cmds = append(f.cmds, cmd)
		f.mu.Unlock()
	}
	return res, err
}

// write applies cmd without recording it: another writer, or a lost entry.
func (f *fakeCatalog) write(cmd catalog.Command) (catalog.Result, error) {
	if err := cmd.Validate(); err != nil {
		return catalog.Result{}, err
	}
	data, err := catalog.Encode(cmd)
	if err != nil {
		return catalog.Result{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.idx++
	res, err := f.s.ApplyBatch([]catalog.Entry{{Index: f.idx, Time: time.Unix(int64(f.idx), 0), Data: data}})
	if err != nil {
		return catalog.Result{}, err
	}
	return res[0], res[0].Err
}

func (f *fakeCatalog) mustWrite(cmd catalog.Command) {
	f.t.Helper()
	if _, err := f.write(cmd); err != nil {
		f.t.Fatalf("write %T: %v", cmd, err)
	}
}

func (f *fakeCatalog) NodeState(_ context.Context, node string) (n *catalog.Node, svcs []*catalog.Service, checks []*catalog.Check, err error) {
	if f.down.Load() {
		return nil, nil, nil, errDown
	}
	err = f.s.View(func(tx *catalog.ReadTx) error {
		n, svcs, _ = tx.NodeServices(node)
		checks, _ = tx.NodeChecks(node)
		return nil
	})
	return n, svcs, checks, err
}

// commands returns the commands applied so far.
func (f *fakeCatalog) commands() []catalog.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]catalog.Command(nil), f.cmds...)
}

func (f *fakeCatalog) service(node, id string) *catalog.Service {
	_, svcs, _, _ := f.NodeState(context.Background(), node)
	for _, s := range svcs {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func (f *fakeCatalog) check(node, id string) *catalog.Check {
	_, _, checks, _ := f.NodeState(context.Background(), node)
	for _, c := range checks {
		if c.CheckID == id {
			return c
		}
	}
	return nil
}

// testConfig is a Config with timings shrunk for tests.
func testConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.Node = catalog.Node{ID: "11111111-2222-3333-4444-555555555555", Node: "node1", Address: "10.0.0.1", Datacenter: "dc1", Meta: map[string]string{"rack": "r1"}}
	cfg.Dir = dir
	cfg.SyncInterval = time.Hour // tests ask for full syncs explicitly
	cfg.RetryMin, cfg.RetryMax = 5*time.Millisecond, 50*time.Millisecond
	cfg.ApplyTimeout = 5 * time.Second
	cfg.MinCheckInterval = time.Millisecond
	return cfg
}

func newState(t *testing.T, cfg Config, cat Catalog) *State {
	t.Helper()
	s, err := New(cfg, cat, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitSynced(t *testing.T, s *State) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitSynced(ctx); err != nil {
		t.Fatalf("WaitSynced: %v", err)
	}
}

// logRecorder is a slog.Handler that keeps every record's text.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, b.String())
	return nil
}

func (l *logRecorder) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func ttlCheck(ttl time.Duration) catalog.Check {
	return catalog.Check{Definition: catalog.CheckDefinition{TTL: ttl}}
}
