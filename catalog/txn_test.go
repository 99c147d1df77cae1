package catalog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/catalog"
)

func txnKV(verb, key, val string, idx uint64, session string) catalog.TxnOp {
	return catalog.TxnOp{KV: &catalog.TxnKVOp{Verb: verb, Entry: catalog.KVEntry{
		Key: key, Value: []byte(val), RaftIndex: catalog.RaftIndex{ModifyIndex: idx}, Session: session}}}
}

func TestTxnCommits(t *testing.T) {
	h := newHarness(t)
	h.ok(kvSet("existing", "old"))
	h.ok(regNode("n1"))
	r := h.ok(&catalog.TxnRequest{Ops: []catalog.TxnOp{
		txnKV("set", "a", "1", 0, ""),
		txnKV("cas", "b", "2", 0, ""),
		txnKV("get", "existing", "", 0, ""),
		txnKV("check-index", "existing", "", 1, ""),
		txnKV("check-not-exists", "nope", "", 0, ""),
		txnKV("get-tree", "", "", 0, ""),
		txnKV("delete", "existing", "", 0, ""),
		{Service: &catalog.TxnServiceOp{Verb: "set", Node: "n1", Service: catalog.Service{ID: "web-1", Service: "web"}}},
		{Check: &catalog.TxnCheckOp{Verb: "set", Check: catalog.Check{Node: "n1", CheckID: "c", Status: catalog.HealthPassing, ServiceID: "web-1"}}},
		{Node: &catalog.TxnNodeOp{Verb: "get", Node: catalog.Node{Node: "n1"}}},
	}})
	if r.Txn == nil || len(r.Txn.Errors) != 0 {
		t.Fatalf("txn response = %+v", r.Txn)
	}
	res := r.Txn.Results
	// set, cas, get, check-index, get-tree(3: a, b, existing), service, check, node.
	if len(res) != 10 {
		t.Fatalf("got %d results: %+v", len(res), res)
	}
	if res[0].KV.Key != "a" || res[0].KV.Value != nil || res[0].KV.ModifyIndex != r.Index {
		t.Fatalf("set result = %+v (writes carry no value)", res[0].KV)
	}
	if string(res[2].KV.Value) != "old" {
		t.Fatalf("get result = %+v", res[2].KV)
	}
	if res[3].KV.Value != nil {
		t.Fatalf("check-index result carries a value: %+v", res[3].KV)
	}
	if string(res[4].KV.Value) != "1" || res[6].KV.Key != "existing" {
		t.Fatalf("get-tree results = %+v %+v %+v (reads see earlier writes)", res[4].KV, res[5].KV, res[6].KV)
	}
	if res[7].Service == nil || res[8].Check == nil || res[8].Check.ServiceName != "web" || res[9].Node == nil {
		t.Fatalf("catalog results = %+v", res[7:])
	}
	if e, _ := h.kv("existing"); e != nil {
		t.Fatal("delete in txn did not apply")
	}
}

func TestTxnAllOrNothing(t *testing.T) {
	tests := []struct {
		name     string
		failing  catalog.TxnOp
		wantWhat string
	}{
		{"cas stale", txnKV("cas", "existing", "x", 999, ""), "index is stale"},
		{"get missing", txnKV("get", "missing", "", 0, ""), "doesn't exist"},
		{"check-index mismatch", txnKV("check-index", "existing", "", 999, ""), "current modify index"},
		{"check-session mismatch", txnKV("check-session", "existing", "", 0, "s"), "current session"},
		{"check-not-exists on existing", txnKV("check-not-exists", "existing", "", 0, ""), "exists"},
		{"lock with unknown session", txnKV("lock", "l", "", 0, "nope"), "invalid session"},
		{"unlock not held", txnKV("unlock", "existing", "", 0, "nope"), "lock isn't held"},
		{"delete-cas stale", txnKV("delete-cas", "existing", "", 999, ""), "index is stale"},
		{"service on missing node", catalog.TxnOp{Service: &catalog.TxnServiceOp{Verb: "set", Node: "n9", Service: catalog.Service{ID: "x", Service: "x"}}}, "doesn't exist"},
		{"check for missing service", catalog.TxnOp{Check: &catalog.TxnCheckOp{Verb: "set", Check: catalog.Check{Node: "n1", CheckID: "c", Status: catalog.HealthPassing, ServiceID: "nope"}}}, "not found"},
		{"node cas stale", catalog.TxnOp{Node: &catalog.TxnNodeOp{Verb: "cas", Node: catalog.Node{Node: "n1", RaftIndex: catalog.RaftIndex{ModifyIndex: 999}}}}, "index is stale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.ok(kvSet("existing", "old"))
			h.ok(regNode("n1"))
			var ops []catalog.TxnOp
			for i := 0; i < 10; i++ {
				if i == 5 {
					ops = append(ops, tt.failing)
					continue
				}
				ops = append(ops, txnKV("set", fmt.Sprintf("t/%d", i), "v", 0, ""))
			}
			ops[9] = catalog.TxnOp{Node: &catalog.TxnNodeOp{Verb: "set", Node: catalog.Node{Node: "n5", Address: "x"}}}
			// The txn shares a batch with plain writes before and after it.
			res := h.apply(kvSet("before", "1"), &catalog.TxnRequest{Ops: ops}, kvSet("after", "1"))
			r := res[1]
			if !errors.Is(r.Err, catalog.ErrTxnRolledBack) || r.OK || r.Txn == nil {
				t.Fatalf("txn result = %+v", r)
			}
			if len(r.Txn.Errors) != 1 || r.Txn.Errors[0].OpIndex != 5 || !strings.Contains(r.Txn.Errors[0].What, tt.wantWhat) {
				t.Fatalf("txn errors = %+v, want op 5 %q", r.Txn.Errors, tt.wantWhat)
			}
			if len(r.Txn.Results) != 0 {
				t.Fatalf("rolled back txn has results: %+v", r.Txn.Results)
			}
			if res[0].Err != nil || res[2].Err != nil || h.s.AppliedIndex() != h.idx {
				t.Fatalf("neighbours: %+v %+v, applied %d", res[0], res[2], h.s.AppliedIndex())
			}
			// Undo the neighbours in a fresh store to compare: the txn left no trace.
			ref := newHarness(t)
			ref.ok(kvSet("existing", "old"))
			ref.ok(regNode("n1"))
			ref.apply(kvSet("before", "1"), &catalog.DeregisterRequest{Node: "zzz"}, kvSet("after", "1"))
			if h.hash() != ref.hash() {
				t.Fatal("rolled back txn left a trace")
			}
		})
	}
}

