package httpapi

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPeerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	wrapped := &prefixConn{Conn: server, r: server}
	if peerClosed(wrapped) {
		t.Fatal("an open, idle connection counts as closed")
	}
	client.Write([]byte("GET"))
	time.Sleep(20 * time.Millisecond)
	if peerClosed(wrapped) {
		t.Fatal("a connection with unread data counts as closed")
	}
	var b [3]byte
	if _, err := server.Read(b[:]); err != nil || string(b[:]) != "GET" {
		t.Fatalf("peerClosed consumed data: %q %v", b, err)
	}
	client.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !peerClosed(wrapped) {
		if time.Now().After(deadline) {
			t.Fatal("a connection the client closed still counts as open")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recordingReturner collects the connections handed back.
type recordingReturner struct{ ch chan net.Conn }

func (r recordingReturner) Return(c net.Conn) { r.ch <- c }

func TestParkedQueries(t *testing.T) {
	old := parkedSweepInterval
	parkedSweepInterval = 20 * time.Millisecond
	defer func() { parkedSweepInterval = old }()
	store := newMemStore(t)
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopNow := func() { stopOnce.Do(func() { close(stop) }) }
	defer stopNow()
	ret := recordingReturner{ch: make(chan net.Conn, 4)}
	api := New(DefaultConfig(), Deps{Store: store, Cluster: fakeCluster{store}, Conns: ret, Stop: stop})
	srv := httptest.NewServer(api)
	defer srv.Close()
	ta := &testAPI{t: t, store: store, api: api, srv: srv}
	ta.do("PUT", "/v1/kv/k", "v1")
	_, hdr, _ := ta.do("GET", "/v1/kv/k", "")
	idx := hdr.Get("X-Consul-Index")
	addr := srv.Listener.Addr().String()
	send := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /v1/kv/k?index=%s&wait=1m HTTP/1.1\r\nHost: x\r\n\r\n", idx)
		return c, bufio.NewReader(c)
	}
	waitParked := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(api.parkedAll()) != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d parked queries, want %d", len(api.parkedAll()), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	t.Run("answers on change and hands the connection back", func(t *testing.T) {
		c, r := send()
		defer c.Close()
		waitParked(1)
		ta.do("PUT", "/v1/kv/k", "v2")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("X-Consul-Index") == idx || !strings.Contains(string(body), `"Value":"djI="`) {
			t.Fatalf("answer %d index %s body %s", resp.StatusCode, resp.Header.Get("X-Consul-Index"), body)
		}
		select {
		case back := <-ret.ch:
			back.Close()
		case <-time.After(5 * time.Second):
			t.Fatal("the connection was not handed back")
		}
		idx = resp.Header.Get("X-Consul-Index")
		waitParked(0)
	})
	t.Run("a client that hangs up is dropped", func(t *testing.T) {
		c, _ := send()
		waitParked(1)
		c.Close()
		waitParked(0)
	})
	t.Run("a stop answers every parked query", func(t *testing.T) {
		c, r := send()
		defer c.Close()
		waitParked(1)
		stopNow()
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != 200 || !resp.Close {
			t.Fatalf("answer on stop: %v %v", resp, err)
		}
	})
}
