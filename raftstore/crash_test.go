package raftstore_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/raftstore"
)

const (
	crashDirEnv   = "BEACON_CRASH_DIR"
	crashAddrEnv  = "BEACON_CRASH_ADDR"
	crashCycleEnv = "BEACON_CRASH_CYCLE"
)

// heldListener is a Network whose Listen opens a new descriptor on a
// socket the parent test holds for the whole run, so the port cannot
// be taken by another process between a kill and the next start. The
// child gets the socket as file descriptor 3.
type heldListener struct{ f *os.File }

func (h heldListener) Listen(string) (net.Listener, error) { return net.FileListener(h.f) }

func (heldListener) Dial(ctx context.Context, addr string) (net.Conn, error) {
	return raftstore.TCP{}.Dial(ctx, addr)
}

func crashConfig(dir, addr string, ln *os.File) raftstore.Config {
	cfg := raftstore.DefaultConfig()
	cfg.NodeID = "crash"
	cfg.BindAddr = addr
	cfg.Network = heldListener{ln}
	cfg.DataDir = dir
	cfg.BootstrapExpect = 1
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	cfg.RetryInterval = 20 * time.Millisecond
	// No snapshots, so the whole log stays available to replay and compare.
	cfg.SnapshotThreshold = 1 << 40
	cfg.SnapshotInterval = time.Hour
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

// TestCrashChild is the server process the crash test kills; it does
// nothing unless started by TestCrashSafetyUnderSIGKILL. It writes unique
// keys from 8 goroutines and prints "ACK key index" after each write is
// acknowledged.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashSafetyUnderSIGKILL")
	}
	srv, err := raftstore.New(crashConfig(dir, os.Getenv(crashAddrEnv), os.NewFile(3, "listener")))
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	for !srv.IsLeader() {
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Println("READY")
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				key := fmt.Sprintf("c%s/g%d/%06d", os.Getenv(crashCycleEnv), g, n)
				res, err := srv.Apply(context.Background(), put(key, strings.Repeat("v", 200)))
				if err != nil {
					continue
				}
				mu.Lock()
				fmt.Fprintf(out, "ACK %s %d\n", key, res.Index)
				_ = out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait() // never returns: the parent kills this process
}

type crashRun struct {
	t     *testing.T
	dir   string
	addr  string
	ln    *os.File // the held listening socket (see heldListener)
	acked map[string]uint64
}

// runChild starts the child, lets it write for a random while, and kills
// it with SIGKILL; it records every acknowledged write.
func (r *crashRun) runChild(cycle int, rng *rand.Rand) {
	t := r.t
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+r.dir, crashAddrEnv+"="+r.addr, crashCycleEnv+"="+strconv.Itoa(cycle))
	cmd.ExtraFiles = []*os.File{r.ln}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	var readyOnce sync.Once
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 3 && f[0] == "ACK":
				idx, _ := strconv.ParseUint(f[2], 10, 64)
				r.acked[f[1]] = idx
			case len(f) > 0 && f[0] == "READY":
				readyOnce.Do(func() { close(ready) })
			case len(f) > 0 && f[0] == "ERROR":
				t.Errorf("child: %s", sc.Text())
			}
		}
	}()
	select {
	case <-ready:
	case <-done:
		t.Fatalf("cycle %d: child exited before becoming ready", cycle)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("cycle %d: child not ready after 30s", cycle)
	}
	time.Sleep(time.Duration(150+rng.IntN(600)) * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	_ = cmd.Wait()
}

// verify restarts the server in this process and checks that every
// acknowledged write is there with its index, then that the catalog equals
// a fresh replay of the whole raft log.
func (r *crashRun) verify(cycle int) {
	t := r.t
	srv, err := raftstore.New(crashConfig(r.dir, r.addr, r.ln))
	if err != nil {
		t.Fatalf("cycle %d: restart: %v", cycle, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := srv.Read(ctx, raftstore.Consistent)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cycle %d: restarted server not ready: %v", cycle, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	missing := 0
	err = srv.Store().View(func(tx *catalog.ReadTx) error {
		for key, idx := range r.acked {
			e, _ := tx.KV(key)
			if e == nil || e.ModifyIndex != idx {
				if missing++; missing <= 5 {
					t.Errorf("cycle %d: acknowledged write %s@%d missing or changed: %+v", cycle, key, idx, e)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if missing > 0 {
		t.Fatalf("cycle %d: %d of %d acknowledged writes lost", cycle, missing, len(r.acked))
	}
	got, err := srv.Store().Hash()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if want := replayLog(t, filepath.Join(r.dir, "raft")); got != want {
		t.Fatalf("cycle %d: catalog after restart (hash %s) differs from a replay of the raft log (hash %s)", cycle, got, want)
	}
	t.Logf("cycle %d: %d acknowledged writes present; catalog equals log replay", cycle, len(r.acked))
}

// replayLog applies every entry of the raft log at dir to a fresh
// in-memory catalog and returns its hash.
func replayLog(t *testing.T, dir string) string {
	t.Helper()
	logs, err := raftstore.OpenLogStore(dir, catalog.DefaultBadgerTuning(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	store, err := catalog.Open(catalog.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	first, _ := logs.FirstIndex()
	last, _ := logs.LastIndex()
	if first != 1 {
		t.Fatalf("log starts at %d: cannot replay from the beginning", first)
	}
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			t.Fatalf("log %d: %v", i, err)
		}
		if l.Type != raft.LogCommand && l.Type != raft.LogConfiguration {
			continue
		}
		e := catalog.Entry{Index: l.Index, Time: l.AppendedAt, Data: l.Data, Config: l.Type == raft.LogConfiguration}
		if _, err := store.ApplyBatch([]catalog.Entry{e}); err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
	}
	h, err := store.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestCrashSafetyUnderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns server processes")
	}
	cycles := 5
	if os.Getenv("BEACON_SOAK") != "" {
		cycles = 30
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lnFile, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lnFile.Close()
	r := &crashRun{t: t, dir: t.TempDir(), addr: ln.Addr().String(), ln: lnFile, acked: map[string]uint64{}}
	stale := filepath.Join(t.TempDir(), "state-copy")
	for cycle := 1; cycle <= cycles; cycle++ {
		r.runChild(cycle, rng)
		if cycle == 3 {
			// Lose the catalog's recent writes (as an OS crash could; the
			// store is not fsynced): roll state/ back to its copy from
			// cycle 1. The log must replay what the store lost.
			if err := os.RemoveAll(filepath.Join(r.dir, "state")); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(filepath.Join(r.dir, "state"), os.DirFS(stale)); err != nil {
				t.Fatal(err)
			}
		}
		r.verify(cycle)
		if cycle == 1 {
			if err := os.CopyFS(stale, os.DirFS(filepath.Join(r.dir, "state"))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(r.acked) == 0 {
		t.Fatal("no write was acknowledged: the test exercised nothing")
	}
}
