package main

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// blockingBench holds n blocking queries on n different keys of one dev
// agent process and reports its memory per waiting query (RSS growth over
// the same n connections idle), then the time for a write to one key to
// wake its watcher, and whether any other watcher woke.
func blockingBench(n int) {
	agent := startAgent("-dev")
	defer stopAll([]*proc{agent})
	waitLeader(agent.http)
	for i := range n {
		if i%1000 == 0 {
			put(agent.http, fmt.Sprintf("/v1/kv/bq/%d", i), []byte("0"))
		}
	}
	var idx uint64
	{
		resp, err := http.Get("http://" + agent.http + "/v1/kv/bq/missing")
		if err != nil {
			log.Fatal(err)
		}
		idx, _ = strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
		resp.Body.Close()
	}
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	for i := range conns {
		c, err := net.Dial("tcp", agent.http)
		if err != nil {
			log.Fatalf("dial %d: %v", i, err)
		}
		conns[i], readers[i] = c, bufio.NewReaderSize(c, 512)
	}
	time.Sleep(time.Second)
	idle := rss(agent.cmd.Process.Pid)
	// Each query waits on its own missing key at the KV table's current
	// index; only a write to that key wakes it.
	for i, c := range conns {
		fmt.Fprintf(c, "GET /v1/kv/bq/w%d?index=%d&wait=10m HTTP/1.1\r\nHost: x\r\n\r\n", i, idx)
	}
	time.Sleep(3 * time.Second)
	blocked := rss(agent.cmd.Process.Pid)
	woke := make(chan int, n)
	for i := range conns {
		go func() {
			if _, err := readers[i].ReadByte(); err == nil {
				woke <- i
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	target := n / 2
	start := time.Now()
	put(agent.http, fmt.Sprintf("/v1/kv/bq/w%d", target), []byte("1"))
	var first int
	var wake time.Duration
	select {
	case first = <-woke:
		wake = time.Since(start)
	case <-time.After(10 * time.Second):
		log.Fatal("no watcher woke within 10s")
	}
	time.Sleep(500 * time.Millisecond)
	others := len(woke)
	fmt.Printf("\nblocking queries: %d on %d keys (one dev agent process)\n", n, n)
	fmt.Printf("  agent RSS with %d idle connections: %.1f MB; with a blocking query on each: %.1f MB\n", n, float64(idle)/1e6, float64(blocked)/1e6)
	fmt.Printf("  memory per waiting query: %.1f KB (over an idle keep-alive connection)\n", float64(blocked-idle)/float64(n)/1024)
	fmt.Printf("  write to one key → its watcher answered in %v (watcher %d, want %d); other watchers woken: %d\n", wake.Round(10*time.Microsecond), first, target, others)
	for _, c := range conns {
		c.Close()
	}
}

// rss is a process's resident set size in bytes, from /proc.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
