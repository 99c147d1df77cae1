package catalog_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/beacon-sd/beacon/catalog"
)

func TestApplyAndView(t *testing.T) {
	h := newHarness(t)
	res := h.apply(kvSet("a", "1"), kvSet("b", "2"), regService("n1", "web", "web-1"))
	for i, r := range res {
		if r.Err != nil || !r.OK || r.Index != uint64(i+1) {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	if got := h.s.AppliedIndex(); got != 3 {
		t.Fatalf("AppliedIndex = %d, want 3", got)
	}
	e, idx := h.kv("a")
	if e == nil || string(e.Value) != "1" || idx != 1 || e.CreateIndex != 1 {
		t.Fatalf("KV(a) = %+v, %d", e, idx)
	}
	h.view(func(tx *catalog.ReadTx) {
		nodes, idx := tx.ServiceNodes("web", "")
		if len(nodes) != 1 || nodes[0].Node.Node != "n1" || nodes[0].Service.ID != "web-1" || idx != 3 {
			t.Fatalf("ServiceNodes = %+v, %d", nodes, idx)
		}
		if got := tx.CurrentRevision(); got != 3 {
			t.Fatalf("CurrentRevision = %d", got)
		}
	})
}

func TestSkipAppliedAfterReopen(t *testing.T) {
	dir := t.TempDir()
	opts := catalog.DefaultOptions()
	opts.Dir = dir
	h := newHarnessOpts(t, opts)
	for i := 1; i <= 10; i++ {
		h.ok(kvSet(fmt.Sprintf("k%02d", i), "v"))
	}
	before := h.hash()
	// Keep entries 5..12 to re-present after the reopen.
	var replay []catalog.Entry
	h.idx, h.now = 4, t0.Add(4e9)
	for i := 5; i <= 12; i++ {
		replay = append(replay, h.entry(kvSet(fmt.Sprintf("k%02d", i), "new")))
	}
	if err := h.s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := catalog.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.AppliedIndex(); got != 10 {
		t.Fatalf("AppliedIndex after reopen = %d, want 10", got)
	}
	if got, _ := s2.Hash(); got != before {
		t.Fatalf("hash changed across reopen")
	}
	res, err := s2.ApplyBatch(replay)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Index != replay[i].Index || !r.OK || r.Err != nil {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	err = s2.View(func(tx *catalog.ReadTx) error {
		for i := 5; i <= 12; i++ {
			e, _ := tx.KV(fmt.Sprintf("k%02d", i))
			want := "v"
			if i > 10 {
				want = "new"
			}
			if e == nil || string(e.Value) != want {
				t.Errorf("k%02d = %+v, want value %q", i, e, want)
			}
		}
		return nil
	})
	if err != nil || s2.AppliedIndex() != 12 {
		t.Fatalf("View: %v, AppliedIndex %d", err, s2.AppliedIndex())
	}
}

// populate applies a bit of everything.
func populate(h *harness) {
	h.ok(regService("n1", "web", "web-1", "v1"))
	h.ok(regService("n2", "web", "web-2", "v2"))
	h.ok(regCheck("n1", "serfHealth", "", catalog.HealthPassing))
	h.ok(regCheck("n1", "web-check", "web-1", catalog.HealthPassing))
	h.ok(sessionCreate("s1", "n1", 0, "", "serfHealth"))
	h.ok(kvOp(catalog.KVLock, "lock/a", "x", 0, "s1"))
	for i := 0; i < 50; i++ {
		h.ok(kvSet(fmt.Sprintf("kv/%03d", i), "value"))
	}
	h.ok(kvOp(catalog.KVDelete, "kv/007", "", 0, ""))
}

func TestSnapshotRestore(t *testing.T) {
	src := newHarness(t)
	populate(src)
	sn, err := src.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := src.hash()
	// Applies after the snapshot must not leak into it.
	src.ok(kvSet("after", "snapshot"))
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	sn.Close()

	dst := newHarnessOpts(t, catalog.Options{Dir: t.TempDir()})
	dst.ok(kvSet("old", "state"))
	w := dst.s.Hub().Watch(catalog.KVKeyWatch("old"))
	defer w.Stop()
	if err := dst.s.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := dst.hash(); got != want {
		t.Fatalf("restored hash differs")
	}
	if got := dst.s.AppliedIndex(); got != sn.Index() {
		t.Fatalf("AppliedIndex after restore = %d, want %d", got, sn.Index())
	}
	select {
	case <-w.C():
	default:
		t.Fatal("restore did not fire watches")
	}
	// The restored store keeps applying, in step with the source.
	dst.idx, dst.now = src.idx-1, src.now.Add(-1e9)
	dst.ok(kvSet("after", "snapshot"))
	if dst.hash() != src.hash() {
		t.Fatal("stores diverged after applying the same entry")
	}
}

func TestRestoreRejectsCorruptSnapshot(t *testing.T) {
	src := newHarness(t)
	populate(src)
	good := snapshotBytes(t, src.s)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bad magic", flip(0)},
		{"bad version", flip(10)},
		{"truncated header", good[:10]},
		{"truncated middle", good[:len(good)/2]},
		{"truncated checksum", good[:len(good)-5]},
		{"flipped record byte", flip(len(good) / 2)},
		{"flipped checksum", flip(len(good) - 1)},
		{"trailing data", append(bytes.Clone(good), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := newHarness(t)
			dst.ok(kvSet("keep", "me"))
			before := dst.hash()
			err := dst.s.Restore(bytes.NewReader(tt.data))
			if !errors.Is(err, catalog.ErrCorruptSnapshot) {
				t.Fatalf("Restore error = %v, want ErrCorruptSnapshot", err)
			}
			if dst.hash() != before || dst.s.AppliedIndex() != 1 {
				t.Fatal("a rejected snapshot changed the state")
			}
		})
	}
}

func TestHashIgnoresAppliedIndexOnly(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	a.ok(kvSet("k", "v"))
	b.ok(kvSet("k", "v"))
	if a.hash() != b.hash() {
		t.Fatal("same log, different hash")
	}
	// A configuration entry advances only the applied index.
	a.idx++
	a.applyEntries(catalog.Entry{Index: a.idx, Time: a.now, Config: true})
	if a.s.AppliedIndex() != 2 || a.hash() != b.hash() {
		t.Fatal("configuration entry changed the logical state")
	}
	b.ok(kvSet("k", "other"))
	if a.hash() == b.hash() {
		t.Fatal("different state, same hash")
	}
}

// A store without a block cache opens, and reads back from its tables
// after a reopen: Badger refuses compressed tables without a cache, so
// disabling the cache turns compression off (it used to panic in Open).
func TestOpenWithoutBlockCache(t *testing.T) {
	opts := catalog.DefaultOptions()
	opts.Dir = t.TempDir()
	opts.Badger.DisableBlockCache = true
	h := newHarnessOpts(t, opts)
	for i := range 100 {
		h.ok(kvSet(fmt.Sprintf("k%03d", i), "value"))
	}
	if err := h.s.Close(); err != nil { // flushes the memtable to a table
		t.Fatal(err)
	}
	s, err := catalog.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h.s = s
	if e, _ := h.kv("k042"); e == nil || string(e.Value) != "value" {
		t.Fatalf("KV(k042) after reopen = %+v", e)
	}
}
