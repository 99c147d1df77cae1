package catalog_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

func TestKVOperations(t *testing.T) {
	type step struct {
		cmd    *catalog.KVRequest
		wantOK bool
	}
	tests := []struct {
		name      string
		steps     []step
		key       string
		wantValue string // "" with wantGone
		wantGone  bool
		wantIdx   [2]uint64 // CreateIndex, ModifyIndex of the key at the end
	}{
		{
			name:      "set then overwrite keeps CreateIndex",
			steps:     []step{{kvSet("a", "1"), true}, {kvSet("a", "2"), true}},
			key:       "a",
			wantValue: "2",
			wantIdx:   [2]uint64{1, 2},
		},
		{
			name:      "identical set is a no-op",
			steps:     []step{{kvSet("a", "1"), true}, {kvSet("a", "1"), true}},
			key:       "a",
			wantValue: "1",
			wantIdx:   [2]uint64{1, 1},
		},
		{
			name:      "cas 0 creates an absent key",
			steps:     []step{{kvOp(catalog.KVCAS, "a", "1", 0, ""), true}},
			key:       "a",
			wantValue: "1",
			wantIdx:   [2]uint64{1, 1},
		},
		{
			name:      "cas 0 fails on an existing key",
			steps:     []step{{kvSet("a", "1"), true}, {kvOp(catalog.KVCAS, "a", "2", 0, ""), false}},
			key:       "a",
			wantValue: "1",
			wantIdx:   [2]uint64{1, 1},
		},
		{
			name:      "cas with the current index succeeds",
			steps:     []step{{kvSet("a", "1"), true}, {kvOp(catalog.KVCAS, "a", "2", 1, ""), true}},
			key:       "a",
			wantValue: "2",
			wantIdx:   [2]uint64{1, 2},
		},
		{
			name:      "cas with a stale index fails",
			steps:     []step{{kvSet("a", "1"), true}, {kvSet("a", "2"), true}, {kvOp(catalog.KVCAS, "a", "3", 1, ""), false}},
			key:       "a",
			wantValue: "2",
			wantIdx:   [2]uint64{1, 2},
		},
		{
			name:     "cas with an index on an absent key fails",
			steps:    []step{{kvOp(catalog.KVCAS, "a", "1", 5, ""), false}},
			key:      "a",
			wantGone: true,
		},
		{
			name:     "delete",
			steps:    []step{{kvSet("a", "1"), true}, {kvOp(catalog.KVDelete, "a", "", 0, ""), true}},
			key:      "a",
			wantGone: true,
		},
		{
			name:     "delete of an absent key succeeds",
			steps:    []step{{kvOp(catalog.KVDelete, "a", "", 0, ""), true}},
			key:      "a",
			wantGone: true,
		},
		{
			name:      "delete-cas with a stale index fails",
			steps:     []step{{kvSet("a", "1"), true}, {kvOp(catalog.KVDeleteCAS, "a", "", 7, ""), false}},
			key:       "a",
			wantValue: "1",
			wantIdx:   [2]uint64{1, 1},
		},
		{
			name:     "delete-cas with the current index",
			steps:    []step{{kvSet("a", "1"), true}, {kvOp(catalog.KVDeleteCAS, "a", "", 1, ""), true}},
			key:      "a",
			wantGone: true,
		},
		{
			name:     "delete-cas 0 on an absent key succeeds",
			steps:    []step{{kvOp(catalog.KVDeleteCAS, "a", "", 0, ""), true}},
			key:      "a",
			wantGone: true,
		},
		{
			name:     "delete-cas with an index on an absent key fails",
			steps:    []step{{kvOp(catalog.KVDeleteCAS, "a", "", 3, ""), false}},
			key:      "a",
			wantGone: true,
		},
		{
			name:     "delete-tree",
			steps:    []step{{kvSet("a/1", "1"), true}, {kvSet("a/2", "2"), true}, {kvOp(catalog.KVDeleteTree, "a/", "", 0, ""), true}},
			key:      "a/2",
			wantGone: true,
		},
		{
			name:      "delete-tree leaves keys outside the prefix",
			steps:     []step{{kvSet("a/1", "1"), true}, {kvSet("ab", "2"), true}, {kvOp(catalog.KVDeleteTree, "a/", "", 0, ""), true}},
			key:       "ab",
			wantValue: "2",
			wantIdx:   [2]uint64{2, 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			for i, st := range tt.steps {
				r := h.apply(st.cmd)[0]
				if r.Err != nil || r.OK != st.wantOK {
					t.Fatalf("step %d (%s): OK=%v Err=%v, want OK=%v", i, st.cmd.Op, r.OK, r.Err, st.wantOK)
				}
			}
			e, _ := h.kv(tt.key)
			if tt.wantGone {
				if e != nil {
					t.Fatalf("key %q = %+v, want absent", tt.key, e)
				}
				return
			}
			if e == nil || string(e.Value) != tt.wantValue || e.CreateIndex != tt.wantIdx[0] || e.ModifyIndex != tt.wantIdx[1] {
				t.Fatalf("key %q = %+v, want value %q indexes %v", tt.key, e, tt.wantValue, tt.wantIdx)
			}
		})
	}
}

