package catalog_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// cacheReplica is one store of TestKVCacheMatchesBadger, with its own
// KV cache budget, reopened and restored as the test goes.
type cacheReplica struct {
	name   string
	opts   catalog.Options
	stress bool                // compact the arena at every chance
	hash   func([]byte) uint64 // if set, the cache's key hash
	s      *catalog.Store
}

func (r *cacheReplica) open(t *testing.T) {
	t.Helper()
	s, err := catalog.Open(r.opts)
	if err != nil {
		t.Fatalf("%s: Open: %v", r.name, err)
	}
	if r.stress {
		if err := catalog.StressKVCache(s, r.hash); err != nil {
			t.Fatal(err)
		}
	}
	r.s = s
}

// TestKVCacheMatchesBadger applies one random stream of KV, session and
// transaction commands (failing CASes, rolled-back transactions, locks
// held by sessions that are destroyed, values too large for the cache,
// no-op rewrites of equal values) to stores whose KV cache is off, on,
// compacting its arena at every chance, hashing most keys onto one slot,
// and too small to hold more than a few entries or any. Every result and every
// store's hash must agree after each batch, across reopens (the cache is
// refilled from disk) and restores (refilled from a snapshot).
func TestKVCacheMatchesBadger(t *testing.T) {
	byLength := func(b []byte) uint64 { return uint64(len(b)) } // most keys collide
	reps := []*cacheReplica{
		{name: "off", opts: catalog.Options{KVCacheBytes: -1}},
		{name: "default", opts: catalog.Options{}},
		{name: "compacting", opts: catalog.Options{}, stress: true},
		{name: "colliding", opts: catalog.Options{}, stress: true, hash: byLength},
		{name: "small", opts: catalog.Options{KVCacheBytes: 600}}, // a few entries: incomplete, filled from reads
		{name: "tiny", opts: catalog.Options{KVCacheBytes: 1}},    // never holds anything
	}
	for _, r := range reps {
		r.opts.Dir = t.TempDir()
		r.open(t)
	}
	t.Cleanup(func() {
		for _, r := range reps {
			r.s.Close()
		}
	})

	rng := rand.New(rand.NewPCG(7, 11))
	keys := []string{"a", "a/1", "a/2", "a/3", "b/1", "b/2", "b/x/1", "b/x/2", "c", "c/1", "d/1", "d/2"}
	values := []string{"", "v1", "v2", strings.Repeat("big", 2000)} // the last is over the cache's per-entry limit
	sessions := []string{"s1", "s2"}
	var idx uint64
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	entry := func(cmd catalog.Command) catalog.Entry {
		data, err := catalog.Encode(cmd)
		if err != nil {
			t.Fatalf("Encode(%T): %v", cmd, err)
		}
		idx++
		now = now.Add(time.Second)
		return catalog.Entry{Index: idx, Time: now, Data: data}
	}
	// modifyIndexes holds indexes CAS operations guess from: some are
	// current, most are stale.
	var modifyIndexes []uint64
	casIndex := func() uint64 {
		if len(modifyIndexes) == 0 || rng.IntN(4) == 0 {
			return 0
		}
		return modifyIndexes[rng.IntN(len(modifyIndexes))]
	}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	kvEntry := func() catalog.KVEntry {
		return catalog.KVEntry{Key: pick(keys), Value: []byte(pick(values)), Flags: uint64(rng.IntN(2))}
	}
	randomCommand := func() catalog.Command {
		e := kvEntry()
		switch n := rng.IntN(100); {
		case n < 40:
			return &catalog.KVRequest{Op: catalog.KVSet, Entry: e}
		case n < 50:
			e.ModifyIndex = casIndex()
			return &catalog.KVRequest{Op: catalog.KVCAS, Entry: e}
		case n < 57:
			return &catalog.KVRequest{Op: catalog.KVDelete, Entry: e}
		case n < 62:
			e.ModifyIndex = casIndex()
			return &catalog.KVRequest{Op: catalog.KVDeleteCAS, Entry: e}
		case n < 65:
			e.Key = e.Key[:1]
			return &catalog.KVRequest{Op: catalog.KVDeleteTree, Entry: e}
		case n < 72:
			e.Session = pick(sessions)
			return &catalog.KVRequest{Op: catalog.KVLock, Entry: e}
		case n < 77:
			e.Session = pick(sessions)
			return &catalog.KVRequest{Op: catalog.KVUnlock, Entry: e}
		case n < 81:
			return sessionCreate(pick(sessions), "n1", 0, pick([]string{catalog.SessionRelease, catalog.SessionDelete}))
		case n < 84:
			return &catalog.SessionRequest{Op: catalog.SessionDestroy, Session: catalog.Session{ID: pick(sessions)}}
		default:
			var ops []catalog.TxnOp
			for range 1 + rng.IntN(5) {
				op := &catalog.TxnKVOp{Entry: kvEntry()}
				switch rng.IntN(6) {
				case 0, 1:
					op.Verb = "set"
				case 2:
					op.Verb, op.Entry.ModifyIndex = "cas", casIndex()
				case 3:
					op.Verb = "delete"
				case 4:
					op.Verb = "get" // fails when the key is absent: rolls back the rest
				default:
					op.Verb, op.Entry.ModifyIndex = "delete-cas", casIndex()
				}
				ops = append(ops, catalog.TxnOp{KV: op})
			}
			return &catalog.TxnRequest{Ops: ops}
		}
	}

	apply := func(entries []catalog.Entry) {
		t.Helper()
		var want []catalog.Result
		var wantHash string
		for i, r := range reps {
			res, err := r.s.ApplyBatch(entries)
			if err != nil {
				t.Fatalf("%s: ApplyBatch at %d: %v", r.name, entries[0].Index, err)
			}
			h, err := r.s.Hash()
			if err != nil {
				t.Fatalf("%s: Hash: %v", r.name, err)
			}
			if i == 0 {
				want, wantHash = res, h
				for _, x := range res {
					modifyIndexes = append(modifyIndexes, x.Index)
				}
				continue
			}
			if got, exp := fmt.Sprint(summarize(res)), fmt.Sprint(summarize(want)); got != exp {
				t.Fatalf("entries %d..%d: %s's results differ from %s's:\n got %s\nwant %s", entries[0].Index, idx, r.name, reps[0].name, got, exp)
			}
			if h != wantHash {
				t.Fatalf("entries %d..%d: %s's catalog differs from %s's", entries[0].Index, idx, r.name, reps[0].name)
			}
		}
	}

	apply([]catalog.Entry{entry(regService("n1", "web", "web-1"))})
	var snap []byte // an earlier state, to restore every store to
	for round := range 600 {
		batch := make([]catalog.Entry, 1+rng.IntN(8))
		for i := range batch {
			batch[i] = entry(randomCommand())
		}
		apply(batch)
		switch {
		case round%150 == 149: // every store reopens: caches refill from disk
			for _, r := range reps {
				if err := r.s.Close(); err != nil {
					t.Fatal(err)
				}
				r.open(t)
			}
		case round%200 == 49: // remember this state
			snap = snapshotBytes(t, reps[0].s)
		case round%200 == 99: // every store goes back to it: caches refill from the snapshot
			for _, r := range reps {
				if err := r.s.Restore(bytes.NewReader(snap)); err != nil {
					t.Fatalf("%s: Restore: %v", r.name, err)
				}
			}
		}
	}
	// The stream must have exercised what the cache decides on.
	var kv []*catalog.KVEntry
	if err := reps[0].s.View(func(tx *catalog.ReadTx) error {
		kv, _ = tx.KVList("")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(kv) == 0 {
		t.Fatal("the stream left no keys: it exercised little")
	}
}

// summarize renders results comparably (errors by text).
func summarize(res []catalog.Result) []string {
	out := make([]string, len(res))
	for i, r := range res {
		txn, _ := json.Marshal(r.Txn)
		out[i] = fmt.Sprintf("%d ok=%v err=%v txn=%s", r.Index, r.OK, r.Err, txn)
	}
	return out
}
