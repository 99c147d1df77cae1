package catalog_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

func fired(w *catalog.Watch) bool {
	select {
	case <-w.C():
		return true
	default:
		return false
	}
}

func TestWatchWakesOnlyWhatChanged(t *testing.T) {
	tests := []struct {
		name  string
		cmd   catalog.Command
		fires map[string]bool // watch name → fires
	}{
		{"kv write", kvSet("a/b", "v"), map[string]bool{"key a/b": true, "prefix a/": true, "prefix all": true, "table kvs": true, "events": true}},
		{"kv write elsewhere", kvSet("b", "v"), map[string]bool{"prefix all": true, "table kvs": true, "events": true}},
		{"kv no-op", kvSet("a/x", "same"), map[string]bool{}},
		{"service web", regService("n1", "web", "web-1", "new"), map[string]bool{"service web": true, "table services": true, "events": true}},
		{"node n1 runs web", &catalog.RegisterRequest{Node: catalog.Node{Node: "n1", Address: "10.7.7.7"}}, map[string]bool{"service web": true, "table nodes": true, "events": true}},
		{"service db", regService("n2", "db", "db-1", "x"), map[string]bool{"service db": true, "table services": true, "events": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.ok(kvSet("a/x", "same"))
			h.ok(regService("n1", "web", "web-1"))
			h.ok(regService("n2", "db", "db-1"))
			hub := h.s.Hub()
			watches := map[string]*catalog.Watch{
				"key a/b":        hub.Watch(catalog.KVKeyWatch("a/b")),
				"prefix a/":      hub.Watch(catalog.KVPrefixWatch("a/")),
				"prefix all":     hub.Watch(catalog.KVPrefixWatch("")),
				"table kvs":      hub.Watch(catalog.TableWatch(catalog.TableKV)),
				"table services": hub.Watch(catalog.TableWatch(catalog.TableServices)),
				"table nodes":    hub.Watch(catalog.TableWatch(catalog.TableNodes)),
				"service web":    hub.Watch(catalog.ServiceWatch("web")),
				"service db":     hub.Watch(catalog.ServiceWatch("db")),
				"events":         hub.Watch(catalog.EventsWatch()),
			}
			h.ok(tt.cmd)
			for name, w := range watches {
				if got := fired(w); got != tt.fires[name] {
					t.Errorf("watch %q fired = %v, want %v", name, got, tt.fires[name])
				}
				w.Stop()
			}
		})
	}
}

func TestWatchStopAndMultipleKeys(t *testing.T) {
	h := newHarness(t)
	hub := h.s.Hub()
	stopped := hub.Watch(catalog.KVKeyWatch("k"))
	stopped.Stop()
	stopped.Stop() // idempotent
	multi := hub.Watch(catalog.KVKeyWatch("x"), catalog.KVKeyWatch("k"))
	defer multi.Stop()
	h.ok(kvSet("k", "v"))
	if fired(stopped) {
		t.Fatal("a stopped watch fired")
	}
	if !fired(multi) {
		t.Fatal("a watch on two keys did not fire for the second")
	}
	// A watch made after a change does not fire for it.
	late := hub.Watch(catalog.KVKeyWatch("k"))
	defer late.Stop()
	if fired(late) {
		t.Fatal("a watch fired for a change before it was made")
	}
}

func TestWatchHubManyWatchers(t *testing.T) {
	const n = 10_000
	h := newHarness(t)
	hub := h.s.Hub()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	watches := make([]*catalog.Watch, n)
	for i := range watches {
		key := fmt.Sprintf("svc/%05d/config", i)
		if i%2 == 0 {
			watches[i] = hub.Watch(catalog.KVKeyWatch(key))
		} else {
			watches[i] = hub.Watch(catalog.KVPrefixWatch(key))
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perWatch := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes per watch", perWatch)
	if perWatch > 8<<10 {
		t.Fatalf("%d bytes per watch, want < 8 KiB", perWatch)
	}
	for _, target := range []int{4242, 4243} {
		h.ok(kvSet(fmt.Sprintf("svc/%05d/config", target), "v"))
		for i, w := range watches {
			if got, want := fired(w), i <= target && (i == 4242 || i == 4243); got != want {
				t.Fatalf("after writing key %d: watch %d fired = %v", target, i, got)
			}
		}
	}
	for _, w := range watches {
		w.Stop()
	}
	runtime.KeepAlive(watches)
}

func TestWatchFuncRunsOnceWhenFired(t *testing.T) {
	h := newHarness(t)
	fired := make(chan struct{}, 2)
	w := h.s.Hub().WatchFunc(func() { fired <- struct{}{} }, catalog.KVKeyWatch("a"))
	stopped := h.s.Hub().WatchFunc(func() { fired <- struct{}{} }, catalog.KVKeyWatch("a"))
	stopped.Stop()
	h.apply(&catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: "b", Value: []byte("x")}})
	select {
	case <-fired:
		t.Fatal("a write to another key ran the callback")
	case <-time.After(50 * time.Millisecond):
	}
	h.apply(&catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: "a", Value: []byte("x")}})
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("the callback did not run")
	}
	select {
	case <-w.C():
	default:
		t.Fatal("C is not closed after the watch fired")
	}
	h.apply(&catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: "a", Value: []byte("y")}})
	select {
	case <-fired:
		t.Fatal("the callback ran twice, or a stopped watch's ran")
	case <-time.After(50 * time.Millisecond):
	}
}