// lockSetup registers node n1 with a passing serfHealth check and session
// s1 (and s2) on it.
func lockSetup(t *testing.T, lockDelay time.Duration, behavior string) *harness {
	h := newHarness(t)
	h.ok(regCheck("n1", "serfHealth", "", catalog.HealthPassing))
	h.ok(sessionCreate("s1", "n1", lockDelay, behavior, "serfHealth"))
	h.ok(sessionCreate("s2", "n1", lockDelay, behavior, "serfHealth"))
	return h
}

func TestKVLockUnlock(t *testing.T) {
	h := lockSetup(t, 0, "")
	r := h.ok(kvOp(catalog.KVLock, "l", "a", 0, "s1"))
	e, _ := h.kv("l")
	if e.Session != "s1" || e.LockIndex != 1 || string(e.Value) != "a" || e.ModifyIndex != r.Index {
		t.Fatalf("after lock: %+v", e)
	}
	// Re-acquire by the holder: value updated, LockIndex unchanged.
	h.ok(kvOp(catalog.KVLock, "l", "b", 0, "s1"))
	if e, _ = h.kv("l"); e.LockIndex != 1 || string(e.Value) != "b" {
		t.Fatalf("after re-lock: %+v", e)
	}
	// Another session cannot take it, nor release it.
	if r := h.apply(kvOp(catalog.KVLock, "l", "c", 0, "s2"))[0]; r.OK || r.Err != nil {
		t.Fatalf("lock held by another: %+v", r)
	}
	if r := h.apply(kvOp(catalog.KVUnlock, "l", "c", 0, "s2"))[0]; r.OK || r.Err != nil {
		t.Fatalf("unlock by another: %+v", r)
	}
	// A plain set keeps the lock.
	h.ok(kvSet("l", "plain"))
	if e, _ = h.kv("l"); e.Session != "s1" || e.LockIndex != 1 {
		t.Fatalf("set dropped the lock: %+v", e)
	}
	h.ok(kvOp(catalog.KVUnlock, "l", "released", 0, "s1"))
	if e, _ = h.kv("l"); e.Session != "" || e.LockIndex != 1 || string(e.Value) != "released" {
		t.Fatalf("after unlock: %+v", e)
	}
	h.ok(kvOp(catalog.KVLock, "l", "d", 0, "s2"))
	if e, _ = h.kv("l"); e.Session != "s2" || e.LockIndex != 2 {
		t.Fatalf("second holder: %+v", e)
	}
	if r := h.apply(kvOp(catalog.KVUnlock, "missing", "", 0, "s1"))[0]; r.OK || r.Err != nil {
		t.Fatalf("unlock of a missing key: %+v", r)
	}
	r = h.apply(kvOp(catalog.KVLock, "l2", "", 0, "nope"))[0]
	if !errors.Is(r.Err, catalog.ErrSessionInvalid) || r.OK {
		t.Fatalf("lock with unknown session: %+v", r)
	}
	if e, _ := h.kv("l2"); e != nil {
		t.Fatalf("failed lock created the key: %+v", e)
	}
}

