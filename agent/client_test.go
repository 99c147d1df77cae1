package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWithSessionNode(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       map[string]string // nil: the body must come back unchanged
	}{
		{name: "empty body", body: "", want: map[string]string{"Node": "c1"}},
		{name: "null body", body: "null", want: map[string]string{"Node": "c1"}},
		{name: "no node", body: `{"Name":"x","TTL":"10s"}`, want: map[string]string{"Name": "x", "TTL": "10s", "Node": "c1"}},
		{name: "empty node", body: `{"Node":""}`, want: map[string]string{"Node": "c1"}},
		{name: "null node", body: `{"Node":null}`, want: map[string]string{"Node": "c1"}},
		{name: "empty node in lower case", body: `{"node":""}`, want: map[string]string{"Node": "c1"}},
		{name: "node given", body: `{"Node":"other"}`},
		{name: "node given in lower case", body: `{"node":"other"}`},
		{name: "not an object", body: `[1]`},
		{name: "not JSON", body: `{`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := withSessionNode([]byte(tc.body), "c1")
			if tc.want == nil {
				if string(got) != tc.body {
					t.Fatalf("body %q rewritten to %q", tc.body, got)
				}
				return
			}
			var fields map[string]string
			if err := json.Unmarshal(got, &fields); err != nil || !maps.Equal(fields, tc.want) {
				t.Fatalf("body %q rewritten to %s (%v), want %v", tc.body, got, err, tc.want)
			}
		})
	}
}

func TestForwardDeadline(t *testing.T) {
	r := &remote{timeout: 15 * time.Second}
	for _, tc := range []struct {
		name, target string
		want         time.Duration
	}{
		{"not blocking", "/v1/kv/x", 15 * time.Second},
		{"index 0 does not block", "/v1/kv/x?index=0&wait=1m", 15 * time.Second},
		{"blocking with a wait", "/v1/kv/x?index=5&wait=16s", 16*time.Second + time.Second + 15*time.Second},
		{"blocking, default wait", "/v1/health/service/web?index=5", 5*time.Minute + 5*time.Minute/16 + 15*time.Second},
		{"wait above the server's cap", "/v1/kv/x?index=5&wait=1h", 10*time.Minute + 10*time.Minute/16 + 15*time.Second},
		{"unparsable wait: the server rejects it", "/v1/kv/x?index=5&wait=soon", 5*time.Minute + 5*time.Minute/16 + 15*time.Second},
		{"snapshot", "/v1/snapshot", 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.deadline(httptest.NewRequest(http.MethodGet, tc.target, nil)); got != tc.want {
				t.Fatalf("deadline(%s) = %v, want %v", tc.target, got, tc.want)
			}
		})
	}
}

// silentServer accepts connections and reads from them but never answers:
// a server cut off from the network, as a client sees it.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// A client agent whose server stops answering gives up on the request
// after its deadline and sends the next one to another server.
func TestClientMovesOffASilentServer(t *testing.T) {
	srv := startDev(t)
	silent := silentServer(t)
	r := newRemote([]string{silent, srv.Server().Self().Addr}, "c1", slog.New(slog.DiscardHandler))
	r.timeout = 300 * time.Millisecond
	t.Cleanup(func() { r.client.Transport.(*failoverTransport).base.CloseIdleConnections() })

	// A write gets an error after the deadline: its outcome is unknown.
	start := time.Now()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/v1/kv/k", strings.NewReader("v")))
	if rec.Code == http.StatusOK {
		t.Fatalf("a silent server answered: %d %s", rec.Code, rec.Body)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the request to the silent server took %v, deadline 300ms", took)
	}
	// The next request goes to the other server.
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/v1/kv/k", strings.NewReader("v")))
	if rec.Code != http.StatusOK {
		t.Fatalf("the next write = %d %s, want it answered by the other server", rec.Code, rec.Body)
	}

	// A read is asked of the next server at once: the caller gets its answer.
	r = newRemote([]string{silent, srv.Server().Self().Addr}, "c1", slog.New(slog.DiscardHandler))
	r.timeout = 300 * time.Millisecond
	t.Cleanup(func() { r.client.Transport.(*failoverTransport).base.CloseIdleConnections() })
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/kv/k", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("a read with the silent server first = %d %s, want the other server's answer", rec.Code, rec.Body)
	}
	var peers []string
	if err := r.getJSON(context.Background(), "/v1/status/peers", &peers); err != nil || len(peers) != 1 {
		t.Fatalf("peers through the client = %v, %v", peers, err)
	}
}