func TestTxnReadOnly(t *testing.T) {
	kv := func(verb string) catalog.TxnOp {
		return catalog.TxnOp{KV: &catalog.TxnKVOp{Verb: verb, Entry: catalog.KVEntry{Key: "a"}}}
	}
	node := func(verb string) catalog.TxnOp {
		return catalog.TxnOp{Node: &catalog.TxnNodeOp{Verb: verb, Node: catalog.Node{Node: "n1"}}}
	}
	tests := []struct {
		name string
		ops  []catalog.TxnOp
		want bool
	}{
		{"no operations", nil, false},
		{"reads of every kind", []catalog.TxnOp{kv("get"), kv("get-tree"), kv("check-index"), kv("check-session"), kv("check-not-exists"), node("get")}, true},
		{"one write among reads", []catalog.TxnOp{kv("get"), kv("set")}, false},
		{"a node write", []catalog.TxnOp{node("delete")}, false},
		{"an operation with no entity", []catalog.TxnOp{{}}, false},
		{"an unknown verb", []catalog.TxnOp{kv("peek")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (&catalog.TxnRequest{Ops: tt.ops}).ReadOnly(); got != tt.want {
				t.Errorf("ReadOnly() = %v, want %v", got, tt.want)
			}
		})
	}
}

// ReadTx.Txn gives what applying the reads would, and refuses writes.
func TestReadTxTxn(t *testing.T) {
	h := newHarness(t)
	h.ok(kvSet("a", "1"))
	h.view(func(tx *catalog.ReadTx) {
		resp, err := tx.Txn(&catalog.TxnRequest{Ops: []catalog.TxnOp{
			{KV: &catalog.TxnKVOp{Verb: "get", Entry: catalog.KVEntry{Key: "a"}}},
			{KV: &catalog.TxnKVOp{Verb: "check-not-exists", Entry: catalog.KVEntry{Key: "b"}}},
		}})
		if err != nil || len(resp.Errors) != 0 || len(resp.Results) != 1 || string(resp.Results[0].KV.Value) != "1" {
			t.Fatalf("reads = %+v, %v", resp, err)
		}
		resp, err = tx.Txn(&catalog.TxnRequest{Ops: []catalog.TxnOp{
			{KV: &catalog.TxnKVOp{Verb: "get", Entry: catalog.KVEntry{Key: "a"}}},
			{KV: &catalog.TxnKVOp{Verb: "check-not-exists", Entry: catalog.KVEntry{Key: "a"}}},
		}})
		if err != nil || len(resp.Results) != 0 || len(resp.Errors) != 1 || resp.Errors[0].OpIndex != 1 || resp.Errors[0].What != `key "a" exists` {
			t.Fatalf("failed check = %+v, %v", resp, err)
		}
		if _, err := tx.Txn(&catalog.TxnRequest{Ops: []catalog.TxnOp{{KV: &catalog.TxnKVOp{Verb: "set", Entry: catalog.KVEntry{Key: "c"}}}}}); err == nil {
			t.Fatal("a write ran in a read view")
		}
	})
	if e, _ := h.kv("c"); e != nil {
		t.Fatalf("key c written: %+v", e)
	}
}
