package raftstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/hclogslog"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/hashicorp/raft"
)

// contractStore is what raft needs from one store used as both its log
// store and its stable store.
type contractStore interface {
	raft.LogStore
	raft.StableStore
}

// openTestLogStore opens a LogStore in dir ("" for memory) that is closed
// when the test ends.
func openTestLogStore(tb testing.TB, dir string, tuning catalog.BadgerTuning) *LogStore {
	tb.Helper()
	s, err := OpenLogStore(dir, tuning, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatalf("OpenLogStore(%q): %v", dir, err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestLogStoreContract(t *testing.T) {
	t.Run("badger on disk", func(t *testing.T) {
		runLogStoreContract(t, func(t *testing.T) contractStore {
			return openTestLogStore(t, t.TempDir(), catalog.BadgerTuning{})
		})
	})
	t.Run("badger in memory", func(t *testing.T) {
		runLogStoreContract(t, func(t *testing.T) contractStore {
			return openTestLogStore(t, "", catalog.BadgerTuning{})
		})
	})
	t.Run("raft inmem", func(t *testing.T) {
		runLogStoreContract(t, func(t *testing.T) contractStore { return raft.NewInmemStore() })
	})
}

// testLog returns a log entry at index with every field set, derived from
// index and term so a test can recognise which write it reads back.
func testLog(index, term uint64) *raft.Log {
	return &raft.Log{
		Index:      index,
		Term:       term,
		Type:       raft.LogType(index % 6),
		Data:       []byte(fmt.Sprintf("data-%d-%d", index, term)),
		Extensions: []byte{byte(index), byte(term), 0, 0xff},
		AppendedAt: time.Unix(1700000000, int64(index*1000+term)),
	}
}

func testLogs(from, to, term uint64) []*raft.Log {
	var logs []*raft.Log
	for i := from; i <= to; i++ {
		logs = append(logs, testLog(i, term))
	}
	return logs
}

// assertLog checks that the entry at want.Index reads back as want.
func assertLog(t *testing.T, s raft.LogStore, want *raft.Log) {
	t.Helper()
	var got raft.Log
	if err := s.GetLog(want.Index, &got); err != nil {
		t.Fatalf("GetLog(%d): %v", want.Index, err)
	}
	if got.Index != want.Index || got.Term != want.Term || got.Type != want.Type ||
		!bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.Extensions, want.Extensions) ||
		!got.AppendedAt.Equal(want.AppendedAt) {
		t.Fatalf("GetLog(%d) = %+v, want %+v", want.Index, got, *want)
	}
}

func assertMissing(t *testing.T, s raft.LogStore, index uint64) {
	t.Helper()
	var got raft.Log
	if err := s.GetLog(index, &got); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog(%d) = %v, want ErrLogNotFound", index, err)
	}
}

func assertBounds(t *testing.T, s raft.LogStore, first, last uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	if err != nil {
		t.Fatalf("FirstIndex: %v", err)
	}
	l, err := s.LastIndex()
	if err != nil {
		t.Fatalf("LastIndex: %v", err)
	}
	if f != first || l != last {
		t.Fatalf("First/LastIndex = %d/%d, want %d/%d", f, l, first, last)
	}
}

func mustStore(t *testing.T, s raft.LogStore, logs []*raft.Log) {
	t.Helper()
	if err := s.StoreLogs(logs); err != nil {
		t.Fatalf("StoreLogs: %v", err)
	}
}

func mustDelete(t *testing.T, s raft.LogStore, min, max uint64) {
	t.Helper()
	if err := s.DeleteRange(min, max); err != nil {
		t.Fatalf("DeleteRange(%d, %d): %v", min, max, err)
	}
}

// runLogStoreContract checks the behaviour raft relies on from a log and
// stable store. open returns an empty store.
func runLogStoreContract(t *testing.T, open func(t *testing.T) contractStore) {
	t.Run("empty", func(t *testing.T) {
		s := open(t)
		assertBounds(t, s, 0, 0)
		assertMissing(t, s, 0)
		assertMissing(t, s, 1)
	})
	t.Run("round trip", func(t *testing.T) {
		s := open(t)
		one := testLog(1, 1)
		if err := s.StoreLog(one); err != nil {
			t.Fatalf("StoreLog: %v", err)
		}
		assertBounds(t, s, 1, 1)
		assertLog(t, s, one)
		batch := testLogs(2, 10, 2)
		batch[0].Data, batch[0].Extensions = nil, nil // empty fields survive too
		mustStore(t, s, batch)
		assertBounds(t, s, 1, 10)
		for _, l := range append([]*raft.Log{one}, batch...) {
			assertLog(t, s, l)
		}
		assertMissing(t, s, 11)
	})
	t.Run("overwrite", func(t *testing.T) {
		s := open(t)
		mustStore(t, s, testLogs(1, 5, 1))
		mustStore(t, s, testLogs(3, 4, 2))
		assertBounds(t, s, 1, 5)
		for _, want := range []*raft.Log{testLog(1, 1), testLog(2, 1), testLog(3, 2), testLog(4, 2), testLog(5, 1)} {
			assertLog(t, s, want)
		}
	})
	t.Run("delete", func(t *testing.T) { runDeleteContract(t, open) })
	t.Run("stable", func(t *testing.T) { runStableContract(t, open(t)) })
}

func runDeleteContract(t *testing.T, open func(t *testing.T) contractStore) {
	t.Run("prefix", func(t *testing.T) {
		s := open(t)
		mustStore(t, s, testLogs(1, 10, 1))
		mustDelete(t, s, 1, 4)
		assertBounds(t, s, 5, 10)
		assertMissing(t, s, 4)
		assertLog(t, s, testLog(5, 1))
		mustDelete(t, s, 5, 5)
		assertBounds(t, s, 6, 10)
	})
	t.Run("suffix", func(t *testing.T) {
		s := open(t)
		mustStore(t, s, testLogs(1, 10, 1))
		mustDelete(t, s, 7, 10)
		assertBounds(t, s, 1, 6)
		assertMissing(t, s, 7)
		assertLog(t, s, testLog(6, 1))
		mustStore(t, s, testLogs(7, 8, 3)) // raft appends after truncating
		assertBounds(t, s, 1, 8)
		assertLog(t, s, testLog(7, 3))
	})
	t.Run("everything", func(t *testing.T) {
		s := open(t)
		mustStore(t, s, testLogs(3, 10, 1))
		mustDelete(t, s, 3, 10)
		assertBounds(t, s, 0, 0)
		for i := uint64(3); i <= 10; i++ {
			assertMissing(t, s, i)
		}
		mustStore(t, s, testLogs(11, 12, 2))
		assertBounds(t, s, 11, 12)
	})
}

func runStableContract(t *testing.T, s raft.StableStore) {
	if err := s.Set([]byte("CurrentTerm-bytes"), []byte("v1")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := s.Set([]byte("CurrentTerm-bytes"), []byte("v2")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := s.Get([]byte("CurrentTerm-bytes")); err != nil || string(got) != "v2" {
		t.Fatalf("Get = %q, %v; want v2", got, err)
	}
	for _, v := range []uint64{7, 1 << 63, 3} {
		if err := s.SetUint64([]byte("LastVoteTerm"), v); err != nil {
			t.Fatalf("SetUint64: %v", err)
		}
		if got, err := s.GetUint64([]byte("LastVoteTerm")); err != nil || got != v {
			t.Fatalf("GetUint64 = %d, %v; want %d", got, err, v)
		}
	}
	// A missing key must be something raft accepts: it compares
	// err.Error() with "not found" (see ErrKeyNotFound). raft.InmemStore
	// answers a missing GetUint64 with 0, nil and LogStore with 0,
	// ErrKeyNotFound; raft treats both as "unset", so both pass.
	got, err := s.Get([]byte("missing"))
	if err == nil || err.Error() != "not found" || got != nil {
		t.Fatalf("Get(missing) = %q, %v; want nil, \"not found\"", got, err)
	}
	n, err := s.GetUint64([]byte("missing"))
	if n != 0 || (err != nil && err.Error() != "not found") {
		t.Fatalf("GetUint64(missing) = %d, %v; want 0 and nil or \"not found\"", n, err)
	}
}

func TestLogStoreMissingKeyIsRaftNotFound(t *testing.T) {
	s := openTestLogStore(t, "", catalog.BadgerTuning{})
	if _, err := s.GetUint64([]byte("CurrentTerm")); !errors.Is(err, ErrKeyNotFound) || err.Error() != "not found" {
		t.Fatalf("GetUint64(missing) error = %v, want ErrKeyNotFound with text \"not found\"", err)
	}
	if err := s.Set([]byte("empty"), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get([]byte("empty")); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Get(empty value) = %#v, %v; want []byte{}, nil", got, err)
	}
	if _, err := s.GetUint64([]byte("empty")); err == nil || errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("GetUint64 of a 0-byte value = %v, want a format error", err)
	}
}

func TestLogStorePersists(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenLogStore(dir, catalog.BadgerTuning{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustStore(t, s, testLogs(1, 20, 4))
	mustDelete(t, s, 1, 5)
	if err := s.SetUint64([]byte("CurrentTerm"), 4); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("n1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openTestLogStore(t, dir, catalog.BadgerTuning{})
	assertBounds(t, s, 6, 20)
	assertMissing(t, s, 5)
	for i := uint64(6); i <= 20; i++ {
		assertLog(t, s, testLog(i, 4))
	}
	if got, err := s.GetUint64([]byte("CurrentTerm")); err != nil || got != 4 {
		t.Fatalf("CurrentTerm = %d, %v; want 4", got, err)
	}
	if got, err := s.Get([]byte("LastVoteCand")); err != nil || string(got) != "n1" {
		t.Fatalf("LastVoteCand = %q, %v; want n1", got, err)
	}
}

// smallTxnTuning makes Badger's transaction limit small: a 1 MiB memtable
// allows about 150 KiB (and about 1,600 entries) per transaction, and the
// value threshold keeps 64 KiB values inline so they count in full.
var smallTxnTuning = catalog.BadgerTuning{MemTableSize: 1 << 20, ValueThreshold: 128 << 10}

// commitRecorder records, per Badger commit, which log indexes it wrote
// or deleted, by subscribing to the store's database.
type commitRecorder struct {
	mu      sync.Mutex
	commits map[uint64][]uint64 // commit version -> log indexes
	ready   bool                // the subscription has seen the probe key
}

func recordCommits(t *testing.T, s *LogStore) *commitRecorder {
	t.Helper()
	r := &commitRecorder{commits: map[uint64][]uint64{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		matches := []pb.Match{{Prefix: []byte{prefixLog}}, {Prefix: []byte{prefixStable}}}
		_ = s.db.Subscribe(ctx, r.add, matches)
	}()
	t.Cleanup(func() { cancel(); <-done })
	// The subscription starts asynchronously: write a probe until it shows.
	deadline := time.Now().Add(5 * time.Second)
	for !r.isReady() {
		if time.Now().After(deadline) {
			t.Fatal("badger subscription never started")
		}
		if err := s.Set([]byte("probe"), nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return r
}

func (r *commitRecorder) isReady() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ready
}

func (r *commitRecorder) add(kvs *badger.KVList) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, kv := range kvs.Kv {
		if kv.Key[0] != prefixLog {
			r.ready = true
			continue
		}
		r.commits[kv.Version] = append(r.commits[kv.Version], logIndexOfKey(kv.Key))
	}
	return nil
}

func logIndexOfKey(k []byte) uint64 {
	var idx uint64
	for _, b := range k[1:] {
		idx = idx<<8 | uint64(b)
	}
	return idx
}

// wait returns the commits (each sorted, in commit order) once they hold
// n indexes in all.
func (r *commitRecorder) wait(t *testing.T, n int) [][]uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		var versions []uint64
		total := 0
		for v, idxs := range r.commits {
			versions = append(versions, v)
			total += len(idxs)
		}
		if total >= n {
			slices.Sort(versions)
			var out [][]uint64
			for _, v := range versions {
				out = append(out, slices.Sorted(slices.Values(r.commits[v])))
			}
			clear(r.commits)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("saw %d of %d log keys committed", total, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// assertOrdered checks that commits touched from..to exactly once each,
// in ascending (or descending) order across commits, in more than one
// commit.
func assertOrdered(t *testing.T, commits [][]uint64, from, to uint64, descending bool) {
	t.Helper()
	if len(commits) < 2 {
		t.Fatalf("%d commit(s): the range fit one transaction, so the test proves nothing", len(commits))
	}
	var seq []uint64
	for i, c := range commits {
		if descending {
			slices.Reverse(c)
		}
		if i > 0 && (descending && c[0] >= seq[len(seq)-1] || !descending && c[0] <= seq[len(seq)-1]) {
			t.Fatalf("commit %d starts at %d after a commit ending at %d: a crash between them would leave a gap",
				i, c[0], seq[len(seq)-1])
		}
		seq = append(seq, c...)
	}
	want := make([]uint64, 0, to-from+1)
	for i := from; i <= to; i++ {
		want = append(want, i)
	}
	if descending {
		slices.Reverse(want)
	}
	if !slices.Equal(seq, want) {
		t.Fatalf("committed indexes %v, want %d..%d", seq, from, to)
	}
}

func TestLogStoreBatchBiggerThanTxn(t *testing.T) {
	for _, dir := range []string{"", t.TempDir()} {
		t.Run(fmt.Sprintf("dir=%q", dir), func(t *testing.T) {
			s := openTestLogStore(t, dir, smallTxnTuning)
			rec := recordCommits(t, s)
			logs := testLogs(1, 40, 1)
			for _, l := range logs {
				l.Data = bytes.Repeat([]byte{byte(l.Index)}, 64<<10)
			}
			mustStore(t, s, logs)
			assertOrdered(t, rec.wait(t, len(logs)), 1, 40, false)
			assertBounds(t, s, 1, 40)
			for _, l := range logs {
				assertLog(t, s, l)
			}
		})
	}
}

func TestLogStoreDeleteRangeManyTxns(t *testing.T) {
	const n = 6000 // well above the ~1,600 entries per transaction of smallTxnTuning
	s := openTestLogStore(t, t.TempDir(), smallTxnTuning)
	rec := recordCommits(t, s)
	mustStore(t, s, testLogs(1, n, 1))
	assertOrdered(t, rec.wait(t, n), 1, n, false)
	assertBounds(t, s, 1, n)

	mustDelete(t, s, 0, 4500) // from before the first index: ascending
	assertOrdered(t, rec.wait(t, 4500), 1, 4500, false)
	assertBounds(t, s, 4501, n)
	assertMissing(t, s, 4500)
	assertLog(t, s, testLog(4501, 1))

	mustStore(t, s, testLogs(n+1, n+4000, 1))
	rec.wait(t, 4000)
	mustDelete(t, s, 4601, n+4000) // a tail: descending
	assertOrdered(t, rec.wait(t, n+4000-4600), 4601, n+4000, true)
	assertBounds(t, s, 4501, 4600)
	assertLog(t, s, testLog(4600, 1))
	assertMissing(t, s, 4601)

	mustDelete(t, s, 4501, 4600)
	assertBounds(t, s, 0, 0)
}

// TestLogStoreAppendsDuringCompaction: raft compacts the head of the log
// from its snapshot goroutine while the leader appends; an append must
// go through between two chunks of a long DeleteRange, and the bounds
// must describe the log at that moment.
func TestLogStoreAppendsDuringCompaction(t *testing.T) {
	const n = 3 * deleteChunk
	s := openTestLogStore(t, t.TempDir(), catalog.BadgerTuning{})
	mustStore(t, s, testLogs(1, n, 1))
	calls := 0
	testHookBetweenDeleteChunks = func() {
		calls++
		if calls > 1 {
			return
		}
		assertBounds(t, s, deleteChunk+1, n)
		done := make(chan error, 1)
		go func() { done <- s.StoreLogs(testLogs(n+1, n+1, 1)) }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("append during compaction: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("an append waited for the whole compaction")
		}
		assertBounds(t, s, deleteChunk+1, n+1)
	}
	defer func() { testHookBetweenDeleteChunks = nil }()
	mustDelete(t, s, 1, n-10)
	if calls != 2 {
		t.Fatalf("DeleteRange paused %d times between chunks, want 2", calls)
	}
	assertBounds(t, s, n-9, n+1)
	assertMissing(t, s, n-10)
	assertLog(t, s, testLog(n+1, 1))
}

func TestDecodeLogCorrupt(t *testing.T) {
	valid := encodeLog(nil, testLog(300, 7))
	tests := []struct {
		name string
		buf  []byte
	}{
		{"nil", nil},
		{"version only", []byte{logFormatV1}},
		{"unknown version", append([]byte{2}, valid[1:]...)},
		{"bad uvarint", append([]byte{logFormatV1}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"data longer than buffer", []byte{logFormatV1, 1, 1, 0, 0x7f, 'a'}},
		{"data length overflows int", append([]byte{logFormatV1, 1, 1, 0}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
		{"trailing byte", append(slices.Clone(valid), 0)},
	}
	for i := range len(valid) {
		tests = append(tests, struct {
			name string
			buf  []byte
		}{fmt.Sprintf("truncated to %d", i), valid[:i]})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := raft.Log{Index: 99}
			if err := decodeLog(tc.buf, &l); !errors.Is(err, ErrCorruptLog) {
				t.Fatalf("decodeLog(%x) = %v, want ErrCorruptLog", tc.buf, err)
			}
			if l.Index != 99 {
				t.Fatalf("decodeLog changed the log on error: %+v", l)
			}
		})
	}
}

func TestGetLogCorrupt(t *testing.T) {
	s := openTestLogStore(t, "", catalog.BadgerTuning{})
	put := func(index uint64, val []byte) {
		if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(logKey(index), val) }); err != nil {
			t.Fatal(err)
		}
	}
	put(1, []byte{0xde, 0xad})
	put(2, encodeLog(nil, testLog(3, 1))) // an entry stored under the wrong key
	for _, idx := range []uint64{1, 2} {
		var l raft.Log
		if err := s.GetLog(idx, &l); !errors.Is(err, ErrCorruptLog) {
			t.Fatalf("GetLog(%d) = %v, want ErrCorruptLog", idx, err)
		}
	}
}

func FuzzDecodeLog(f *testing.F) {
	f.Add(encodeLog(nil, testLog(1, 1)))                                   // a full entry
	f.Add(encodeLog(nil, &raft.Log{Index: 1<<64 - 1}))                     // max index, empty fields
	f.Add([]byte{logFormatV1, 0x80, 0x00, 1, 0, 0, 0, 0})                  // non-minimal varint
	f.Add([]byte{logFormatV1, 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'}) // length past the end
	f.Fuzz(func(t *testing.T, buf []byte) {
		var l raft.Log
		if err := decodeLog(buf, &l); err != nil {
			if !errors.Is(err, ErrCorruptLog) {
				t.Fatalf("error %v does not wrap ErrCorruptLog", err)
			}
			return
		}
		var again raft.Log
		if err := decodeLog(encodeLog(nil, &l), &again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if again.Index != l.Index || again.Term != l.Term || again.Type != l.Type || !bytes.Equal(again.Data, l.Data) ||
			!bytes.Equal(again.Extensions, l.Extensions) || !again.AppendedAt.Equal(l.AppendedAt) {
			t.Fatalf("round trip changed %+v into %+v", l, again)
		}
	})
}

func TestDecodeLogRandomBytesNeverPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	valid := encodeLog(nil, testLog(12345, 6))
	for range 20000 {
		buf := slices.Clone(valid)
		for range 1 + r.IntN(4) {
			buf[r.IntN(len(buf))] = byte(r.Uint32())
		}
		var l raft.Log
		if err := decodeLog(buf, &l); err != nil && !errors.Is(err, ErrCorruptLog) {
			t.Fatalf("decodeLog(%x) = %v", buf, err)
		}
	}
}

// recordingFSM remembers the data of every command it applies.
type recordingFSM struct {
	mu      sync.Mutex
	applied []string
}

func (f *recordingFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, string(l.Data))
	return nil
}

func (f *recordingFSM) Snapshot() (raft.FSMSnapshot, error) { return nopSnapshot{}, nil }
func (f *recordingFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

func (f *recordingFSM) get() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.applied)
}

type nopSnapshot struct{}

func (nopSnapshot) Persist(sink raft.SnapshotSink) error { return sink.Close() }
func (nopSnapshot) Release()                             {}

// startRaftOnLogStore runs a single-node raft on s as log and stable store, and
// waits for it to lead.
func startRaftOnLogStore(t *testing.T, s *LogStore, fsm raft.FSM, bootstrap bool) (*raft.Raft, raft.ServerAddress) {
	t.Helper()
	conf := raft.DefaultConfig()
	conf.LocalID = "n1"
	conf.HeartbeatTimeout = 50 * time.Millisecond
	conf.ElectionTimeout = 50 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.Logger = hclogslog.New(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})), "raft")
	addr, trans := raft.NewInmemTransport("")
	r, err := raft.NewRaft(conf, fsm, s, s, raft.NewInmemSnapshotStore(), trans)
	if err != nil {
		t.Fatalf("NewRaft on an empty LogStore: %v", err)
	}
	t.Cleanup(func() { _ = r.Shutdown().Error() })
	if bootstrap {
		cfg := raft.Configuration{Servers: []raft.Server{{ID: conf.LocalID, Address: addr}}}
		if err := r.BootstrapCluster(cfg).Error(); err != nil {
			t.Fatalf("BootstrapCluster: %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.State() != raft.Leader {
		if time.Now().After(deadline) {
			t.Fatalf("no leader after 10s, state %v", r.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return r, addr
}

// TestRaftOnLogStore pins the "not found" quirk: raft.NewRaft must accept a
// fresh LogStore as its stable store, and what raft persists must survive
// a reopen.
func TestRaftOnLogStore(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenLogStore(dir, catalog.BadgerTuning{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fsm := &recordingFSM{}
	r, addr := startRaftOnLogStore(t, s, fsm, true)
	if err := r.Apply([]byte("hello"), 5*time.Second).Error(); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := fsm.get(); !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("FSM applied %q, want [hello]", got)
	}
	term, last := r.CurrentTerm(), r.LastIndex()
	if err := r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestLogStore(t, dir, catalog.BadgerTuning{})
	if got, err := s.GetUint64([]byte("CurrentTerm")); err != nil || got != term || term == 0 {
		t.Fatalf("CurrentTerm = %d, %v; want %d (> 0)", got, err, term)
	}
	if got, err := s.GetUint64([]byte("LastVoteTerm")); err != nil || got != term {
		t.Fatalf("LastVoteTerm = %d, %v; want %d", got, err, term)
	}
	if got, err := s.Get([]byte("LastVoteCand")); err != nil || string(got) != string(addr) {
		t.Fatalf("LastVoteCand = %q, %v; want %q", got, err, addr)
	}
	assertBounds(t, s, 1, last)
	var l raft.Log
	if err := s.GetLog(last, &l); err != nil || string(l.Data) != "hello" || l.Type != raft.LogCommand || l.Term != term {
		t.Fatalf("GetLog(%d) = %+v, %v; want the hello command in term %d", last, l, err, term)
	}

	fsm2 := &recordingFSM{}
	r2, _ := startRaftOnLogStore(t, s, fsm2, false)
	if r2.CurrentTerm() <= term {
		t.Fatalf("restarted term %d, want > %d", r2.CurrentTerm(), term)
	}
	if err := r2.Apply([]byte("again"), 5*time.Second).Error(); err != nil {
		t.Fatalf("Apply after restart: %v", err)
	}
	if got := fsm2.get(); !slices.Equal(got, []string{"hello", "again"}) {
		t.Fatalf("restarted FSM applied %q, want [hello again]", got)
	}
}

func BenchmarkStoreLogs(b *testing.B) {
	for _, n := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			s := openTestLogStore(b, b.TempDir(), catalog.BadgerTuning{})
			data := bytes.Repeat([]byte{'x'}, 256)
			logs := make([]*raft.Log, n)
			for i := range logs {
				logs[i] = &raft.Log{Term: 1, Type: raft.LogCommand, Data: data, AppendedAt: time.Now()}
			}
			next := uint64(1)
			for b.Loop() {
				for _, l := range logs {
					l.Index = next
					next++
				}
				if err := s.StoreLogs(logs); err != nil {
					b.Fatal(err)
				}
			}
			entries := float64(next - 1)
			b.ReportMetric(entries/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/entries, "ns/entry")
		})
	}
}
