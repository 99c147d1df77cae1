package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// memStore is a Store over one in-memory catalog.Store that applies each
// command as the next log entry, the way the FSM does. Tests of handlers
// use it; the agent's tests cover the real Raft path.
type memStore struct {
	s *catalog.Store

	mu  sync.Mutex // guards idx and now: applies are serial, as in the FSM
	idx uint64
	now time.Time
}

// index is the index of the last applied command.
func (m *memStore) index() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idx
}

func newMemStore(t testing.TB) *memStore {
	t.Helper()
	s, err := catalog.Open(catalog.DefaultOptions())
	if err != nil {
		t.Fatalf("catalog.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return &memStore{s: s, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (m *memStore) Apply(_ context.Context, cmd catalog.Command) (catalog.Result, error) {
	if err := cmd.Validate(); err != nil {
		return catalog.Result{}, err
	}
	data, err := catalog.Encode(cmd)
	if err != nil {
		return catalog.Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.idx++
	m.now = m.now.Add(time.Second)
	res, err := m.s.ApplyBatch([]catalog.Entry{{Index: m.idx, Time: m.now, Data: data}})
	if err != nil {
		return catalog.Result{}, err
	}
	return res[0], res[0].Err
}

func (m *memStore) Read(context.Context, Consistency) (ReadInfo, error) {
	return ReadInfo{KnownLeader: true}, nil
}

func (m *memStore) View(fn func(*catalog.ReadTx) error) error { return m.s.View(fn) }

func (m *memStore) Hub() *catalog.WatchHub { return m.s.Hub() }

// fakeCluster is a one-server Cluster.
type fakeCluster struct{ store *memStore }

func (f fakeCluster) Leader() string { return "127.0.0.1:8300" }

func (f fakeCluster) Configuration() ([]RaftServer, uint64, error) {
	return []RaftServer{{ID: "s1", Node: "s1", Address: "127.0.0.1:8300", Leader: true, Voter: true}}, 1, nil
}

func (f fakeCluster) RemovePeer(context.Context, string, string) error { return nil }

func (f fakeCluster) TransferLeader(context.Context, string) error { return nil }

func (f fakeCluster) Snapshot(_ context.Context, w io.Writer) (uint64, error) {
	sn, err := f.store.s.Snapshot()
	if err != nil {
		return 0, err
	}
	defer sn.Close()
	_, err = sn.WriteTo(w)
	return sn.Index(), err
}

func (f fakeCluster) Restore(_ context.Context, r io.Reader) error { return f.store.s.Restore(r) }

// testAPI is an API over a memStore, served by an httptest server.
type testAPI struct {
	t     testing.TB
	store *memStore
	api   *API
	srv   *httptest.Server
}

func newTestAPI(t testing.TB) *testAPI {
	t.Helper()
	store := newMemStore(t)
	cfg := DefaultConfig()
	cfg.NodeName = "node1"
	api := New(cfg, Deps{Store: store, Cluster: fakeCluster{store}})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &testAPI{t: t, store: store, api: api, srv: srv}
}

// do sends a request and returns the status, headers and body.
func (ta *testAPI) do(method, path, body string) (int, http.Header, string) {
	ta.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ta.srv.URL+path, rd)
	if err != nil {
		ta.t.Fatalf("NewRequest: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ta.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ta.t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// apply applies a command directly to the store.
func (ta *testAPI) apply(cmd catalog.Command) catalog.Result {
	ta.t.Helper()
	res, err := ta.store.Apply(context.Background(), cmd)
	if err != nil {
		ta.t.Fatalf("apply %T: %v", cmd, err)
	}
	return res
}
