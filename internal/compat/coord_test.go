package compat

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/agenttest"
)

// createSession creates a session, failing the test on error.
func createSession(t *testing.T, c *api.Client, se *api.SessionEntry) string {
	t.Helper()
	id, _, err := c.Session().Create(se, nil)
	if err != nil || id == "" {
		t.Fatalf("create session %+v: %q, %v", se, id, err)
	}
	return id
}

func TestSessions(t *testing.T) {
	t.Parallel()
	c := client(t, agenttest.Dev(t))
	waitRegistered(t, c, "dev")
	s := c.Session()
	def := createSession(t, c, nil)
	eph := createSession(t, c, &api.SessionEntry{Name: "eph", Behavior: api.SessionBehaviorDelete, TTL: "10s"})
	t.Run("info", func(t *testing.T) {
		se, _, err := s.Info(def, nil)
		if err != nil || se == nil {
			t.Fatalf("info = %+v, %v", se, err)
		}
		if se.ID != def || se.Node != "dev" || se.Behavior != api.SessionBehaviorRelease || se.LockDelay != 15*time.Second ||
			se.TTL != "" || !slices.Contains(se.NodeChecks, "serfHealth") || se.CreateIndex == 0 {
			t.Fatalf("default session = %+v, want node dev, release, lock delay 15s, no TTL, serfHealth", se)
		}
		se, _, err = s.Info(eph, nil)
		if err != nil || se == nil || se.Name != "eph" || se.Behavior != api.SessionBehaviorDelete || se.TTL != "10s" {
			t.Fatalf("eph session = %+v, %v", se, err)
		}
		if se, _, err := s.Info("00000000-0000-0000-0000-000000000000", nil); err != nil || se != nil {
			t.Fatalf("info of an unknown session = %+v, %v; want nil, nil", se, err)
		}
	})
	t.Run("list and node", func(t *testing.T) {
		for name, list := range map[string]func() ([]*api.SessionEntry, *api.QueryMeta, error){
			"list": func() ([]*api.SessionEntry, *api.QueryMeta, error) { return s.List(nil) },
			"node": func() ([]*api.SessionEntry, *api.QueryMeta, error) { return s.Node("dev", nil) },
		} {
			entries, meta, err := list()
			if err != nil || meta.LastIndex == 0 {
				t.Fatalf("%s: %v (meta %+v)", name, err, meta)
			}
			var ids []string
			for _, e := range entries {
				ids = append(ids, e.ID)
			}
			slices.Sort(ids)
			want := []string{def, eph}
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Fatalf("%s = %v, want %v", name, ids, want)
			}
		}
		if entries, _, err := s.Node("nope", nil); err != nil || len(entries) != 0 {
			t.Fatalf("sessions of node nope = %+v, %v", entries, err)
		}
	})
	t.Run("renew", func(t *testing.T) {
		se, _, err := s.Renew(eph, nil)
		if err != nil || se == nil || se.ID != eph || se.TTL != "10s" {
			t.Fatalf("renew = %+v, %v", se, err)
		}
		if se, _, err := s.Renew("00000000-0000-0000-0000-000000000000", nil); err != nil || se != nil {
			t.Fatalf("renew of an unknown session = %+v, %v; want nil, nil", se, err)
		}
	})
	t.Run("destroy", func(t *testing.T) {
		if _, err := s.Destroy(def, nil); err != nil {
			t.Fatal(err)
		}
		if se, _, err := s.Info(def, nil); err != nil || se != nil {
			t.Fatalf("info after destroy = %+v, %v", se, err)
		}
		entries, _, err := s.List(nil)
		if err != nil || len(entries) != 1 || entries[0].ID != eph {
			t.Fatalf("list after destroy = %+v, %v", entries, err)
		}
	})
}

