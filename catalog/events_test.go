package catalog_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

func events(t *testing.T, h *harness, from uint64, limit int) ([]catalog.Event, uint64, error) {
	t.Helper()
	var evs []catalog.Event
	var next uint64
	var err error
	h.view(func(tx *catalog.ReadTx) { evs, next, err = tx.Events(from, limit) })
	return evs, next, err
}

func TestEventLogOrder(t *testing.T) {
	h := newHarness(t)
	h.ok(kvSet("a", "1"))                        // 1: one event
	h.ok(kvSet("a", "1"))                        // 2: no-op, no event
	h.ok(regService("n1", "web", "web-1"))       // 3: node + service
	h.ok(kvOp(catalog.KVDelete, "a", "", 0, "")) // 4: delete
	evs, next, err := events(t, h, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		rev   uint64
		seq   uint32
		typ   catalog.EventType
		table string
		key   string
	}
	want := []ev{
		{1, 0, catalog.EventPut, catalog.TableKV, "a"},
		{3, 0, catalog.EventPut, catalog.TableNodes, "n1"},
		{3, 1, catalog.EventPut, catalog.TableServices, "n1/web-1"},
		{4, 0, catalog.EventDelete, catalog.TableKV, "a"},
	}
	if len(evs) != len(want) || next != 5 {
		t.Fatalf("got %d events, next %d: %+v", len(evs), next, evs)
	}
	for i, w := range want {
		e := evs[i]
		got := ev{e.Revision, e.Seq, e.Type, e.Table, e.Key}
		if got != w {
			t.Errorf("event %d = %+v, want %+v", i, got, w)
		}
	}
	if evs[0].KV == nil || string(evs[0].KV.Value) != "1" || evs[2].Service != "web" || evs[2].Svc == nil {
		t.Fatalf("event payloads: %+v %+v", evs[0], evs[2])
	}
	// Limit never cuts a revision in two.
	evs, next, _ = events(t, h, 0, 2)
	if len(evs) != 3 || next != 4 {
		t.Fatalf("limit 2: %d events, next %d", len(evs), next)
	}
	evs, next, _ = events(t, h, next, 2)
	if len(evs) != 1 || next != 5 {
		t.Fatalf("resume: %d events, next %d", len(evs), next)
	}
	// From beyond the end: nothing, next unchanged.
	if evs, next, err = events(t, h, 9, 0); len(evs) != 0 || next != 9 || err != nil {
		t.Fatalf("from 9: %v, %d, %v", evs, next, err)
	}
}

func TestEventLogCompaction(t *testing.T) {
	opts := catalog.DefaultOptions()
	opts.Events.MaxEvents = 5
	h := newHarnessOpts(t, opts)
	for i := 0; i < 10; i++ {
		h.ok(kvSet(fmt.Sprintf("k%d", i), "v"))
	}
	_, _, err := events(t, h, 3, 0)
	var ce *catalog.CompactedError
	if !errors.As(err, &ce) || !errors.Is(err, catalog.ErrCompacted) {
		t.Fatalf("Events(3) error = %v, want CompactedError", err)
	}
	if ce.Requested != 3 || ce.Oldest != 6 || ce.Current != 10 {
		t.Fatalf("CompactedError = %+v", ce)
	}
	evs, next, err := events(t, h, 6, 0)
	if err != nil || len(evs) != 5 || evs[0].Revision != 6 || next != 11 {
		t.Fatalf("Events(6) = %d events, next %d, err %v", len(evs), next, err)
	}
	// A revision with several events goes whole.
	h.ok(&catalog.TxnRequest{Ops: []catalog.TxnOp{txnKV("set", "x1", "v", 0, ""), txnKV("set", "x2", "v", 0, ""), txnKV("set", "x3", "v", 0, "")}})
	evs, _, err = events(t, h, 0, 0)
	if !errors.Is(err, catalog.ErrCompacted) {
		t.Fatalf("from 0 after compaction: %v, %v", evs, err)
	}
	evs, _, _ = events(t, h, 9, 0)
	if len(evs) != 5 || evs[0].Revision != 9 {
		t.Fatalf("after a 3-event revision: %+v", evs)
	}
}

func TestEventLogAgeRetention(t *testing.T) {
	opts := catalog.DefaultOptions()
	opts.Events.MaxAge = 10 * time.Second
	h := newHarnessOpts(t, opts)
	for i := 0; i < 30; i++ { // one entry per second
		h.ok(kvSet(fmt.Sprintf("k%d", i), "v"))
	}
	_, _, err := events(t, h, 1, 0)
	var ce *catalog.CompactedError
	if !errors.As(err, &ce) {
		t.Fatalf("expected compaction, got %v", err)
	}
	// Newest event at 30s; everything older than 20s is gone.
	if ce.Oldest != 20 {
		t.Fatalf("oldest retained = %d, want 20", ce.Oldest)
	}
}

// Retention depends only on the log, not on how it was batched.
func TestEventRetentionIndependentOfBatching(t *testing.T) {
	opts := catalog.DefaultOptions()
	opts.Events = catalog.EventRetention{MaxEvents: 7, MaxAge: 20 * time.Second}
	var cmds []catalog.Command
	for i := 0; i < 60; i++ {
		if i%5 == 0 {
			cmds = append(cmds, &catalog.TxnRequest{Ops: []catalog.TxnOp{txnKV("set", fmt.Sprint("t", i), "v", 0, ""), txnKV("set", fmt.Sprint("u", i), "v", 0, "")}})
			continue
		}
		cmds = append(cmds, kvSet(fmt.Sprintf("k%d", i%13), fmt.Sprint(i)))
	}
	var hashes []string
	for _, batch := range []int{1, 7, 60} {
		h := newHarnessOpts(t, opts)
		for i := 0; i < len(cmds); i += batch {
			h.apply(cmds[i:min(i+batch, len(cmds))]...)
		}
		hashes = append(hashes, h.hash())
	}
	if hashes[0] != hashes[1] || hashes[1] != hashes[2] {
		t.Fatalf("hashes differ by batch size: %q", hashes)
	}
}
