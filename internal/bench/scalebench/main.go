package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/beacon-sd/beacon/internal/bench/benchproc"
	"github.com/beacon-sd/beacon/internal/simagent"
)

var (
	binPath     = flag.String("bin", "bin/beacon", "beacon binary")
	agentCounts = flag.String("agents", "1000,5000", "comma-separated numbers of simulated agents, one row each (an idle-cluster row with 0 runs first)")
	services    = flag.Int("services", 10, "services per agent, each with a TTL check")
	checkTTL    = flag.Duration("check-ttl", 30*time.Second, "TTL of every check; each is heartbeaten every third of it")
	leaseTTL    = flag.Duration("lease-ttl", 10*time.Second, "node lease TTL (servers and agents)")
	settle      = flag.Duration("settle", 10*time.Second, "wait after every agent is in the catalog, before measuring")
	window      = flag.Duration("window", 30*time.Second, "steady-state measuring window")
	concurrency = flag.Int("concurrency", 64, "agents started at once")
	agentDir    = flag.String("agent-dir", defaultAgentDir(), "where the simulated agents' data dirs go (tmpfs: their TTL state is fsynced on every heartbeat, which 5,000 agents sharing one disk would turn into a disk benchmark)")
)

// defaultAgentDir is /dev/shm when it is usable, else the temp dir.
func defaultAgentDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "scalebench-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

func main() {
	flag.Parse()
	counts := []int{0}
	for f := range strings.SplitSeq(*agentCounts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			log.Fatalf("-agents: %q is not a number of agents", f)
		}
		if n > 0 {
			counts = append(counts, n)
		}
	}
	// The servers log to stderr while rows run: the table is printed
	// whole at the end, on stdout.
	var (
		rows []string
		idle float64 // the idle cluster's leader CPU
	)
	for _, n := range counts {
		log.Printf("scalebench: %d agents…", n)
		r := run(n)
		if n == 0 {
			idle = r.cpu
		}
		rows = append(rows, fmt.Sprintf("%d\t%d\t%s\t%.2f\t%.3f\t%s\t%d\t%d\t%s\t%d\t",
			n, n*(*services+1), secondsOrDash(r.register), r.applies, r.cpu, perThousand(r.cpu-idle, n),
			r.leaderRSS>>20, r.harnessRSS>>20, secondsOrDash(r.detect), r.falseCriticals))
		log.Printf("scalebench: %d agents: %s", n, strings.ReplaceAll(rows[len(rows)-1], "\t", " "))
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "agents\tchecks\tregister (s)\traft applies/s\tleader CPU (s/s)\tabove idle, per 1,000 agents\tleader RSS (MB)\tharness RSS (MB)\tdead agent critical after (s)\tfalse criticals (failover)\t")
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	tw.Flush()
	fmt.Printf("\nchecks: the agents' service checks plus one liveness check per agent; lease TTL %s, check TTL %s, window %s.\n", *leaseTTL, *checkTTL, *window)
	fmt.Println("raft applies: the leader's raft.apply counter (commands proposed) over the window; CPU: the leader's /proc utime+stime over the same window (the idle row is the baseline).")
	fmt.Println("false criticals: checks critical, or changed at all, after a leadership transfer and 2 lease TTLs (nothing writes a settled check but a status change).")
}

func secondsOrDash(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", d.Seconds())
}

func perThousand(cpu float64, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", cpu*1000/float64(n))
}

// result is one row of the table.
type result struct {
	register       time.Duration // until every agent's state was in the catalog
	applies        float64       // Raft commands per second on the leader, steady state
	cpu            float64       // leader CPU seconds per second, steady state
	leaderRSS      int64
	harnessRSS     int64         // this process, with its agents
	detect         time.Duration // kill to the node's liveness check critical
	falseCriticals int
}

// run measures one row on a fresh cluster with n agents.
func run(n int) result {
	dir, err := os.MkdirTemp("", "scalebench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	simDir, err := os.MkdirTemp(*agentDir, "scalebench-agents-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(simDir)
	// Counters kept for the whole run: the apply count is read as a
	// difference, and the default retention drops a counter idle for 60s.
	telemetry := filepath.Join(dir, "telemetry.hcl")
	if err := os.WriteFile(telemetry, []byte("telemetry {\n  prometheus_retention_time = \"24h\"\n}\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	leaseArgs := []string{"-lease-ttl", leaseTTL.String()}
	runner := benchproc.Runner{Bin: *binPath, Args: append([]string{"-config-file", telemetry}, leaseArgs...)}
	servers := runner.Cluster(dir, 3)
	defer benchproc.StopAll(servers)

	var r result
	var sims []*simagent.Agent
	if n > 0 {
		sims, r.register = register(servers, n, simDir, leaseArgs)
		defer simagent.KillAll(sims)
	}
	time.Sleep(*settle)
	r.applies, r.cpu, r.leaderRSS = steadyState(servers)
	r.harnessRSS, _ = benchproc.RSS(os.Getpid())
	r.falseCriticals = failover(servers)
	if n > 0 {
		r.detect = detectDead(servers, sims[0])
	}
	return r
}

// register starts n agents and waits until the catalog holds all of them.
func register(servers []*benchproc.Proc, n int, simDir string, leaseArgs []string) ([]*simagent.Agent, time.Duration) {
	cfg := simagent.Config{DataDir: simDir, Services: *services, CheckTTL: *checkTTL, Args: leaseArgs}
	for _, s := range servers {
		cfg.Servers = append(cfg.Servers, s.Server)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	sims, err := simagent.StartMany(ctx, n, cfg, *concurrency)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range sims {
		if err := s.WaitSynced(ctx); err != nil {
			log.Fatalf("%s: not in the catalog: %v", s.Name(), err)
		}
	}
	took := time.Since(start)
	var passing []check
	leader := servers[benchproc.LeaderIndex(servers)]
	if err := benchproc.GetJSON(leader.HTTP, "/v1/health/state/passing", &passing); err != nil {
		log.Fatal(err)
	}
	if want := len(servers) + n*(*services+1); len(passing) != want {
		log.Fatalf("%d agents registered: %d passing checks, want %d", n, len(passing), want)
	}
	runtime.GC()
	return sims, took
}
