package catalog

import "testing"

// Stopped and fired watches leave nothing behind in the hub.
func TestWatchHubDoesNotLeak(t *testing.T) {
	h := newWatchHub()
	var ws []*Watch
	for _, p := range []string{"", "a", "a/", "a/b", "zz"} {
		ws = append(ws, h.Watch(KVPrefixWatch(p), KVKeyWatch(p+"k"), ServiceWatch(p), TableWatch(TableKV), EventsWatch()))
	}
	c := &changeSet{}
	c.addKV("a/bk")
	h.notify(c) // fires every watch but "zz"'s
	for _, w := range ws {
		w.Stop()
	}
	if len(h.exact) != 0 || len(h.prefixes) != 0 || len(h.prefixLens) != 0 || len(h.lenCount) != 0 {
		t.Fatalf("hub not empty: exact %d, prefixes %d, lens %v, counts %v", len(h.exact), len(h.prefixes), h.prefixLens, h.lenCount)
	}
}
