package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	consul "github.com/hashicorp/consul/api"
)

// operatorRecordingCluster is a fakeCluster that records peer removals and
// leadership transfers, or fails them all with err.
type operatorRecordingCluster struct {
	fakeCluster
	err error

	mu    sync.Mutex // guards calls
	calls []string
}

func (c *operatorRecordingCluster) record(call string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
	return c.err
}

func (c *operatorRecordingCluster) RemovePeer(_ context.Context, id, address string) error {
	return c.record("remove id=" + id + " address=" + address)
}

func (c *operatorRecordingCluster) TransferLeader(_ context.Context, id string) error {
	return c.record("transfer id=" + id)
}

func (c *operatorRecordingCluster) Configuration() ([]RaftServer, uint64, error) {
	if c.err != nil {
		return nil, 0, c.err
	}
	return []RaftServer{
		{ID: "s1", Node: "node1", Address: "10.0.0.1:8300", Leader: true, Voter: true},
		{ID: "s2", Node: "node2", Address: "10.0.0.2:8300", Voter: false},
	}, 42, nil
}

func (c *operatorRecordingCluster) lastCall() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.calls) == 0 {
		return ""
	}
	return c.calls[len(c.calls)-1]
}

// newOperatorTestAPI serves an API over a memStore and cluster.
func newOperatorTestAPI(t *testing.T, cluster Cluster) *testAPI {
	t.Helper()
	store := newMemStore(t)
	cfg := DefaultConfig()
	cfg.NodeName = "node1"
	api := New(cfg, Deps{Store: store, Cluster: cluster})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &testAPI{t: t, store: store, api: api, srv: srv}
}

func TestOperatorRaftConfiguration(t *testing.T) {
	ta := newOperatorTestAPI(t, &operatorRecordingCluster{})
	c := newSessionClient(t, ta)
	conf, err := c.Operator().RaftGetConfiguration(nil)
	if err != nil {
		t.Fatalf("RaftGetConfiguration: %v", err)
	}
	want := &consul.RaftConfiguration{Index: 42, Servers: []*consul.RaftServer{
		{ID: "s1", Node: "node1", Address: "10.0.0.1:8300", Leader: true, Voter: true, ProtocolVersion: "3"},
		{ID: "s2", Node: "node2", Address: "10.0.0.2:8300", ProtocolVersion: "3"},
	}}
	if !sessionSameJSON(t, conf, want) {
		t.Errorf("configuration = %s, want %s", sessionJSONText(conf), sessionJSONText(want))
	}

	steps := []struct {
		name, path string
		wantCode   int
		wantBody   string
	}{
		{"stale", "/v1/operator/raft/configuration?stale", 200, `"ProtocolVersion":"3"`},
		{"stale and consistent", "/v1/operator/raft/configuration?stale&consistent", 400, "conflicting semantics"},
		{"other dc", "/v1/operator/raft/configuration?dc=dc9", 500, "No path to datacenter"},
	}
	for _, s := range steps {
		code, hdr, body := ta.do("GET", s.path, "")
		if code != s.wantCode || !strings.Contains(body, s.wantBody) {
			t.Errorf("%s: = %d %q, want %d containing %q", s.name, code, body, s.wantCode, s.wantBody)
		}
		if code == 200 && hdr.Get("X-Consul-Index") != "42" {
			t.Errorf("%s: X-Consul-Index = %q, want the configuration's index 42", s.name, hdr.Get("X-Consul-Index"))
		}
	}
}

func TestOperatorRaftPeerAndTransfer(t *testing.T) {
	cluster := &operatorRecordingCluster{}
	ta := newOperatorTestAPI(t, cluster)
	steps := []struct {
		name, method, path string
		wantCode           int
		wantBody           string
		wantCall           string // the cluster call made; "" for none
	}{
		{"remove without id or address", "DELETE", "/v1/operator/raft/peer", 400,
			"Must specify either ?id with the server's ID or ?address with IP:port of peer to remove", ""},
		{"remove with both", "DELETE", "/v1/operator/raft/peer?id=s2&address=10.0.0.2:8300", 400, "Must specify only one of ?id or ?address", ""},
		{"remove by id", "DELETE", "/v1/operator/raft/peer?id=s2", 200, "", "remove id=s2 address="},
		{"remove by address", "DELETE", "/v1/operator/raft/peer?address=10.0.0.2:8300", 200, "", "remove id= address=10.0.0.2:8300"},
		{"remove in other dc", "DELETE", "/v1/operator/raft/peer?id=s2&dc=dc9", 500, "No path to datacenter", ""},
		{"transfer to anyone", "POST", "/v1/operator/raft/transfer-leader", 200, `{"Success":true}`, "transfer id="},
		{"transfer to s2", "POST", "/v1/operator/raft/transfer-leader?id=s2", 200, `{"Success":true}`, "transfer id=s2"},
		{"transfer with GET", "GET", "/v1/operator/raft/transfer-leader", 405, "", ""},
	}
	for _, s := range steps {
		before := cluster.lastCall()
		code, _, body := ta.do(s.method, s.path, "")
		if code != s.wantCode || !strings.Contains(body, s.wantBody) {
			t.Errorf("%s: %s %s = %d %q, want %d containing %q", s.name, s.method, s.path, code, body, s.wantCode, s.wantBody)
		}
		if call := cluster.lastCall(); s.wantCall != "" && call != s.wantCall || s.wantCall == "" && call != before {
			t.Errorf("%s: cluster call %q, want %q", s.name, call, s.wantCall)
		}
	}

	c := newSessionClient(t, ta)
	if err := c.Operator().RaftRemovePeerByID("s2", nil); err != nil {
		t.Errorf("RaftRemovePeerByID: %v", err)
	}
	if err := c.Operator().RaftRemovePeerByAddress("10.0.0.2:8300", nil); err != nil {
		t.Errorf("RaftRemovePeerByAddress: %v", err)
	}
	if out, err := c.Operator().RaftLeaderTransfer("s2", nil); err != nil || !out.Success {
		t.Errorf("RaftLeaderTransfer = %+v, %v", out, err)
	}
}

func TestOperatorClusterErrors(t *testing.T) {
	ta := newOperatorTestAPI(t, &operatorRecordingCluster{err: errors.New("no leader elected yet")})
	for _, s := range []struct{ method, path string }{
		{"GET", "/v1/operator/raft/configuration"},
		{"DELETE", "/v1/operator/raft/peer?id=s2"},
		{"POST", "/v1/operator/raft/transfer-leader"},
	} {
		code, _, body := ta.do(s.method, s.path, "")
		if code != http.StatusInternalServerError || !strings.Contains(body, "no leader elected yet") {
			t.Errorf("%s %s = %d %q, want 500 with the cluster's message", s.method, s.path, code, body)
		}
	}
}