func TestSessionLocks(t *testing.T) {
	t.Parallel()
	c := client(t, agenttest.Dev(t))
	waitRegistered(t, c, "dev")
	kv := c.KV()
	s1 := createSession(t, c, &api.SessionEntry{Name: "s1"})
	s2 := createSession(t, c, &api.SessionEntry{Name: "s2"})
	t.Run("acquire and release", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			op   func() (bool, *api.WriteMeta, error)
			want bool
		}{
			{"s1 acquires", func() (bool, *api.WriteMeta, error) {
				return kv.Acquire(&api.KVPair{Key: "lock", Value: []byte("s1"), Session: s1}, nil)
			}, true},
			{"s1 acquires again", func() (bool, *api.WriteMeta, error) {
				return kv.Acquire(&api.KVPair{Key: "lock", Value: []byte("s1 again"), Session: s1}, nil)
			}, true},
			{"s2 cannot acquire", func() (bool, *api.WriteMeta, error) {
				return kv.Acquire(&api.KVPair{Key: "lock", Value: []byte("s2"), Session: s2}, nil)
			}, false},
			{"s2 cannot release", func() (bool, *api.WriteMeta, error) {
				return kv.Release(&api.KVPair{Key: "lock", Session: s2}, nil)
			}, false},
		} {
			ok, _, err := tc.op()
			if err != nil || ok != tc.want {
				t.Fatalf("%s: %v, %v; want %v", tc.name, ok, err, tc.want)
			}
		}
		p, _, err := kv.Get("lock", nil)
		if err != nil || p == nil || p.Session != s1 || p.LockIndex != 1 || string(p.Value) != "s1 again" {
			t.Fatalf("held lock = %+v, %v; want session s1, lock index 1", p, err)
		}
		if ok, _, err := kv.Release(&api.KVPair{Key: "lock", Session: s1}, nil); err != nil || !ok {
			t.Fatalf("s1 releases: %v, %v", ok, err)
		}
		p, _, err = kv.Get("lock", nil)
		if err != nil || p == nil || p.Session != "" || p.LockIndex != 1 {
			t.Fatalf("released lock = %+v, %v", p, err)
		}
		// A release sets no lock delay: s2 may take it at once.
		if ok, _, err := kv.Acquire(&api.KVPair{Key: "lock", Session: s2}, nil); err != nil || !ok {
			t.Fatalf("s2 acquires after the release: %v, %v", ok, err)
		}
		if p, _, _ := kv.Get("lock", nil); p == nil || p.LockIndex != 2 || p.Session != s2 {
			t.Fatalf("lock taken by s2 = %+v, want lock index 2", p)
		}
	})
	t.Run("destroy releases", func(t *testing.T) {
		rel := createSession(t, c, &api.SessionEntry{LockDelay: time.Millisecond})
		if ok, _, err := kv.Acquire(&api.KVPair{Key: "held/release", Value: []byte("v"), Session: rel}, nil); err != nil || !ok {
			t.Fatalf("acquire: %v, %v", ok, err)
		}
		if _, err := c.Session().Destroy(rel, nil); err != nil {
			t.Fatal(err)
		}
		p, _, err := kv.Get("held/release", nil)
		if err != nil || p == nil || p.Session != "" || string(p.Value) != "v" {
			t.Fatalf("key of a destroyed release session = %+v, %v; want kept, unlocked", p, err)
		}
	})
	t.Run("destroy deletes", func(t *testing.T) {
		del := createSession(t, c, &api.SessionEntry{Behavior: api.SessionBehaviorDelete, TTL: "10s"})
		if ok, _, err := kv.Acquire(&api.KVPair{Key: "held/delete", Value: []byte("v"), Session: del}, nil); err != nil || !ok {
			t.Fatalf("acquire: %v, %v", ok, err)
		}
		if _, err := c.Session().Destroy(del, nil); err != nil {
			t.Fatal(err)
		}
		if p, _, err := kv.Get("held/delete", nil); err != nil || p != nil {
			t.Fatalf("key of a destroyed delete session = %+v, %v; want deleted", p, err)
		}
	})
	t.Run("lock delay", func(t *testing.T) {
		holder := createSession(t, c, &api.SessionEntry{LockDelay: time.Second})
		next := createSession(t, c, nil)
		if ok, _, err := kv.Acquire(&api.KVPair{Key: "delayed", Session: holder}, nil); err != nil || !ok {
			t.Fatalf("acquire: %v, %v", ok, err)
		}
		start := time.Now()
		if _, err := c.Session().Destroy(holder, nil); err != nil {
			t.Fatal(err)
		}
		if ok, _, err := kv.Acquire(&api.KVPair{Key: "delayed", Session: next}, nil); err != nil || ok {
			t.Fatalf("acquire right after the holder was destroyed: %v, %v; want refused (lock delay)", ok, err)
		}
		agenttest.Eventually(t, 5*time.Second, func() error {
			ok, _, err := kv.Acquire(&api.KVPair{Key: "delayed", Session: next}, nil)
			if err != nil || !ok {
				return fmt.Errorf("acquire %v after destroy: %v, %v", time.Since(start), ok, err)
			}
			return nil
		})
		if d := time.Since(start); d < time.Second {
			t.Fatalf("acquired %v after the holder was destroyed, before its 1s lock delay", d)
		}
	})
}

