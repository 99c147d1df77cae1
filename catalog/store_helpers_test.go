package catalog_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// t0 is the time of the first entry a harness applies.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// harness drives a Store the way the FSM does: one log entry per command,
// consecutive indexes, and a clock that advances one second per entry.
type harness struct {
	t   testing.TB
	s   *catalog.Store
	idx uint64
	now time.Time
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessOpts(t, catalog.DefaultOptions())
}

func newHarnessOpts(t testing.TB, opts catalog.Options) *harness {
	t.Helper()
	s, err := catalog.Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return &harness{t: t, s: s, idx: s.AppliedIndex(), now: t0}
}

// entry encodes cmd as the next log entry.
func (h *harness) entry(cmd catalog.Command) catalog.Entry {
	h.t.Helper()
	data, err := catalog.Encode(cmd)
	if err != nil {
		h.t.Fatalf("Encode(%T): %v", cmd, err)
	}
	h.idx++
	h.now = h.now.Add(time.Second)
	return catalog.Entry{Index: h.idx, Time: h.now, Data: data}
}

// apply applies cmds in one batch and returns their results.
func (h *harness) apply(cmds ...catalog.Command) []catalog.Result {
	h.t.Helper()
	entries := make([]catalog.Entry, len(cmds))
	for i, c := range cmds {
		entries[i] = h.entry(c)
	}
	return h.applyEntries(entries...)
}

func (h *harness) applyEntries(entries ...catalog.Entry) []catalog.Result {
	h.t.Helper()
	res, err := h.s.ApplyBatch(entries)
	if err != nil {
		h.t.Fatalf("ApplyBatch: %v", err)
	}
	if len(res) != len(entries) {
		h.t.Fatalf("ApplyBatch returned %d results for %d entries", len(res), len(entries))
	}
	return res
}

// ok applies one command and fails the test unless it succeeded.
func (h *harness) ok(cmd catalog.Command) catalog.Result {
	h.t.Helper()
	r := h.apply(cmd)[0]
	if r.Err != nil || !r.OK {
		h.t.Fatalf("apply %T at %d: OK=%v Err=%v", cmd, r.Index, r.OK, r.Err)
	}
	return r
}

func (h *harness) view(fn func(tx *catalog.ReadTx)) {
	h.t.Helper()
	if err := h.s.View(func(tx *catalog.ReadTx) error { fn(tx); return nil }); err != nil {
		h.t.Fatalf("View: %v", err)
	}
}

func (h *harness) kv(key string) (*catalog.KVEntry, uint64) {
	h.t.Helper()
	var e *catalog.KVEntry
	var idx uint64
	h.view(func(tx *catalog.ReadTx) { e, idx = tx.KV(key) })
	return e, idx
}

func (h *harness) hash() string {
	h.t.Helper()
	s, err := h.s.Hash()
	if err != nil {
		h.t.Fatalf("Hash: %v", err)
	}
	return s
}

// Command builders.

func kvSet(key, val string) *catalog.KVRequest {
	return &catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: key, Value: []byte(val)}}
}

func kvOp(op catalog.KVOp, key, val string, idx uint64, session string) *catalog.KVRequest {
	return &catalog.KVRequest{Op: op, Entry: catalog.KVEntry{Key: key, Value: []byte(val), RaftIndex: catalog.RaftIndex{ModifyIndex: idx}, Session: session}}
}

func regNode(node string) *catalog.RegisterRequest {
	return &catalog.RegisterRequest{Node: catalog.Node{Node: node, Address: "10.0.0.1"}}
}

func regService(node, name, id string, tags ...string) *catalog.RegisterRequest {
	return &catalog.RegisterRequest{
		Node:    catalog.Node{Node: node, Address: "10.0.0.1"},
		Service: &catalog.Service{ID: id, Service: name, Tags: tags, Port: 80},
	}
}

func regCheck(node, checkID, serviceID, status string) *catalog.RegisterRequest {
	return &catalog.RegisterRequest{
		Node:           catalog.Node{Node: node, Address: "10.0.0.1"},
		SkipNodeUpdate: true,
		Checks:         []*catalog.Check{{CheckID: checkID, Name: checkID, Status: status, ServiceID: serviceID}},
	}
}

func checkStatus(node, checkID, status string) *catalog.CheckStatusRequest {
	return &catalog.CheckStatusRequest{Updates: []catalog.CheckUpdate{{Node: node, CheckID: checkID, Status: status}}}
}

func sessionCreate(id, node string, lockDelay time.Duration, behavior string, checks ...string) *catalog.SessionRequest {
	return &catalog.SessionRequest{Op: catalog.SessionCreate, Session: catalog.Session{
		ID: id, Node: node, LockDelay: lockDelay, Behavior: behavior, NodeChecks: checks,
	}}
}

func sessionDestroy(id string) *catalog.SessionRequest {
	return &catalog.SessionRequest{Op: catalog.SessionDestroy, Session: catalog.Session{ID: id}}
}

// snapshotBytes returns a snapshot of s, written out.
func snapshotBytes(t testing.TB, s *catalog.Store) []byte {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