func TestKVLockDelay(t *testing.T) {
	tests := []struct {
		name     string
		behavior string
		after    time.Duration // entry time of the new acquire, after the destroy
		wantOK   bool
	}{
		{"within the delay", catalog.SessionRelease, 5 * time.Second, false},
		{"after the delay", catalog.SessionRelease, 16 * time.Second, true},
		{"delete behavior within the delay", catalog.SessionDelete, 5 * time.Second, false},
		{"delete behavior after the delay", catalog.SessionDelete, 16 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := lockSetup(t, 15*time.Second, tt.behavior)
			h.ok(kvOp(catalog.KVLock, "l", "a", 0, "s1"))
			h.ok(sessionDestroy("s1"))
			destroyed := h.now
			e, _ := h.kv("l")
			if tt.behavior == catalog.SessionDelete && e != nil {
				t.Fatalf("delete behavior kept the key: %+v", e)
			}
			if tt.behavior == catalog.SessionRelease && (e == nil || e.Session != "") {
				t.Fatalf("release behavior: %+v", e)
			}
			h.now = destroyed.Add(tt.after - time.Second) // entry() adds a second
			r := h.apply(kvOp(catalog.KVLock, "l", "b", 0, "s2"))[0]
			if r.Err != nil || r.OK != tt.wantOK {
				t.Fatalf("acquire %s after destroy: %+v, want OK=%v", tt.after, r, tt.wantOK)
			}
		})
	}
}

func TestKVTombstonesKeepPrefixIndexMonotonic(t *testing.T) {
	h := newHarness(t)
	h.ok(kvSet("p/a", "1"))
	h.ok(kvSet("p/b", "2"))
	h.ok(kvSet("other", "x"))
	list := func() uint64 {
		var idx uint64
		h.view(func(tx *catalog.ReadTx) { _, idx = tx.KVList("p/") })
		return idx
	}
	if got := list(); got != 2 {
		t.Fatalf("list index = %d, want 2", got)
	}
	r := h.ok(kvOp(catalog.KVDelete, "p/b", "", 0, ""))
	if got := list(); got != r.Index {
		t.Fatalf("list index after deleting the newest key = %d, want %d", got, r.Index)
	}
	r = h.ok(kvOp(catalog.KVDeleteTree, "p/", "", 0, ""))
	if got := list(); got != r.Index {
		t.Fatalf("list index after delete-tree = %d, want %d", got, r.Index)
	}
	h.ok(&catalog.ReapTombstonesRequest{Index: r.Index})
	h.view(func(tx *catalog.ReadTx) {
		entries, idx := tx.KVList("p/")
		if len(entries) != 0 || entries == nil {
			t.Fatalf("entries = %#v, want empty non-nil", entries)
		}
		// No entries nor tombstones: the KV table's index.
		if want := tx.TableIndex(catalog.TableKV); idx != want {
			t.Fatalf("index after reap = %d, want table index %d", idx, want)
		}
	})
}

func TestKVKeysSeparator(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{"a/b/c", "a/b/d", "a/e", "a/f/g", "b"} {
		h.ok(kvSet(k, "v"))
	}
	tests := []struct {
		prefix, sep string
		want        []string
	}{
		{"a/", "/", []string{"a/b/", "a/e", "a/f/"}},
		{"a/", "", []string{"a/b/c", "a/b/d", "a/e", "a/f/g"}},
		{"", "/", []string{"a/", "b"}},
		{"zzz", "/", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix+"|"+tt.sep, func(t *testing.T) {
			h.view(func(tx *catalog.ReadTx) {
				keys, idx := tx.KVKeys(tt.prefix, tt.sep)
				if !slices.Equal(keys, tt.want) || keys == nil || idx == 0 {
					t.Fatalf("KVKeys(%q, %q) = %q, %d; want %q", tt.prefix, tt.sep, keys, idx, tt.want)
				}
			})
		})
	}
}

func TestKVIndexOfMissingKey(t *testing.T) {
	h := newHarness(t)
	if e, idx := h.kv("x"); e != nil || idx != 1 {
		t.Fatalf("empty store: %+v, %d; want nil, 1", e, idx)
	}
	h.ok(kvSet("a", "1"))
	h.ok(kvSet("b", "1"))
	if _, idx := h.kv("x"); idx != 2 {
		t.Fatalf("missing key index = %d, want the table's 2", idx)
	}
}

// An in-memory store has no value log; it must still take the largest
// value validation allows.
func TestKVLargeValueInMemory(t *testing.T) {
	h := newHarness(t)
	big := make([]byte, catalog.MaxValueBytes)
	h.ok(&catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: "big", Value: big}})
	if e, _ := h.kv("big"); e == nil || len(e.Value) != len(big) {
		t.Fatal("large value not stored")
	}
}
