package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/agent/local"
	"github.com/beacon-sd/beacon/catalog"
)

// agentCatalog adapts the test memStore to local.Catalog.
type agentCatalog struct{ *memStore }

func (c agentCatalog) NodeState(_ context.Context, node string) (n *catalog.Node, svcs []*catalog.Service, checks []*catalog.Check, err error) {
	err = c.View(func(tx *catalog.ReadTx) error {
		n, svcs, _ = tx.NodeServices(node)
		checks, _ = tx.NodeChecks(node)
		return nil
	})
	return n, svcs, checks, err
}

// fakeMembership records membership calls.
type fakeMembership struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeMembership) Members() []Member {
	return []Member{
		{Name: "node1", Addr: "10.0.0.1", Port: 8301, Tags: map[string]string{"role": "consul", "dc": "dc1"}, Status: MemberAlive},
		{Name: "node2", Addr: "10.0.0.2", Port: 8301, Tags: map[string]string{"role": "node", "dc": "dc1"}, Status: MemberFailed},
	}
}

func (f *fakeMembership) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeMembership) Join(_ context.Context, addr string) error { return f.record("join " + addr) }
func (f *fakeMembership) Leave(context.Context) error               { return f.record("leave") }
func (f *fakeMembership) ForceLeave(_ context.Context, node string) error {
	return f.record("force-leave " + node)
}

func (f *fakeMembership) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeMembership) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// agentTest is the full /v1 API with the agent handler mounted, over a
// started local state syncing to a memStore.
type agentTest struct {
	*testAPI
	local   *local.State
	members *fakeMembership
	client  *consul.Client
}

func newAgentTest(t *testing.T) *agentTest {
	t.Helper()
	store := newMemStore(t)
	lcfg := local.DefaultConfig()
	lcfg.Node = catalog.Node{ID: "6f3f4c52-0000-4000-8000-000000000001", Node: "node1", Address: "10.0.0.1", Datacenter: "dc1", Meta: map[string]string{"rack": "r1"}}
	lcfg.RetryMin, lcfg.RetryMax = 5*time.Millisecond, 50*time.Millisecond
	lcfg.MinCheckInterval = time.Millisecond
	st, err := local.New(lcfg, agentCatalog{store}, nil)
	if err != nil {
		t.Fatalf("local.New: %v", err)
	}
	st.Start()
	t.Cleanup(func() { st.Close() })
	members := &fakeMembership{}
	acfg := DefaultAgentConfig()
	acfg.NodeName, acfg.NodeID, acfg.Server, acfg.Version, acfg.Revision = "node1", lcfg.Node.ID, true, "0.1.0", "abc123"
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "metrics format="+r.URL.Query().Get("format"))
	})
	cfg := DefaultConfig()
	cfg.NodeName = "node1"
	api := New(cfg, Deps{Store: store, Cluster: fakeCluster{store}, Agent: NewAgentHandler(acfg, st, members, metrics)})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	client, err := consul.NewClient(&consul.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &agentTest{testAPI: &testAPI{t: t, store: store, api: api, srv: srv}, local: st, members: members, client: client}
}

// catalogService returns the service as the catalog holds it, nil if absent.
func (at *agentTest) catalogService(id string) *catalog.Service {
	_, svcs, _, _ := agentCatalog{at.store}.NodeState(context.Background(), "node1")
	for _, s := range svcs {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func (at *agentTest) catalogCheck(id string) *catalog.Check {
	_, _, checks, _ := agentCatalog{at.store}.NodeState(context.Background(), "node1")
	for _, c := range checks {
		if c.CheckID == id {
			return c
		}
	}
	return nil
}

// wantStatus checks a response's status and exact body.
func wantStatus(t *testing.T, gotCode int, gotBody string, code int, body string) {
	t.Helper()
	if gotCode != code || strings.TrimSuffix(gotBody, "\n") != body {
		t.Fatalf("got %d %q, want %d %q", gotCode, gotBody, code, body)
	}
}

// statusErr extracts the status code from a consul client error.
func statusErr(err error) int {
	var se consul.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}
