package agent

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/configs"
)

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsEndpoints(t *testing.T) {
	a := startDev(t)
	base := "http://" + a.HTTPAddr()
	httpGet(t, base+"/v1/kv/x") // at least one API request to record
	tests := []struct {
		name, path string
		want       []string
	}{
		// The JSON form shows go-metrics' last finished 10 s interval, so
		// its content depends on timing: check its shape and that it has
		// gauges. The Prometheus form is cumulative: check the content there.
		{"json summary", "/v1/agent/metrics", []string{`"Gauges":[{`, `"Samples":`, `"Counters":`, `"Points":`}},
		{"prometheus has raft, runtime and HTTP metrics", "/v1/agent/metrics?format=prometheus", []string{"beacon_raft_", "runtime_alloc_bytes", "beacon_api_http", `path="kv"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			deadline := time.Now().Add(10 * time.Second)
			for {
				code, body := httpGet(t, base+tc.path)
				missing := ""
				for _, w := range tc.want {
					if !strings.Contains(body, w) {
						missing = w
					}
				}
				if code == 200 && missing == "" {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET %s = %d, missing %q in:\n%.2000s", tc.path, code, missing, body)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

func TestPprofOnlyWithEnableDebug(t *testing.T) {
	off := startDev(t)
	if code, _ := httpGet(t, "http://"+off.HTTPAddr()+"/debug/pprof/"); code != 404 {
		t.Fatalf("pprof without -enable-debug: %d, want 404", code)
	}
	on := startDev(t, "-enable-debug")
	if code, _ := httpGet(t, "http://"+on.HTTPAddr()+"/debug/pprof/"); code != 200 {
		t.Fatalf("pprof with -enable-debug: %d, want 200", code)
	}
}

// configFile writes an HCL file and returns its path.
func configFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "extra.hcl")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPerClientConnectionLimit(t *testing.T) {
	a := startDev(t, "-config-file", configFile(t, "limits {\n  http_max_conns_per_client = 3\n}\n"))
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", a.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The fourth connection from the same IP is answered 429 and closed.
	c, err := net.Dial("tcp", a.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "HTTP/1.1 429") {
		t.Fatalf("4th connection got %q, want a 429", b)
	}
	// Closing one frees a slot.
	conns[0].Close()
	conns = conns[1:]
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _ := httpGetNoFail(a.HTTPAddr())
		if code == 200 || code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing a connection, requests still refused (%d)", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGetNoFail(addr string) (int, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/v1/status/leader")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestRequestRateLimit(t *testing.T) {
	a := startDev(t, "-config-file", configFile(t, "limits {\n  request_rate = 1\n  request_burst = 5\n}\n"))
	codes := map[int]int{}
	for i := 0; i < 20; i++ {
		code, _ := httpGet(t, "http://"+a.HTTPAddr()+"/v1/status/leader")
		codes[code]++
	}
	if codes[200] < 5 || codes[200] > 7 || codes[429] == 0 {
		t.Fatalf("20 quick requests with rate 1/s burst 5: %v, want ~5 OK and the rest 429", codes)
	}
}

func TestServicesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-server", "-bootstrap-expect", "1", "-node", "n1", "-data-dir", dir, "-bind", "127.0.0.1", "-http-port", "0", "-server-port", "0", "-dns-port", "-1"}
	start := func() *Agent {
		cfg, err := configs.Load(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := a.WaitLeader(ctx); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := start()
	c := consulClient(t, a)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web", Port: 80, Check: &api.AgentServiceCheck{TTL: "1m", Status: "passing"}}); err != nil {
		t.Fatal(err)
	}
	a.Shutdown(context.Background(), false)

	a = start()
	defer a.Shutdown(context.Background(), false)
	c = consulClient(t, a)
	svcs, err := c.Agent().Services()
	if err != nil || svcs["web-1"] == nil {
		t.Fatalf("after restart agent services = %v, %v", svcs, err)
	}
	checks, _ := c.Agent().Checks()
	if ch := checks["service:web-1"]; ch == nil || ch.Status != "passing" {
		t.Fatalf("after restart within the TTL the check = %+v, want passing", ch)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, _, err := c.Health().Service("web", "", true, nil)
		if err == nil && len(entries) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("catalog after restart: %v, %v", entries, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLeaveRequestedByAPI(t *testing.T) {
	a := startDev(t)
	if err := consulClient(t, a).Agent().Leave(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.LeaveRequested():
	case <-time.After(5 * time.Second):
		t.Fatal("PUT /v1/agent/leave did not ask the agent to leave")
	}
}

// BenchmarkDevAgentStartup measures how long a dev agent takes from New to
// a leader with the HTTP API up (goal: under 0.25 s).
func BenchmarkDevAgentStartup(b *testing.B) {
	for b.Loop() {
		cfg, err := configs.Load([]string{"-dev", "-http-port", "0", "-server-port", "0", "-dns-port", "-1"}, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		a, err := New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		if err := a.WaitLeader(context.Background()); err != nil {
			b.Fatal(err)
		}
		if code, err := httpGetNoFail(a.HTTPAddr()); err != nil || code != 200 {
			b.Fatalf("status/leader: %d %v", code, err)
		}
		b.StopTimer()
		a.Shutdown(context.Background(), false)
		b.StartTimer()
	}
}

// A server agent spools snapshots in its data dir, not the system's
// temporary directory: a container built FROM scratch has none. Spooled
// files a crash left behind are removed when the agent starts.
func TestSnapshotWithoutTempDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", filepath.Join(dir, "no-such-dir"))
	// One a crash left behind: the agent removes it when it starts.
	leftover := filepath.Join(dir, "data", "beacon-snapshot-123.snap")
	if err := os.MkdirAll(filepath.Dir(leftover), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(leftover, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Load([]string{"-server", "-bootstrap-expect", "1", "-node", "n1", "-data-dir", filepath.Join(dir, "data"), "-bind", "127.0.0.1", "-http-port", "0", "-server-port", "0", "-dns-port", "-1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background(), false)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	c := consulClient(t, a)
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("before")}, nil); err != nil {
		t.Fatal(err)
	}
	snap, _, err := c.Snapshot().Save(nil)
	if err != nil {
		t.Fatalf("snapshot save: %v", err)
	}
	data, err := io.ReadAll(snap)
	snap.Close()
	if err != nil {
		t.Fatalf("snapshot save: %v", err)
	}
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("after")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Snapshot().Restore(nil, bytes.NewReader(data)); err != nil {
		t.Fatalf("snapshot restore: %v", err)
	}
	kv, _, err := c.KV().Get("k", nil)
	if err != nil || kv == nil || string(kv.Value) != "before" {
		t.Fatalf("k after restore = %+v, %v; want before", kv, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "data", "beacon-*.snap")); len(left) != 0 {
		t.Fatalf("spooled snapshots left behind: %v", left)
	}
}
