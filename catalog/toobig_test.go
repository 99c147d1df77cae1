package catalog_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// smallTxnOptions makes Badger's transaction limit small: about 300 KiB or
// 3,500 writes. Values up to 256 KiB stay in the LSM tree, so they count
// in full. (On disk: in memory, Badger refuses values above the threshold.)
func smallTxnOptions(t *testing.T) catalog.Options {
	opts := catalog.DefaultOptions()
	opts.Dir = t.TempDir()
	opts.Badger.MemTableSize = 2 << 20
	opts.Badger.ValueThreshold = 256 << 10
	return opts
}

// twin applies the same commands to a store with small transactions and
// one with default tuning, and checks they end in the same state.
type twin struct {
	small, big *harness
}

func newTwin(t *testing.T) *twin {
	return &twin{small: newHarnessOpts(t, smallTxnOptions(t)), big: newHarness(t)}
}

func (tw *twin) apply(t *testing.T, cmds ...catalog.Command) []catalog.Result {
	t.Helper()
	rs := tw.small.apply(cmds...)
	rb := tw.big.apply(cmds...)
	for i := range rs {
		if (rs[i].Err == nil) != (rb[i].Err == nil) || rs[i].OK != rb[i].OK {
			t.Fatalf("entry %d: small-txn result %+v, default %+v", i, rs[i], rb[i])
		}
	}
	if hs, hb := tw.small.hash(), tw.big.hash(); hs != hb {
		t.Fatalf("small-txn store and default store diverged")
	}
	return rs
}

