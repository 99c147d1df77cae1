package dockertest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestClusterInContainers runs one three-server cluster through real
// faults, in order: the last step restores a snapshot, which replaces
// the whole catalog.
func TestClusterInContainers(t *testing.T) {
	c := startCluster(t)
	t.Run("writes on any server replicate", func(t *testing.T) {
		c.t = t
		for i := range 3 {
			if err := c.put(i, fmt.Sprintf("rep/k%d", i), "v"); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			c.eventually(fmt.Sprintf("s%d to hold the three keys", i+1), 15*time.Second, func() bool {
				keys, ok := c.staleKeys(i, "rep/")
				return ok && len(keys) == 3
			})
		}
	})
	t.Run("a partitioned leader commits nothing and the majority goes on", func(t *testing.T) {
		c.t = t
		l := c.waitLeader(nil)
		mustDocker(t, "network", "disconnect", c.network, c.names[l])
		connected := false
		defer func() {
			if !connected {
				docker("network", "connect", "--ip", c.ips[l], c.network, c.names[l])
			}
		}()
		nl := c.waitLeader(others(l))
		if err := c.put(nl, "part/during", "majority"); err != nil {
			t.Fatalf("the majority's new leader s%d refused a write: %v", nl+1, err)
		}
		if out, err := c.exec(l, "kv", "put", "part/isolated", "x"); err == nil {
			t.Fatalf("the isolated old leader s%d acknowledged a write: %s", l+1, out)
		}
		if out, err := c.exec(l, "kv", "get", "part/during"); err == nil {
			t.Fatalf("the isolated s%d answered a read that needs the leader: %s", l+1, out)
		}
		mustDocker(t, "network", "connect", "--ip", c.ips[l], c.network, c.names[l])
		connected = true
		c.waitLeader(nil)
		c.eventually(fmt.Sprintf("s%d to catch up after the heal", l+1), 30*time.Second, func() bool {
			keys, ok := c.staleKeys(l, "part/")
			return ok && slices.Equal(keys, []string{"part/during"})
		})
		for i := range 3 {
			if keys, _ := c.staleKeys(i, "part/"); slices.Contains(keys, "part/isolated") {
				t.Fatalf("s%d holds the write the isolated leader refused", i+1)
			}
		}
	})
	t.Run("SIGKILL under write load loses no acknowledged write", func(t *testing.T) {
		c.t = t
		w := c.startWriter("load/")
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
		for round := range 4 {
			time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
			l := c.waitLeader(nil)
			victim := others(l)[rng.IntN(2)]
			if round == 2 {
				victim = l
			}
			mustDocker(t, "kill", c.names[victim])
			time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
			mustDocker(t, "start", c.names[victim])
			c.waitLeader(nil)
			t.Logf("round %d: killed s%d (leader was s%d)", round, victim+1, l+1)
		}
		acked := w.stop()
		c.requireAcked("load/", acked)
		var first []string
		for i := range 3 {
			c.eventually(fmt.Sprintf("s%d to hold the same keys as s1", i+1), 30*time.Second, func() bool {
				keys, ok := c.staleKeys(i, "load/")
				if i == 0 {
					first = keys
				}
				return ok && slices.Equal(keys, first)
			})
		}
		t.Logf("%d writes acknowledged, all on every server; %d keys in all", len(acked), len(first))
	})
	t.Run("all three killed at once lose no acknowledged write", func(t *testing.T) {
		// Every server's process dies at the same moment under load, then
		// all come back on their own data. (Not a power cut: the kernel's
		// page cache outlives the processes; the in-process crash test in
		// raftstore is no closer to one either.)
		c.t = t
		w := c.startWriter("power/")
		time.Sleep(2 * time.Second)
		mustDocker(t, append([]string{"kill"}, c.names[:3]...)...)
		acked := w.stop()
		mustDocker(t, append([]string{"start"}, c.names[:3]...)...)
		c.waitLeader(nil)
		c.requireAcked("power/", acked)
		t.Logf("%d writes acknowledged before all three were killed; all present after the restart", len(acked))
	})
	t.Run("a server whose data is lost rejoins and catches up", func(t *testing.T) {
		// A disk replaced: a follower's container is recreated with an
		// empty data dir, same name and address, without an operator
		// removing it first. It must join the cluster it belonged to
		// (not bootstrap another) and receive everything.
		c.t = t
		l := c.waitLeader(nil)
		f := others(l)[0]
		want, ok := c.staleKeys(l, "")
		if !ok || len(want) == 0 {
			t.Fatalf("the leader's keys: %d, %v", len(want), ok)
		}
		mustDocker(t, "rm", "-f", c.names[f])
		c.runServer(f)
		c.waitLeader(nil)
		c.eventually(fmt.Sprintf("s%d, started empty, to hold the leader's %d keys", f+1, len(want)), 60*time.Second, func() bool {
			keys, ok := c.staleKeys(f, "")
			if !ok || len(keys) < len(want) {
				return false
			}
			for _, k := range want {
				if _, found := slices.BinarySearch(keys, k); !found {
					return false
				}
			}
			return true
		})
		var peers []string
		if !c.getJSON(c.url(l, "/v1/status/peers"), &peers) || len(peers) != 3 {
			t.Fatalf("peers after the rejoin: %v", peers)
		}
		if err := c.put(f, "rejoined/k", "v"); err != nil {
			t.Fatalf("a write through the rejoined server: %v", err)
		}
	})
	t.Run("a client agent keeps serving when its server is killed", func(t *testing.T) {
		c.t = t
		l := c.waitLeader(nil)
		first := others(l)[0] // a follower: killing it keeps the leader
		order := append([]int{first}, slices.DeleteFunc([]int{0, 1, 2}, func(i int) bool { return i == first })...)
		ci := c.startClient("c1", order)
		if err := c.putURL(c.clientURL(ci, "/v1/kv/client/before"), "x"); err != nil {
			t.Fatalf("write through the client agent: %v", err)
		}
		mustDocker(t, "kill", c.names[first])
		defer func() {
			docker("start", c.names[first])
			c.waitLeader(nil)
		}()
		killed := time.Now()
		c.eventually("a write through the client agent after its server was killed", 30*time.Second, func() bool {
			return c.putURL(c.clientURL(ci, "/v1/kv/client/after"), "y") == nil
		})
		t.Logf("the client agent wrote again %v after its server was killed", time.Since(killed).Round(time.Millisecond))
		var v []struct{ Value []byte }
		if !c.getJSON(c.clientURL(ci, "/v1/kv/client/before"), &v) || len(v) != 1 || string(v[0].Value) != "x" {
			t.Fatalf("read through the client agent after the kill: %+v", v)
		}
	})
	t.Run("a client agent keeps serving when its server is cut off", func(t *testing.T) {
		// Unlike a killed container, a server cut off from the network
		// answers nothing, not even a reset: requests on connections the
		// client agent holds to it get no answer at all.
		c.t = t
		l := c.waitLeader(nil)
		first := others(l)[0]
		order := append([]int{first}, slices.DeleteFunc([]int{0, 1, 2}, func(i int) bool { return i == first })...)
		ci := c.startClient("c2", order)
		if err := c.putURL(c.clientURL(ci, "/v1/kv/client/cut-before"), "x"); err != nil {
			t.Fatalf("write through the client agent: %v", err)
		}
		// A blocking query waiting on that server when it is cut off (as
		// consul-template's would be) must not wait out its 5 minutes on
		// a dead connection.
		if err := c.putURL(c.clientURL(ci, "/v1/kv/client/watched"), "0"); err != nil {
			t.Fatal(err)
		}
		idx := c.index(c.clientURL(ci, "/v1/kv/client/watched"))
		type answer struct {
			value string
			err   error
		}
		blocked := make(chan answer, 1)
		go func() {
			var v []struct{ Value []byte }
			resp, err := (&http.Client{Timeout: 3 * time.Minute}).Get(c.clientURL(ci, fmt.Sprintf("/v1/kv/client/watched?index=%d&wait=5m", idx)))
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&v)
				resp.Body.Close()
			}
			if err == nil && len(v) != 1 {
				err = fmt.Errorf("%d entries", len(v))
			}
			if err != nil {
				blocked <- answer{err: err}
				return
			}
			blocked <- answer{value: string(v[0].Value)}
		}()
		time.Sleep(500 * time.Millisecond) // the query reaches the server and waits
		mustDocker(t, "network", "disconnect", c.network, c.names[first])
		defer func() {
			docker("network", "connect", "--ip", c.ips[first], c.network, c.names[first])
			c.waitLeader(nil)
		}()
		// An application that waits as long as it takes: the client agent
		// must give up on the silent server within its forwarding deadline
		// (15 s), not hold the request forever, and ask the next server:
		// a read then gets its answer.
		cut := time.Now()
		patient := &http.Client{Timeout: 3 * time.Minute}
		resp, err := patient.Get(c.clientURL(ci, "/v1/kv/client/cut-before"))
		took := time.Since(cut)
		if err != nil {
			t.Fatalf("the first read after the cut: %v (after %v)", err, took)
		}
		resp.Body.Close()
		t.Logf("the first read after the cut answered %s after %v", resp.Status, took.Round(time.Millisecond))
		if resp.StatusCode != http.StatusOK || took > 25*time.Second {
			t.Fatalf("the first read after the cut answered %s after %v; want 200 within 25 s", resp.Status, took)
		}
		if err := c.putURL(c.clientURL(ci, "/v1/kv/client/cut-after"), "y"); err != nil {
			t.Fatalf("a write through the client agent after it moved: %v", err)
		}
		// The change the blocking query waits for, written through a
		// server of the majority.
		if err := c.put(others(first)[0], "client/watched", "1"); err != nil {
			t.Fatal(err)
		}
		select {
		case a := <-blocked:
			if a.err != nil || a.value != "1" {
				t.Fatalf("the blocking query answered %q, %v; want the new value", a.value, a.err)
			}
			t.Logf("the blocking query answered the change %v after its server was cut off", time.Since(cut).Round(time.Millisecond))
		case <-time.After(60 * time.Second):
			t.Fatalf("the blocking query still waits %v after its server was cut off", time.Since(cut).Round(time.Second))
		}
	})
	t.Run("the CLI and snapshots work in an image FROM scratch", func(t *testing.T) {
		c.t = t
		l := c.waitLeader(nil)
		run := func(args ...string) string {
			t.Helper()
			out, err := c.exec(l, args...)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		run("kv", "put", "snap/k", "before")
		if out := run("snapshot", "save", "/data/test.snap"); !strings.Contains(out, "Saved") {
			t.Fatalf("snapshot save printed %q", out)
		}
		run("kv", "put", "snap/k", "after")
		run("snapshot", "restore", "/data/test.snap")
		if got := run("kv", "get", "snap/k"); got != "before" {
			t.Fatalf("snap/k after restore = %q, want before", got)
		}
		for i := range 3 {
			c.eventually(fmt.Sprintf("s%d to hold the restored value", i+1), 30*time.Second, func() bool {
				var v []struct{ Value []byte }
				return c.getJSON(c.url(i, "/v1/kv/snap/k?stale"), &v) && len(v) == 1 && string(v[0].Value) == "before"
			})
		}
	})
}