func TestTxn(t *testing.T) {
	t.Parallel()
	c := client(t, agenttest.Dev(t))
	kv := c.KV()
	if _, err := kv.Put(&api.KVPair{Key: "txn/existing", Value: []byte("old")}, nil); err != nil {
		t.Fatal(err)
	}
	existing, _, _ := kv.Get("txn/existing", nil)
	t.Run("commit", func(t *testing.T) {
		ok, resp, _, err := c.Txn().Txn(api.TxnOps{
			{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "txn/a", Value: []byte("1"), Flags: 7}},
			{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "txn/b", Value: []byte("2")}},
			{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: "txn/existing", Index: existing.ModifyIndex}},
			{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: "txn/c"}},
			{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "txn/a"}},
			{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: "txn/existing"}},
		}, nil)
		if err != nil || !ok {
			t.Fatalf("txn = %v, %+v, %v", ok, resp, err)
		}
		// Consul answers a result for each op that reads or writes an
		// entry: not for check-not-exists or delete.
		if len(resp.Errors) != 0 || len(resp.Results) != 4 {
			t.Fatalf("txn: %d results, errors %+v; want 4 results (set, set, check-index, get)", len(resp.Results), resp.Errors)
		}
		got := resp.Results[3].KV
		if got == nil || got.Key != "txn/a" || string(got.Value) != "1" || got.Flags != 7 || got.ModifyIndex == 0 {
			t.Fatalf("get result = %+v", got)
		}
		if set := resp.Results[0].KV; set == nil || set.Key != "txn/a" || set.Value != nil || set.ModifyIndex != got.ModifyIndex {
			t.Fatalf("set result = %+v, want the key's entry without its value", set)
		}
		for key, want := range map[string]string{"txn/a": "1", "txn/b": "2"} {
			if p, _, err := kv.Get(key, nil); err != nil || p == nil || string(p.Value) != want {
				t.Fatalf("%s after the txn = %+v, %v", key, p, err)
			}
		}
		if p, _, _ := kv.Get("txn/existing", nil); p != nil {
			t.Fatalf("txn/existing after a txn deleting it = %+v", p)
		}
	})
	t.Run("rollback", func(t *testing.T) {
		a, _, _ := kv.Get("txn/a", nil)
		ok, resp, _, err := c.Txn().Txn(api.TxnOps{
			{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "txn/rolled-back", Value: []byte("x")}},
			{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "txn/a", Value: []byte("changed")}},
			{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: "txn/a", Index: a.ModifyIndex + 100}},
		}, nil)
		if err != nil || ok {
			t.Fatalf("txn with a failing check-index = %v, %v; want false, nil", ok, err)
		}
		if len(resp.Errors) != 1 || resp.Errors[0].OpIndex != 2 || resp.Errors[0].What == "" || len(resp.Results) != 0 {
			t.Fatalf("rolled back txn: results %+v errors %+v; want one error for op 2", resp.Results, resp.Errors)
		}
		if p, _, _ := kv.Get("txn/rolled-back", nil); p != nil {
			t.Fatalf("rolled back set is visible: %+v", p)
		}
		if p, _, _ := kv.Get("txn/a", nil); p == nil || string(p.Value) != "1" {
			t.Fatalf("txn/a after the rollback = %+v", p)
		}
	})
}

// interval is the time a contender held a lock: from just after it got the
// lock to just before it released it.
type interval struct {
	who        string
	start, end time.Time
}

