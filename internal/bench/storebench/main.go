package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	metrics "github.com/hashicorp/go-metrics"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/raftstore"
)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "how long each measurement runs")
	writersFlag := flag.String("writers", "1,16,256", "concurrent writer counts")
	mode := flag.String("mode", "all", "all, write, rss, or rss-child (internal)")
	keys := flag.Int("rss-keys", 100_000, "keys to load for the memory measurement")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the write measurements to this file")
	traceFile := flag.String("trace", "", "write a Go execution trace of 4 s of the write measurements (from 5 s after start) to this file")
	showMetrics := flag.Bool("metrics", false, "print raft's timing metrics after the write measurements")
	flag.BoolVar(&withBaseline, "baseline", true, "measure the raw Badger baseline (off: profile only beacon's path)")
	flag.BoolVar(&viaFollower, "via-follower", true, "also measure writes sent to a follower")
	flag.IntVar(&maxAppend, "max-append-entries", raftstore.DefaultConfig().MaxAppendEntries, "raft MaxAppendEntries for the cluster")
	flag.DurationVar(&snapshotInterval, "snapshot-interval", raftstore.DefaultConfig().SnapshotInterval, "raft SnapshotInterval for the cluster")
	flag.DurationVar(&timeline, "timeline", 0, "print each measurement's writes per interval of this length (ops, p50, max latency), to find stalls")
	flag.IntVar(&keySpace, "keys", 0, "write over this many distinct keys, cycling (0: every write a new key, so the catalog grows all run)")
	flag.StringVar(&stallDump, "stall-dump", "", "when no write completes for 80 ms, write the goroutines (pprof, aggregated) to stall-N.txt in this directory (at most 5 per measurement)")
	flag.Parse()
	if *showMetrics {
		sink := metrics.NewInmemSink(time.Hour, time.Hour)
		if _, err := metrics.NewGlobal(metrics.DefaultConfig("bench"), sink); err != nil {
			fail("%v", err)
		}
		defer printMetrics(sink)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail("%v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail("%v", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err != nil {
			fail("%v", err)
		}
		time.AfterFunc(5*time.Second, func() {
			if err := trace.Start(f); err != nil {
				fail("%v", err)
			}
			fmt.Fprintf(os.Stderr, "%s TRACE START\n", time.Now().Format("15:04:05.000"))
			time.AfterFunc(4*time.Second, trace.Stop)
		})
	}
	if *mode == "rss-child" {
		rssChild(*keys)
		return
	}
	var writers []int
	for _, f := range strings.Split(*writersFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fail("bad -writers %q", *writersFlag)
		}
		writers = append(writers, n)
	}
	fmt.Printf("beacon storebench — %s, %d CPUs, %s per point, KV put: 16-byte key, 256-byte value, fsync on\n\n", runtime.Version(), runtime.NumCPU(), *duration)
	if *mode == "all" || *mode == "write" {
		writeTable(writers, *duration)
	}
	if *mode == "all" || *mode == "rss" {
		rssTable(*keys)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "storebench: "+format+"\n", args...)
	os.Exit(1)
}

// result is one measured point.
type result struct {
	ops      int
	elapsed  time.Duration
	p50, p99 time.Duration
	errors   int64
}

