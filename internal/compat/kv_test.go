package compat

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/agent"
	"github.com/beacon-sd/beacon/internal/agenttest"
)

func client(t *testing.T, a *agent.Agent) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestKV(t *testing.T) {
	kv := client(t, agenttest.Dev(t)).KV()
	for _, k := range []string{"app/a", "app/b", "app/sub/c", "other"} {
		if _, err := kv.Put(&api.KVPair{Key: k, Value: []byte("v-" + k), Flags: 42}, nil); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	t.Run("get", func(t *testing.T) {
		p, meta, err := kv.Get("app/a", nil)
		if err != nil || p == nil || string(p.Value) != "v-app/a" || p.Flags != 42 || meta.LastIndex == 0 {
			t.Fatalf("get = %+v %+v %v", p, meta, err)
		}
		if p, _, err := kv.Get("missing", nil); p != nil || err != nil {
			t.Fatalf("get missing = %+v, %v; want nil, nil", p, err)
		}
	})
	t.Run("list and keys", func(t *testing.T) {
		ps := must[api.KVPairs](t)(func() (api.KVPairs, error) { ps, _, err := kv.List("app/", nil); return ps, err }())
		var keys []string
		for _, p := range ps {
			keys = append(keys, p.Key)
		}
		if !slices.Equal(keys, []string{"app/a", "app/b", "app/sub/c"}) {
			t.Fatalf("list = %v", keys)
		}
		got, _, err := kv.Keys("app/", "/", nil)
		if err != nil || !slices.Equal(got, []string{"app/a", "app/b", "app/sub/"}) {
			t.Fatalf("keys = %v, %v", got, err)
		}
	})
	t.Run("cas", func(t *testing.T) {
		p, _, _ := kv.Get("app/a", nil)
		ok, _, err := kv.CAS(&api.KVPair{Key: "app/a", Value: []byte("x"), ModifyIndex: p.ModifyIndex + 1000}, nil)
		if err != nil || ok {
			t.Fatalf("CAS with a wrong index = %v, %v", ok, err)
		}
		ok, _, err = kv.CAS(&api.KVPair{Key: "app/a", Value: []byte("x"), ModifyIndex: p.ModifyIndex}, nil)
		if err != nil || !ok {
			t.Fatalf("CAS with the right index = %v, %v", ok, err)
		}
		ok, _, err = kv.DeleteCAS(&api.KVPair{Key: "app/a", ModifyIndex: 1}, nil)
		if err != nil || ok {
			t.Fatalf("DeleteCAS with a wrong index = %v, %v", ok, err)
		}
	})
	t.Run("delete tree", func(t *testing.T) {
		if _, err := kv.DeleteTree("app/", nil); err != nil {
			t.Fatal(err)
		}
		ps, _, err := kv.List("app/", nil)
		if err != nil || len(ps) != 0 {
			t.Fatalf("after delete-tree list = %v, %v", ps, err)
		}
		if p, _, _ := kv.Get("other", nil); p == nil {
			t.Fatal("delete-tree app/ removed other")
		}
	})
}

func TestBlockingQueries(t *testing.T) {
	kv := client(t, agenttest.Dev(t)).KV()
	kv.Put(&api.KVPair{Key: "watched", Value: []byte("1")}, nil)
	_, meta, err := kv.Get("watched", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("times out with the same index", func(t *testing.T) {
		start := time.Now()
		_, m, err := kv.Get("watched", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 200 * time.Millisecond})
		if err != nil || m.LastIndex != meta.LastIndex {
			t.Fatalf("index %d (%v), want %d", m.LastIndex, err, meta.LastIndex)
		}
		if time.Since(start) < 200*time.Millisecond {
			t.Fatal("returned before the wait time")
		}
	})
	t.Run("returns on change", func(t *testing.T) {
		type res struct {
			p   *api.KVPair
			idx uint64
		}
		done := make(chan res, 1)
		go func() {
			p, m, _ := kv.Get("watched", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
			done <- res{p, m.LastIndex}
		}()
		time.Sleep(50 * time.Millisecond)
		kv.Put(&api.KVPair{Key: "watched", Value: []byte("2")}, nil)
		select {
		case r := <-done:
			if r.idx <= meta.LastIndex || r.p == nil || !bytes.Equal(r.p.Value, []byte("2")) {
				t.Fatalf("woke with index %d value %v", r.idx, r.p)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("blocking query did not return after the change")
		}
	})
}

func TestStatusAndRaft(t *testing.T) {
	servers := agenttest.Cluster(t, 3)
	c := client(t, servers[1])
	leader, err := c.Status().Leader()
	if err != nil || leader == "" {
		t.Fatalf("leader = %q, %v", leader, err)
	}
	peers, err := c.Status().Peers()
	if err != nil || len(peers) != 3 {
		t.Fatalf("peers = %v, %v", peers, err)
	}
	cfg, err := c.Operator().RaftGetConfiguration(nil)
	if err != nil || len(cfg.Servers) != 3 {
		t.Fatalf("raft configuration = %+v, %v", cfg, err)
	}
	leaders := 0
	for _, s := range cfg.Servers {
		if s.Leader {
			leaders++
			if s.Address != leader {
				t.Errorf("configuration leader %s, status leader %s", s.Address, leader)
			}
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders in %+v", leaders, cfg.Servers)
	}
	// Writes through any server are visible through every server.
	for i, s := range servers {
		if _, err := client(t, s).KV().Put(&api.KVPair{Key: fmt.Sprintf("k%d", i), Value: []byte("v")}, nil); err != nil {
			t.Fatalf("put via s%d: %v", i+1, err)
		}
	}
	for i, s := range servers {
		keys, _, err := client(t, s).KV().Keys("k", "", nil)
		if err != nil || len(keys) != 3 {
			t.Fatalf("keys via s%d = %v, %v", i+1, keys, err)
		}
	}
}

func TestSnapshotSaveRestore(t *testing.T) {
	c := client(t, agenttest.Dev(t))
	kv := c.KV()
	kv.Put(&api.KVPair{Key: "keep", Value: []byte("before")}, nil)
	rc, _, err := c.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if _, err := snap.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	kv.Put(&api.KVPair{Key: "keep", Value: []byte("after")}, nil)
	kv.Put(&api.KVPair{Key: "new", Value: []byte("x")}, nil)
	if err := c.Snapshot().Restore(nil, bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatalf("restore: %v", err)
	}
	p, _, err := kv.Get("keep", nil)
	if err != nil || p == nil || string(p.Value) != "before" {
		t.Fatalf("after restore keep = %v, %v", p, err)
	}
	if p, _, _ := kv.Get("new", nil); p != nil {
		t.Fatalf("after restore new = %s, want gone", p.Value)
	}
	// The store keeps working after a restore.
	if _, err := kv.Put(&api.KVPair{Key: "later", Value: []byte("y")}, nil); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := kv.Get("later", nil); p == nil {
		t.Fatal("write after restore lost")
	}
}
