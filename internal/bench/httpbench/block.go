package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/agent"
	"github.com/beacon-sd/beacon/configs"
	"github.com/beacon-sd/beacon/internal/bench/benchproc"
	"github.com/beacon-sd/beacon/raftstore"
)

var memProfile = flag.String("block-memprofile", "", "write the agent's heap profile with every query blocked to this file")

var blockClient = flag.String("block-client", "", "internal: hold blocking queries against this address (child process)")

var blockPort = flag.String("block-port", "http", "where the blocking queries wait: http (the agent's HTTP port, as applications use it) or server (its server port, as client agents forward them)")

// blockingBench runs a dev agent in this process and n blocking queries on
// n different keys from a child process (each side then needs only n file
// descriptors). Memory per waiting query is the growth of the agent's Go
// heap and stacks in use (after a GC) between n idle keep-alive
// connections and the same connections each blocked in a query. Then one
// key is written and the time until its watcher's answer arrives is taken,
// and every other watcher is checked to still be waiting.
func blockingBench(n int) {
	cfg, err := configs.Load([]string{"-dev", "-http-port", "0", "-server-port", "0", "-dns-port", "-1", "-config-file", limitsFile}, io.Discard)
	if err != nil {
		log.Fatal(err)
	}
	a, err := agent.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Shutdown(context.Background(), false)
	if err := a.WaitLeader(context.Background()); err != nil {
		log.Fatal(err)
	}
	addr := a.HTTPAddr()
	idx := kvIndex(addr)
	queryAddr := addr
	switch *blockPort {
	case "http":
	case "server":
		queryAddr = a.Server().Self().Addr
	default:
		log.Fatalf("-block-port %q: want http or server", *blockPort)
	}
	base := goMemory()

	child := exec.Command(os.Args[0], "-block-client", queryAddr, "-block-port", *blockPort, "-watchers", strconv.Itoa(n))
	child.Stderr = os.Stderr
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		log.Fatal(err)
	}
	out := bufio.NewScanner(stdout)
	expect := func(prefix string) string {
		if !out.Scan() || !strings.HasPrefix(out.Text(), prefix) {
			log.Fatalf("block client: want %q, got %q (%v)", prefix, out.Text(), out.Err())
		}
		return strings.TrimSpace(strings.TrimPrefix(out.Text(), prefix))
	}
	expect("connected")
	idle := goMemory()
	fmt.Fprintf(stdin, "query %d\n", idx)
	expect("sent")
	time.Sleep(2 * time.Second) // let every request reach its wait
	blocked := goMemory()
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	target := n / 2
	start := time.Now()
	benchproc.Put(addr, fmt.Sprintf("/v1/kv/bq/w%d", target), []byte("1"))
	woke := expect("woke")
	wake := time.Duration(mustInt(expect("at")) - start.UnixNano())
	fmt.Fprintln(stdin, "count")
	others := expect("others")
	fmt.Fprintln(stdin, "quit")
	child.Wait()
	fmt.Printf("\nblocking queries: %d on %d keys on the agent's %s port, one dev agent (in this process; the clients in a child process)\n", n, n, *blockPort)
	per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(n) / 1024 }
	fmt.Printf("  agent Go heap+stacks in use: %.1f MB alone, %.1f MB with %d idle keep-alive connections, %.1f MB with a blocking query on each\n", float64(base.total())/1e6, float64(idle.total())/1e6, n, float64(blocked.total())/1e6)
	fmt.Printf("  memory per waiting query, its connection included: %.2f KB (heap %.2f + stack %.2f); an idle keep-alive connection: %.2f KB\n", per(base.total(), blocked.total()), per(base.heap, blocked.heap), per(base.stack, blocked.stack), per(base.total(), idle.total()))
	fmt.Printf("  write to one key → its watcher answered in %v (watcher %s, want %d); other watchers woken within 500 ms: %s\n", wake.Round(10*time.Microsecond), woke, target, others)
}

// memUse is the heap and stack memory in use after a full GC.
type memUse struct{ heap, stack uint64 }

func (m memUse) total() uint64 { return m.heap + m.stack }

func goMemory() memUse {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memUse{m.HeapInuse, m.StackInuse}
}

func kvIndex(addr string) uint64 {
	resp, err := http.Get("http://" + addr + "/v1/kv/bq/missing")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	idx, _ := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	return idx
}

func mustInt(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		log.Fatal(err)
	}
	return v
}

// runBlockClient is the child: it opens n connections, then on "query I"
// sends one blocking query per connection, reports the first answer, and
// on "count" how many others answered.
func runBlockClient(addr string, n int) {
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			log.Fatalf("dial %d: %v", i, err)
		}
		if *blockPort == "server" { // announce HTTP on the server port, as client agents do
			if _, err := c.Write([]byte{raftstore.ProtoHTTP}); err != nil {
				log.Fatalf("dial %d: %v", i, err)
			}
		}
		conns[i] = c
	}
	fmt.Println("connected")
	in := bufio.NewScanner(os.Stdin)
	woke := make(chan int, n)
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch f[0] {
		case "query":
			for i, c := range conns {
				fmt.Fprintf(c, "GET /v1/kv/bq/w%d?index=%s&wait=10m HTTP/1.1\r\nHost: x\r\n\r\n", i, f[1])
				go func() {
					var b [1]byte
					if _, err := c.Read(b[:]); err == nil {
						woke <- i
					}
				}()
			}
			fmt.Println("sent")
			i := <-woke
			fmt.Printf("woke %d\nat %d\n", i, time.Now().UnixNano())
		case "count":
			time.Sleep(500 * time.Millisecond)
			fmt.Printf("others %d\n", len(woke))
		case "quit":
			return
		}
	}
}
