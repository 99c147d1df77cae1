package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/raftstore"
)

// TestShutdownEndsBlockingQueries: a shutdown does not wait for blocking
// queries to run out their wait (up to 10 min), which would make every
// shutdown take its whole grace period while a watcher is connected.
func TestShutdownEndsBlockingQueries(t *testing.T) {
	a := startDev(t)
	c := consulClient(t, a)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web", Name: "web"}); err != nil {
		t.Fatal(err)
	}
	_, meta, err := c.KV().Get("watched", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, qm, err := c.Agent().Service("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	queries := map[string]func() error{
		"kv ?index": func() error {
			_, _, err := c.KV().Get("watched", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
			return err
		},
		"agent service ?hash": func() error {
			_, _, err := c.Agent().Service("web", &api.QueryOptions{WaitHash: qm.LastContentHash, WaitTime: time.Minute})
			return err
		},
	}
	done := make(chan string, len(queries))
	for name, query := range queries {
		go func() {
			query()
			done <- name
		}()
	}
	select {
	case name := <-done:
		t.Fatalf("blocking query %s returned before any change", name)
	case <-time.After(200 * time.Millisecond): // long enough for both to be waiting
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	a.Shutdown(ctx, false)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("shutdown took %v with blocking queries in flight", d)
	}
	for range queries {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("a blocking query is still waiting after the shutdown")
		}
	}
}

// A blocking query waits parked (its connection hijacked, no goroutine)
// and, once answered, its connection serves the next request: three
// blocking rounds and a plain read all go over one connection.
func TestParkedBlockingQueriesKeepTheirConnection(t *testing.T) {
	for _, tc := range []struct{ name, client string }{
		{"loopback listener", "127.0.0.1"},
		// A wildcard listener accepts connections whose local address
		// is a specific one: the connection must still find its way back.
		{"wildcard listener", "0.0.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) { testParkedKeepConnection(t, startDev(t, "-client", tc.client)) })
	}
}

func testParkedKeepConnection(t *testing.T, a *Agent) {
	_, port, err := net.SplitHostPort(a.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", port)
	var dials atomic.Int32
	tr := &http.Transport{
		MaxConnsPerHost: 1,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	c, err := api.NewClient(&api.Config{Address: addr, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	writer := consulClient(t, a).KV()
	if _, err := writer.Put(&api.KVPair{Key: "k", Value: []byte("0")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := c.KV().Get("k", nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := meta.LastIndex
	for round := 1; round <= 3; round++ {
		want := fmt.Sprint(round)
		go func() {
			time.Sleep(50 * time.Millisecond)
			writer.Put(&api.KVPair{Key: "k", Value: []byte(want)}, nil)
		}()
		p, m, err := c.KV().Get("k", &api.QueryOptions{WaitIndex: idx, WaitTime: 30 * time.Second})
		if err != nil || p == nil || string(p.Value) != want || m.LastIndex <= idx {
			t.Fatalf("round %d: %v %v (index %d after %d)", round, p, err, m.LastIndex, idx)
		}
		idx = m.LastIndex
	}
	// A wait that times out answers with the same index, also parked.
	_, m, err := c.KV().Get("k", &api.QueryOptions{WaitIndex: idx, WaitTime: 100 * time.Millisecond})
	if err != nil || m.LastIndex != idx {
		t.Fatalf("timed-out wait: index %d (%v), want %d", m.LastIndex, err, idx)
	}
	if _, _, err := c.KV().Get("k", nil); err != nil {
		t.Fatal(err)
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d connections dialled, want 1: a parked query's connection was not handed back", n)
	}
}

// Blocking queries that client agents forward to a server's server port
// wait parked there as on the HTTP port: a server holds those of every
// client agent, so a goroutine each would add up. 200 waiting queries
// must not cost 200 goroutines, and each connection must serve a next
// request after its answer.
func TestServerPortParksBlockingQueries(t *testing.T) {
	a := startDev(t)
	c := consulClient(t, a)
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("0")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := c.KV().Get("k", nil)
	if err != nil {
		t.Fatal(err)
	}
	const queries = 200
	before := runtime.NumGoroutine()
	conns := make([]net.Conn, queries)
	readers := make([]*bufio.Reader, queries)
	for i := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := raftstore.DialHTTP(ctx, raftstore.TCP{}, a.Server().Self().Addr)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /v1/kv/k?index=%d&wait=30s HTTP/1.1\r\nHost: beacon-server\r\n\r\n", meta.LastIndex)
		conns[i], readers[i] = conn, bufio.NewReader(conn)
	}
	// Give the server time to take every query; then count.
	var grew int
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(200 * time.Millisecond)
		grew = runtime.NumGoroutine() - before
		if grew < queries/4 || time.Now().After(deadline) {
			break
		}
	}
	if grew >= queries/4 {
		t.Fatalf("%d goroutines more with %d blocking queries waiting on the server port: they are not parked", grew, queries)
	}
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	for i, conn := range conns {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"Value":"MQ=="`) {
			t.Fatalf("query %d answered %s %s, want the new value", i, resp.Status, body)
		}
		// The connection was handed back: it serves another request.
		fmt.Fprintf(conn, "GET /v1/status/leader HTTP/1.1\r\nHost: beacon-server\r\n\r\n")
		resp, err = http.ReadResponse(readers[i], nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("query %d: the connection's next request: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
}