func TestLock(t *testing.T) {
	t.Parallel()
	servers := agenttest.Cluster(t, 3)
	// Two contenders, each reaching the cluster through a different
	// server: one through s1 directly, one through a client agent of s2.
	contenders := map[string]*api.Client{
		"a": client(t, servers[0]),
		"b": client(t, agenttest.Client(t, "c1", servers[1])),
	}
	waitRegistered(t, contenders["a"], "s1")
	waitRegistered(t, contenders["a"], "c1")
	t.Run("session through a client agent", func(t *testing.T) {
		id := createSession(t, contenders["b"], nil)
		se, _, err := contenders["a"].Session().Info(id, nil)
		if err != nil || se == nil || se.Node != "c1" {
			t.Fatalf("session created through client agent c1 = %+v, %v; want it on node c1", se, err)
		}
		if _, err := contenders["b"].Session().Destroy(id, nil); err != nil {
			t.Fatal(err)
		}
	})
	newLock := func(t *testing.T, c *api.Client) *api.Lock {
		l, err := c.LockOpts(&api.LockOptions{Key: "service/leader", SessionTTL: "10s", LockWaitTime: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	var (
		mu        sync.Mutex
		intervals []interval
	)
	hold := func(t *testing.T, who string, l *api.Lock, d time.Duration) {
		lost, err := l.Lock(nil)
		if err != nil || lost == nil {
			t.Errorf("%s: lock = %v, %v", who, lost, err)
			return
		}
		iv := interval{who: who, start: time.Now()}
		select {
		case <-lost:
			t.Errorf("%s lost the lock while holding it", who)
		case <-time.After(d):
		}
		iv.end = time.Now()
		mu.Lock()
		intervals = append(intervals, iv)
		mu.Unlock()
		if err := l.Unlock(); err != nil {
			t.Errorf("%s: unlock: %v", who, err)
		}
	}

	t.Run("second waits for the first", func(t *testing.T) {
		first, second := newLock(t, contenders["a"]), newLock(t, contenders["b"])
		lost, err := first.Lock(nil)
		if err != nil || lost == nil {
			t.Fatalf("a: lock = %v, %v", lost, err)
		}
		got := make(chan time.Time, 1)
		go func() {
			if lost, err := second.Lock(nil); err != nil || lost == nil {
				t.Errorf("b: lock = %v, %v", lost, err)
			}
			got <- time.Now()
		}()
		select {
		case <-got:
			t.Fatal("b got the lock a holds")
		case <-time.After(300 * time.Millisecond):
		}
		unlocked := time.Now()
		if err := first.Unlock(); err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-got:
			if at.Before(unlocked) {
				t.Fatalf("b got the lock at %v, before a unlocked it at %v", at, unlocked)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("b did not get the lock after a unlocked it")
		}
		if err := second.Unlock(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("never held twice", func(t *testing.T) {
		var wg sync.WaitGroup
		for who, c := range contenders {
			wg.Go(func() {
				l := newLock(t, c)
				for range 3 {
					hold(t, who, l, 100*time.Millisecond)
				}
			})
		}
		wg.Wait()
		slices.SortFunc(intervals, func(x, y interval) int { return x.start.Compare(y.start) })
		if len(intervals) != 6 {
			t.Fatalf("%d holds recorded, want 6", len(intervals))
		}
		for i := 1; i < len(intervals); i++ {
			prev, cur := intervals[i-1], intervals[i]
			if cur.start.Before(prev.end) {
				t.Fatalf("%s held the lock from %v while %s held it until %v", cur.who, cur.start, prev.who, prev.end)
			}
		}
	})
}

func TestSemaphore(t *testing.T) {
	t.Parallel()
	servers := agenttest.Cluster(t, 3)
	for _, name := range []string{"s1", "s2", "s3"} {
		waitRegistered(t, client(t, servers[0]), name)
	}
	newSem := func(t *testing.T, i int) *api.Semaphore {
		sem, err := client(t, servers[i%len(servers)]).SemaphoreOpts(&api.SemaphoreOptions{
			Prefix: "service/workers", Limit: 2, SessionTTL: "10s", SemaphoreWaitTime: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return sem
	}
	t.Run("third waits", func(t *testing.T) {
		sems := []*api.Semaphore{newSem(t, 0), newSem(t, 1), newSem(t, 2)}
		for i, sem := range sems[:2] {
			if lost, err := sem.Acquire(nil); err != nil || lost == nil {
				t.Fatalf("contender %d: acquire = %v, %v", i, lost, err)
			}
		}
		got := make(chan struct{})
		go func() {
			defer close(got)
			if lost, err := sems[2].Acquire(nil); err != nil || lost == nil {
				t.Errorf("contender 2: acquire = %v, %v", lost, err)
			}
		}()
		select {
		case <-got:
			t.Fatal("a third contender acquired a semaphore of limit 2")
		case <-time.After(300 * time.Millisecond):
		}
		if err := sems[0].Release(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("the third contender did not acquire after a holder released")
		}
		for _, sem := range sems[1:] {
			if err := sem.Release(); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("never more than the limit", func(t *testing.T) {
		var holders, most atomic.Int32
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				sem := newSem(t, i)
				for range 3 {
					lost, err := sem.Acquire(nil)
					if err != nil || lost == nil {
						t.Errorf("contender %d: acquire = %v, %v", i, lost, err)
						return
					}
					n := holders.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(100 * time.Millisecond) // hold the slot
					holders.Add(-1)
					if err := sem.Release(); err != nil {
						t.Errorf("contender %d: release: %v", i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if m := most.Load(); m > 2 {
			t.Fatalf("%d holders at once, limit 2", m)
		}
	})
}

func TestMembersAndSelf(t *testing.T) {
	t.Parallel()
	servers := agenttest.Cluster(t, 3)
	cl := agenttest.Client(t, "c1", servers[0])
	t.Run("members", func(t *testing.T) {
		want := map[string]string{"s1": "consul", "s2": "consul", "s3": "consul", "c1": "node"}
		for _, via := range []string{"s2", "c1"} {
			a := servers[1]
			if via == "c1" {
				a = cl
			}
			agenttest.Eventually(t, 5*time.Second, func() error {
				ms, err := client(t, a).Agent().Members(false)
				if err != nil {
					return err
				}
				got := map[string]string{}
				for _, m := range ms {
					if m.Status != 1 /* serf.StatusAlive */ || m.Addr == "" || m.Tags["dc"] != "dc1" {
						return fmt.Errorf("member %+v: want alive, with an address, in dc1", m)
					}
					got[m.Name] = m.Tags["role"]
				}
				if len(got) != len(want) {
					return fmt.Errorf("members via %s = %v, want %v", via, got, want)
				}
				for name, role := range want {
					if got[name] != role {
						return fmt.Errorf("members via %s = %v, want %v", via, got, want)
					}
				}
				return nil
			})
		}
	})
	t.Run("self", func(t *testing.T) {
		for name, tc := range map[string]struct {
			c      *api.Client
			server bool
		}{"s1": {client(t, servers[0]), true}, "c1": {client(t, cl), false}} {
			self, err := tc.c.Agent().Self()
			if err != nil {
				t.Fatal(err)
			}
			cfg, member := self["Config"], self["Member"]
			if cfg["NodeName"] != name || cfg["Datacenter"] != "dc1" || cfg["Server"] != tc.server || cfg["NodeID"] == "" || cfg["Version"] == "" {
				t.Fatalf("self of %s: Config = %v", name, cfg)
			}
			if member["Name"] != name {
				t.Fatalf("self of %s: Member = %v", name, member)
			}
			nodeName, err := tc.c.Agent().NodeName()
			if err != nil || nodeName != name {
				t.Fatalf("NodeName() = %q, %v; want %s", nodeName, err, name)
			}
		}
	})
}

// TestSessionTTLExpiry: a TTL session renewed with consul/api's
// RenewPeriodic lives on; one left alone is invalidated by the leader
// within twice its TTL (Consul's multiplier), releasing its lock.
func TestSessionTTLExpiry(t *testing.T) {
	t.Parallel()
	c := client(t, agenttest.Dev(t))
	waitRegistered(t, c, "dev")
	s := c.Session()
	kept := createSession(t, c, &api.SessionEntry{Name: "kept", TTL: "10s", LockDelay: time.Nanosecond})
	left := createSession(t, c, &api.SessionEntry{Name: "left", TTL: "10s", LockDelay: time.Nanosecond})
	stop := make(chan struct{})
	renewed := make(chan error, 1)
	go func() { renewed <- s.RenewPeriodic("10s", kept, nil, stop) }()
	defer func() {
		close(stop)
		if err := <-renewed; err != nil {
			t.Errorf("RenewPeriodic: %v", err)
		}
	}()
	if ok, _, err := c.KV().Acquire(&api.KVPair{Key: "ttl/lock", Session: left}, nil); err != nil || !ok {
		t.Fatalf("acquire with the session to expire: %v, %v", ok, err)
	}
	created := time.Now()
	agenttest.Eventually(t, 30*time.Second, func() error {
		if se, _, err := s.Info(left, nil); err != nil || se != nil {
			return fmt.Errorf("unrenewed session still there (%v) after %s", err, time.Since(created).Round(time.Second))
		}
		return nil
	})
	if d := time.Since(created); d < 10*time.Second {
		t.Fatalf("a 10s TTL session was invalidated after only %s", d)
	}
	kv, _, err := c.KV().Get("ttl/lock", nil)
	if err != nil || kv == nil || kv.Session != "" {
		t.Fatalf("the expired session's lock = %+v, %v; want released", kv, err)
	}
	if se, _, err := s.Info(kept, nil); err != nil || se == nil {
		t.Fatalf("renewed session = %v, %v; want it alive", se, err)
	}
}