func TestTxnTooBigSplitsBatch(t *testing.T) {
	tw := newTwin(t)
	value := string(bytes.Repeat([]byte("x"), 100<<10))
	var cmds []catalog.Command
	for i := 0; i < 12; i++ {
		cmds = append(cmds, kvSet(fmt.Sprintf("big/%02d", i), value))
	}
	// A txn command in the middle still runs in a transaction of its own.
	cmds[6] = &catalog.TxnRequest{Ops: []catalog.TxnOp{txnKV("set", "t", value, 0, "")}}
	res := tw.apply(t, cmds...)
	for i, r := range res {
		if r.Err != nil || !r.OK || r.Index != uint64(i+1) {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	if got := tw.small.s.AppliedIndex(); got != 12 {
		t.Fatalf("AppliedIndex = %d, want 12", got)
	}
	if e, _ := tw.small.kv("big/11"); e == nil || len(e.Value) != len(value) {
		t.Fatal("last value missing")
	}
}

func TestTxnTooBigSingleEntry(t *testing.T) {
	h := newHarnessOpts(t, smallTxnOptions(t))
	// 200 KiB stays inline, twice: in the entry and in its event.
	huge := string(bytes.Repeat([]byte("y"), 200<<10))
	hugeTxn := &catalog.TxnRequest{Ops: []catalog.TxnOp{txnKV("set", "t1", huge, 0, ""), txnKV("set", "t2", huge, 0, "")}}
	res := h.apply(kvSet("a", "1"), kvSet("huge", huge), hugeTxn, kvSet("b", "2"))
	if !errors.Is(res[2].Err, catalog.ErrTxnRolledBack) || !errors.Is(res[2].Err, catalog.ErrTooLarge) || res[2].Txn == nil || len(res[2].Txn.Errors) != 1 {
		t.Fatalf("huge txn result = %+v", res[2])
	}
	res = append(res[:2], res[3])
	if res[0].Err != nil || res[2].Err != nil {
		t.Fatalf("neighbours failed: %+v %+v", res[0], res[2])
	}
	if !errors.Is(res[1].Err, catalog.ErrTooLarge) || res[1].OK {
		t.Fatalf("huge entry result = %+v, want ErrTooLarge", res[1])
	}
	if e, _ := h.kv("huge"); e != nil {
		t.Fatal("an entry too large changed the state")
	}
	if e, _ := h.kv("t1"); e != nil {
		t.Fatal("a rolled back txn changed the state")
	}
	if e, _ := h.kv("b"); e == nil || h.s.AppliedIndex() != 4 {
		t.Fatalf("entry after the huge one: %+v, applied %d", e, h.s.AppliedIndex())
	}
}

func TestTxnTooBigSplitsDeleteTree(t *testing.T) {
	tw := newTwin(t)
	var cmds []catalog.Command
	for i := 0; i < 3000; i++ {
		cmds = append(cmds, kvSet(fmt.Sprintf("tree/%04d", i), "v"))
	}
	tw.apply(t, cmds...)
	r := tw.apply(t, kvOp(catalog.KVDeleteTree, "tree/", "", 0, ""))[0]
	if r.Err != nil || !r.OK {
		t.Fatalf("delete-tree = %+v", r)
	}
	tw.small.view(func(tx *catalog.ReadTx) {
		if keys, _ := tx.KVKeys("tree/", ""); len(keys) != 0 {
			t.Fatalf("%d keys left", len(keys))
		}
		evs, _, err := tx.Events(r.Index, 0)
		if err != nil || len(evs) != 3000 || evs[2999].Seq != 2999 {
			t.Fatalf("delete-tree events: %d, err %v", len(evs), err)
		}
	})
}

func TestTxnTooBigSplitsSessionDestroy(t *testing.T) {
	tw := newTwin(t)
	tw.apply(t, regCheck("n1", "serfHealth", "", catalog.HealthPassing))
	tw.apply(t, sessionCreate("s1", "n1", 10*time.Second, catalog.SessionRelease, "serfHealth"))
	var cmds []catalog.Command
	for i := 0; i < 2000; i++ {
		cmds = append(cmds, kvOp(catalog.KVLock, fmt.Sprintf("locks/%04d", i), "v", 0, "s1"))
	}
	tw.apply(t, cmds...)
	r := tw.apply(t, sessionDestroy("s1"))[0]
	if r.Err != nil {
		t.Fatalf("destroy = %+v", r)
	}
	tw.small.view(func(tx *catalog.ReadTx) {
		if s, _ := tx.Session("s1"); s != nil {
			t.Fatal("session survived")
		}
		entries, _ := tx.KVList("locks/")
		for _, e := range entries {
			if e.Session != "" {
				t.Fatalf("key %q still held", e.Key)
			}
		}
	})
}

func TestUnknownCommands(t *testing.T) {
	tests := []struct {
		name      string
		data      []byte
		wantFatal error
	}{
		{"ignorable unknown type", []byte{byte(catalog.IgnoreUnknown | 0x7f), 1, 2, 3}, nil},
		{"unknown type", []byte{0x7e, 1, 2, 3}, catalog.ErrUnknownCommand},
		{"corrupt body", []byte{byte(catalog.CmdKV), 0xc1, 0xff}, catalog.ErrCorruptCommand},
		{"empty entry", []byte{}, catalog.ErrCorruptCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.ok(kvSet("a", "1"))
			before := h.hash()
			h.idx++
			res, err := h.s.ApplyBatch([]catalog.Entry{{Index: h.idx, Time: h.now, Data: tt.data}})
			if tt.wantFatal != nil {
				if !errors.Is(err, tt.wantFatal) {
					t.Fatalf("ApplyBatch error = %v, want %v", err, tt.wantFatal)
				}
				if h.s.AppliedIndex() != 1 {
					t.Fatalf("fatal entry advanced the applied index to %d", h.s.AppliedIndex())
				}
				return
			}
			if err != nil || len(res) != 1 || !res[0].OK || res[0].Err != nil || res[0].Index != 2 {
				t.Fatalf("ApplyBatch = %+v, %v", res, err)
			}
			if h.s.AppliedIndex() != 2 || h.hash() != before {
				t.Fatalf("ignorable command: applied %d, state changed %v", h.s.AppliedIndex(), h.hash() != before)
			}
		})
	}
}
