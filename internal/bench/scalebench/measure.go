package main

import (
	"bufio"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/internal/bench/benchproc"
	"github.com/beacon-sd/beacon/internal/simagent"
)

// check is the part of a /v1/health answer the bench reads.
type check struct {
	Node, CheckID, Status, Output string
	ModifyIndex                   uint64
}

// steadyState measures, over one window, the leader's Raft applies and
// CPU time per second, and its resident memory at the end.
func steadyState(servers []*benchproc.Proc) (applies, cpu float64, rss int64) {
	li := benchproc.LeaderIndex(servers)
	leader := servers[li]
	pid := leader.Cmd.Process.Pid
	a0, c0, t0 := raftApplies(leader.HTTP), cpuTime(pid), time.Now()
	time.Sleep(*window)
	a1, c1, t1 := raftApplies(leader.HTTP), cpuTime(pid), time.Now()
	log.Printf("scalebench: leader s%d: raft.apply %d → %d, CPU %v → %v over %v", li+1, a0, a1, c0, c1, t1.Sub(t0).Round(time.Millisecond))
	if benchproc.LeaderIndex(servers) != li {
		log.Printf("warning: the leader changed during the window; figures mix two servers")
	}
	rss, err := benchproc.RSS(pid)
	if err != nil {
		log.Fatal(err)
	}
	dt := t1.Sub(t0).Seconds()
	return float64(a1-a0) / dt, (c1 - c0).Seconds() / dt, rss
}

func cpuTime(pid int) time.Duration {
	d, err := benchproc.CPUTime(pid)
	if err != nil {
		log.Fatal(err)
	}
	return d
}

// raftApplies reads the raft.apply counter (commands this server proposed
// as leader) from an agent's Prometheus metrics; 0 if it has none yet.
func raftApplies(addr string) uint64 {
	resp, err := http.Get("http://" + addr + "/v1/agent/metrics?format=prometheus")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "beacon_raft_apply "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				log.Fatalf("beacon_raft_apply: %v", err)
			}
			return uint64(f)
		}
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	return 0
}

// failover transfers leadership, waits two lease TTLs and counts the
// checks that are critical or were written since: once the agents have
// settled nothing writes a check but a status change, so each is a false
// critical (or its recovery). Examples go to stderr.
func failover(servers []*benchproc.Proc) int {
	old := servers[benchproc.LeaderIndex(servers)]
	var before []check
	from, err := benchproc.GetJSONIndex(old.HTTP, "/v1/health/state/any", &before)
	if err != nil {
		log.Fatal(err)
	}
	benchproc.Do(http.MethodPost, old.HTTP, "/v1/operator/raft/transfer-leader", nil)
	waitNewLeader(servers, old)
	time.Sleep(2 * *leaseTTL)
	leader := servers[benchproc.LeaderIndex(servers)]
	var after []check
	if err := benchproc.GetJSON(leader.HTTP, "/v1/health/state/any", &after); err != nil {
		log.Fatal(err)
	}
	bad := 0
	for _, c := range after {
		if c.Status == "critical" || c.ModifyIndex > from {
			if bad < 5 {
				fmt.Fprintf(os.Stderr, "false critical across the failover: %s/%s %s %q (modify index %d > %d)\n", c.Node, c.CheckID, c.Status, c.Output, c.ModifyIndex, from)
			}
			bad++
		}
	}
	if len(after) != len(before) {
		log.Printf("warning: %d checks before the failover, %d after", len(before), len(after))
	}
	return bad
}

// waitNewLeader waits until every server names the same leader, other
// than old.
func waitNewLeader(servers []*benchproc.Proc, old *benchproc.Proc) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		leaders := map[string]bool{}
		for _, s := range servers {
			var leader string
			_ = benchproc.GetJSON(s.HTTP, "/v1/status/leader", &leader)
			leaders[leader] = true
		}
		if len(leaders) == 1 && !leaders[""] && !leaders[old.Server] {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatal("no new leader within 30s of the transfer")
}

// detectDead kills an agent and returns the time until the leader has its
// node's liveness check critical, watched with a blocking query.
func detectDead(servers []*benchproc.Proc, victim *simagent.Agent) time.Duration {
	leader := servers[benchproc.LeaderIndex(servers)]
	path := "/v1/health/node/" + victim.Name()
	var checks []check
	idx, err := benchproc.GetJSONIndex(leader.HTTP, path, &checks)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	if err := victim.Kill(); err != nil {
		log.Fatal(err)
	}
	for time.Since(start) < 3**leaseTTL+10*time.Second {
		for _, c := range checks {
			if c.CheckID == "serfHealth" && c.Status == "critical" {
				return time.Since(start)
			}
		}
		if idx, err = benchproc.GetJSONIndex(leader.HTTP, fmt.Sprintf("%s?index=%d&wait=5s", path, idx), &checks); err != nil {
			log.Fatal(err)
		}
	}
	log.Fatalf("%s: killed, but not critical after %v", victim.Name(), time.Since(start))
	return 0
}
