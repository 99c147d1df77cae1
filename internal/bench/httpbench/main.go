package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/beacon-sd/beacon/internal/bench/benchproc"
)

var (
	binPath  = flag.String("bin", "bin/beacon", "beacon binary")
	duration = flag.Duration("duration", 10*time.Second, "wrk run length per row")
	mode     = flag.String("mode", "all", "all, write, read or block")
	watchers = flag.Int("watchers", 10000, "blocking queries for -mode block")
	connsArg = flag.String("conns", "1,16,256", "connection counts for the write rows (comma-separated)")
	viaFoll  = flag.Bool("via-follower", true, "also write through a follower (256 connections)")
	debug    = flag.Bool("debug", false, "serve /debug/pprof on the agents (their addresses go to stderr) to profile a run")
	withBase = flag.Bool("baseline", true, "run the net/http hello baseline beside each write row")
)

// tmpDir holds the agents' data dirs and the files wrk and the agents read.
var tmpDir string

func main() {
	flag.Parse()
	if *blockClient != "" {
		runBlockClient(*blockClient, *watchers)
		return
	}
	var err error
	if tmpDir, err = os.MkdirTemp("", "httpbench-"); err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmpDir)
	// wrk opens up to 256 connections from one address: lift the
	// per-client connection limit (default 200) for the benchmark.
	limitsFile = filepath.Join(tmpDir, "limits.hcl")
	limits := "limits {\n  http_max_conns_per_client = 20000\n}\n"
	if *debug {
		limits += "enable_debug = true\n"
	}
	if err := os.WriteFile(limitsFile, []byte(limits), 0o644); err != nil {
		log.Fatal(err)
	}
	runner := benchproc.Runner{Bin: *binPath, Args: []string{"-config-file", limitsFile}}
	if _, err := exec.LookPath("wrk"); err != nil && *mode != "block" {
		log.Fatal("wrk not found: run `make tools` (installs it from Debian's packages)")
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if *mode != "block" {
		fmt.Fprintln(tw, "benchmark\tconns\treq/s\tp50\tp99\t")
	}
	if *mode == "all" || *mode == "write" || *mode == "read" {
		base := startBaseline()
		r := runWrk(base, 64, nil, "/")
		row(tw, "baseline: net/http hello (GET)", 64, r)
		servers := runner.Cluster(tmpDir, 3)
		defer benchproc.StopAll(servers)
		leader := servers[benchproc.LeaderIndex(servers)]
		if *debug {
			for _, p := range servers {
				fmt.Fprintf(os.Stderr, "agent http://%s/debug/pprof/ leader=%v\n", p.HTTP, p == leader)
			}
		}
		if *mode != "read" {
			script := writeScript(tmpDir)
			for _, f := range strings.Split(*connsArg, ",") {
				c, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || c < 1 {
					log.Fatalf("-conns: %q is not a positive connection count", f)
				}
				if *withBase {
					row(tw, "baseline: net/http hello (PUT 256 B)", c, runWrk(base, c, &script, "/"))
				}
				row(tw, "PUT /v1/kv (3 servers, leader)", c, runWrk(leader.HTTP, c, &script, "/"))
			}
			if *viaFoll {
				follower := servers[(benchproc.LeaderIndex(servers)+1)%3]
				row(tw, "PUT /v1/kv (3 servers, via follower)", 256, runWrk(follower.HTTP, 256, &script, "/"))
			}
		}
		if *mode != "write" {
			registerWeb(leader.HTTP, 10)
			row(tw, "GET /v1/health/service/web?passing (10 inst.)", 64, runWrk(leader.HTTP, 64, nil, "/v1/health/service/web?passing"))
			row(tw, "GET /v1/catalog/service/web", 64, runWrk(leader.HTTP, 64, nil, "/v1/catalog/service/web"))
		}
	}
	tw.Flush()
	if *mode == "all" || *mode == "block" {
		blockingBench(*watchers)
	}
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   string
}

func row(tw *tabwriter.Writer, name string, conns int, r result) {
	fmt.Fprintf(tw, "%s\t%d\t%.0f\t%v\t%v\t%s\n", name, conns, r.rps, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errors)
	tw.Flush()
}

// startBaseline serves a fixed body from this process.
func startBaseline() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("true\n"))
	}))
	return ln.Addr().String()
}

func writeScript(dir string) string {
	p := filepath.Join(dir, "put.lua")
	src := `local body = string.rep("x", 256)
request = function()
  return wrk.format("PUT", "/v1/kv/bench/" .. math.random(1, 100000), nil, body)
end
`
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		log.Fatal(err)
	}
	return p
}

var (
	reRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reP   = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	reErr = regexp.MustCompile(`(Non-2xx or 3xx responses: \d+|Socket errors: [^\n]+)`)
)

// runWrk runs wrk against addr and parses its summary.
func runWrk(addr string, conns int, script *string, path string) result {
	threads := min(2, conns)
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", duration.String(), "--latency"}
	if script != nil {
		args = append(args, "-s", *script)
	}
	args = append(args, "http://"+addr+path)
	out, err := exec.Command("wrk", args...).CombinedOutput()
	if err != nil {
		log.Fatalf("wrk %v: %v\n%s", args, err, out)
	}
	var r result
	if m := reRPS.FindSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	for _, m := range reP.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		d := time.Duration(v * float64(map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[3])]))
		if string(m[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	r.errors = strings.Join(func() []string {
		var s []string
		for _, m := range reErr.FindAll(out, -1) {
			s = append(s, string(m))
		}
		return s
	}(), "; ")
	return r
}

// limitsFile lifts the per-client connection limit.
var limitsFile string

// registerWeb registers n instances of "web" on n nodes, each with a
// passing node check and a passing service check.
func registerWeb(addr string, n int) {
	for i := range n {
		node := fmt.Sprintf("web-node-%d", i)
		body := fmt.Sprintf(`{"Node":%q,"Address":"10.0.0.%d","Service":{"ID":"web-%d","Service":"web","Tags":["v1"],"Port":8080},
			"Checks":[{"CheckID":"serfHealth","Name":"Node Liveness","Status":"passing"},{"CheckID":"web-%d-http","Name":"http","Status":"passing","ServiceID":"web-%d"}]}`, node, i+1, i, i, i)
		benchproc.Put(addr, "/v1/catalog/register", []byte(body))
	}
}