func (r result) rate() float64 {
	if r.elapsed == 0 {
		return 0 // not measured
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

// measure runs op from n goroutines for d and collects latencies.
func measure(n int, d time.Duration, op func(worker, seq int) error) result {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		all    []time.Duration
		errs   atomic.Int64
		stop   atomic.Bool
		seqGen atomic.Int64
		marks  []mark
	)
	start := time.Now()
	var lastDone atomic.Int64 // UnixNano of the latest completed write, for -stall-dump
	lastDone.Store(start.UnixNano())
	if stallDump != "" {
		go watchStalls(&lastDone, &stop)
	}
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			var done []time.Duration // completion times, since start, for -timeline
			for !stop.Load() {
				s := int(seqGen.Add(1))
				t0 := time.Now()
				if err := op(w, s); err != nil {
					if errs.Add(1) <= 3 {
						fmt.Fprintf(os.Stderr, "storebench: write failed: %v\n", err)
					}
					continue
				}
				lat = append(lat, time.Since(t0))
				if stallDump != "" {
					lastDone.Store(time.Now().UnixNano())
				}
				if timeline > 0 {
					done = append(done, time.Since(start))
				}
			}
			mu.Lock()
			all = append(all, lat...)
			for i, at := range done {
				marks = append(marks, mark{at: at, lat: lat[i]})
			}
			mu.Unlock()
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	if timeline > 0 {
		printTimeline(n, marks)
	}
	slices.Sort(all)
	r := result{ops: len(all), elapsed: elapsed, errors: errs.Load()}
	if len(all) > 0 {
		r.p50 = all[len(all)/2]
		r.p99 = all[len(all)*99/100]
	}
	return r
}

// watchStalls writes a goroutine dump whenever no write has completed for
// 80 ms, at most one per 500 ms and five per measurement: what every
// goroutine waits on during a stall.
func watchStalls(lastDone *atomic.Int64, stop *atomic.Bool) {
	dumps, lastDump := 0, time.Time{}
	for dumps < 5 {
		t0 := time.Now()
		time.Sleep(10 * time.Millisecond)
		if stop.Load() {
			return // the measurement is over; writes stopped on purpose
		}
		if late := time.Since(t0) - 10*time.Millisecond; late > 20*time.Millisecond {
			// The watchdog itself did not run: the whole process stalled
			// (no P free, or its threads not scheduled), not one server.
			fmt.Fprintf(os.Stderr, "%s watchdog woke %v late\n", time.Now().Format("15:04:05.000"), late)
		}
		gap := time.Since(time.Unix(0, lastDone.Load()))
		if gap < 80*time.Millisecond || time.Since(lastDump) < 500*time.Millisecond {
			continue
		}
		dumpSeq++
		name := filepath.Join(stallDump, fmt.Sprintf("stall-%d.txt", dumpSeq))
		f, err := os.Create(name)
		if err != nil {
			fail("%v", err)
		}
		fmt.Fprintf(f, "no write completed for %v at %s\n\n", gap, time.Now().Format("15:04:05.000"))
		_ = pprof.Lookup("goroutine").WriteTo(f, 1)
		_ = f.Close()
		fmt.Fprintf(os.Stderr, "%s stall of %v: %s\n", time.Now().Format("15:04:05.000"), gap, name)
		dumps++
		lastDump = time.Now()
	}
}

// dumpSeq numbers -stall-dump files across measurements.
var dumpSeq int

// mark is one write of a -timeline measurement: when it completed and how long it took.
type mark struct{ at, lat time.Duration }

// printTimeline prints, per interval of the -timeline length, how many
// writes completed and their median and longest latency: a stall shows as
// an interval with few writes and a long maximum.
func printTimeline(n int, marks []mark) {
	buckets := map[int][]time.Duration{}
	last := 0
	for _, m := range marks {
		b := int(m.at / timeline)
		buckets[b] = append(buckets[b], m.lat)
		last = max(last, b)
	}
	fmt.Printf("timeline, %d writers (%v per row): from, ops, p50, max\n", n, timeline)
	for b := 0; b <= last; b++ {
		l := buckets[b]
		slices.Sort(l)
		var p50, top time.Duration
		if len(l) > 0 {
			p50, top = l[len(l)/2], l[len(l)-1]
		}
		fmt.Printf("  %8v %7d %8s %8s\n", time.Duration(b)*timeline, len(l), ms(p50), ms(top))
	}
}

func key16(seq int) []byte {
	k := make([]byte, 16)
	copy(k, "bench/")
	binary.BigEndian.PutUint64(k[8:], uint64(seq))
	return k
}

var value256 = []byte(strings.Repeat("x", 256))

// badgerBaseline measures raw synced Badger writes: one transaction per
// put, SyncWrites on, same tuning as the raft log store.
func badgerBaseline(n int, d time.Duration) result {
	dir, err := os.MkdirTemp("", "storebench-badger-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	db, err := badger.Open(catalog.DefaultBadgerTuning().BadgerOptions(dir, nil).WithSyncWrites(true))
	if err != nil {
		fail("open badger: %v", err)
	}
	defer db.Close()
	return measure(n, d, func(_, seq int) error {
		return db.Update(func(txn *badger.Txn) error { return txn.Set(key16(seq), value256) })
	})
}

// Flags for tuning and profiling runs: the cluster's MaxAppendEntries and
// SnapshotInterval, and which of the table's columns to measure.
var (
	maxAppend        int
	snapshotInterval time.Duration
	timeline         time.Duration
	stallDump        string
	keySpace         int
	withBaseline     bool
	viaFollower      bool
)

// cluster is a 3-server raftstore cluster on loopback, fsync on, with
// production timing.
type cluster struct {
	dir     string
	servers []*raftstore.Server
}

func startCluster() *cluster {
	dir, err := os.MkdirTemp("", "storebench-cluster-")
	if err != nil {
		fail("%v", err)
	}
	c := &cluster{dir: dir}
	addrs := make([]string, 3)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fail("%v", err)
		}
		addrs[i] = ln.Addr().String()
		_ = ln.Close()
	}
	for i := range addrs {
		cfg := raftstore.DefaultConfig()
		cfg.NodeID = fmt.Sprintf("s%d", i)
		cfg.BindAddr = addrs[i]
		cfg.DataDir = filepath.Join(dir, cfg.NodeID)
		cfg.BootstrapExpect = 3
		cfg.RetryJoin = addrs
		cfg.RetryInterval = 50 * time.Millisecond
		cfg.MaxAppendEntries = maxAppend
		cfg.SnapshotInterval = snapshotInterval
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		s, err := raftstore.New(cfg)
		if err != nil {
			fail("start server %d: %v", i, err)
		}
		c.servers = append(c.servers, s)
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.leader() == nil {
		if time.Now().After(deadline) {
			fail("no leader after 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c
}

func (c *cluster) leader() *raftstore.Server {
	for _, s := range c.servers {
		if s.IsLeader() {
			return s
		}
	}
	return nil
}

func (c *cluster) stop() {
	for _, s := range c.servers {
		_ = s.Shutdown()
	}
	_ = os.RemoveAll(c.dir)
}

func replicated(c *cluster, via *raftstore.Server, n int, d time.Duration) result {
	return measure(n, d, func(_, seq int) error {
		if keySpace > 0 {
			seq %= keySpace
		}
		cmd := &catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: string(key16Text(seq)), Value: value256}}
		_, err := via.Apply(context.Background(), cmd)
		return err
	})
}

// key16Text is a printable 16-byte key (KV keys must be valid UTF-8).
func key16Text(seq int) []byte { return []byte(fmt.Sprintf("bench/%010d", seq)) }

func writeTable(writers []int, d time.Duration) {
	c := startCluster()
	defer c.stop()
	var follower *raftstore.Server
	for _, s := range c.servers {
		if !s.IsLeader() {
			follower = s
			break
		}
	}
	fmt.Printf("%7s | %-28s | %-36s | %-28s\n", "", "raw Badger, synced (baseline)", "beacon, 3 servers, via leader", "beacon, via a follower")
	fmt.Printf("%7s | %10s %8s %8s | %10s %8s %8s %6s | %10s %8s %8s\n", "writers", "ops/s", "p50", "p99", "ops/s", "p50", "p99", "errors", "ops/s", "p50", "p99")
	for _, n := range writers {
		var base, fwd result
		if withBaseline {
			base = badgerBaseline(n, d)
		}
		leader := replicated(c, c.leader(), n, d)
		if viaFollower {
			fwd = replicated(c, follower, n, d)
		}
		fmt.Printf("%7d | %10.0f %8s %8s | %10.0f %8s %8s %6d | %10.0f %8s %8s\n", n,
			base.rate(), ms(base.p50), ms(base.p99),
			leader.rate(), ms(leader.p50), ms(leader.p99), leader.errors+fwd.errors,
			fwd.rate(), ms(fwd.p50), ms(fwd.p99))
	}
	fmt.Println()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// rssTable measures a server's resident memory after loading keys, in a
// fresh child process so the figure is that server's alone.
func rssTable(keys int) {
	exe, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	out, err := exec.Command(exe, "-mode", "rss-child", "-rss-keys", strconv.Itoa(keys)).CombinedOutput()
	if err != nil {
		fail("rss child: %v\n%s", err, out)
	}
	fmt.Printf("server memory with %d KV keys of 256 bytes (single server process, on disk):\n%s\n", keys, out)
}

func rssChild(keys int) {
	dir, err := os.MkdirTemp("", "storebench-rss-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	cfg := raftstore.DefaultConfig()
	cfg.NodeID = "rss"
	cfg.BindAddr = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.BootstrapExpect = 1
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := raftstore.New(cfg)
	if err != nil {
		fail("%v", err)
	}
	defer s.Shutdown()
	for !s.IsLeader() {
		time.Sleep(5 * time.Millisecond)
	}
	before := rss()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > keys {
					return
				}
				cmd := &catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: fmt.Sprintf("rss/%08d", i), Value: value256}}
				if _, err := s.Apply(context.Background(), cmd); err != nil {
					fail("load: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	loaded := rss()
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(2 * time.Second) // let snapshots/compactions triggered by the load settle
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("  RSS before load %d MB, right after load %d MB, settled %d MB (Go heap in use %d MB)\n",
		before>>20, loaded>>20, rss()>>20, ms.HeapInuse>>20)
}

// rss reads this process's resident set size from /proc.
func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// printMetrics prints raft's timers and samples: where a write's time goes.
func printMetrics(sink *metrics.InmemSink) {
	data := sink.Data()
	if len(data) == 0 {
		return
	}
	fmt.Println("raft metrics (all servers, whole run):")
	var names []string
	samples := map[string]metrics.SampledValue{}
	for _, iv := range data {
		for name, s := range iv.Samples {
			if agg, ok := samples[name]; ok && agg.AggregateSample != nil {
				agg.Count += s.Count
				agg.Sum += s.Sum
				agg.Max = max(agg.Max, s.Max)
				samples[name] = agg
				continue
			}
			names = append(names, name)
			samples[name] = s
		}
	}
	slices.Sort(names)
	for _, n := range names {
		s := samples[n]
		if !strings.Contains(n, "raft") {
			continue
		}
		fmt.Printf("  %-60s n=%-8d mean=%-10.3f max=%.3f\n", n, s.Count, s.Sum/float64(max(s.Count, 1)), s.Max)
	}
}
