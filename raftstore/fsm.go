package raftstore

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/catalog"
)

// FSM adapts the catalog store to raft: it applies committed entries in
// batches (one Badger transaction per batch), snapshots and restores. Raft
// calls Apply, ApplyBatch, Snapshot and Restore from one goroutine; Applied
// and WaitApplied may be called from any.
type FSM struct {
	store *catalog.Store

	// applied is the highest log index handed to the store (commands and
	// configuration entries; raft never hands noops to the FSM).
	applied atomic.Uint64

	// mu guards notify, which is closed and replaced after every batch.
	mu     sync.Mutex
	notify chan struct{}
}

var (
	_ raft.FSM         = (*FSM)(nil)
	_ raft.BatchingFSM = (*FSM)(nil)
)

func newFSM(store *catalog.Store) *FSM {
	f := &FSM{store: store, notify: make(chan struct{})}
	f.applied.Store(store.AppliedIndex())
	return f
}

// Apply applies one entry.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries in one store transaction. A store
// failure or an unknown command type is fatal: continuing would make this
// server's catalog diverge from the others', so it panics, loudly.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	entries := make([]catalog.Entry, len(logs))
	for i, l := range logs {
		entries[i] = catalog.Entry{Index: l.Index, Time: l.AppendedAt, Data: l.Data, Config: l.Type == raft.LogConfiguration}
	}
	results, err := f.store.ApplyBatch(entries)
	if err != nil {
		panic(fmt.Sprintf("raftstore: fatal error applying entries %d..%d: %v", logs[0].Index, logs[len(logs)-1].Index, err))
	}
	out := make([]any, len(results))
	for i := range results {
		out[i] = results[i]
	}
	f.advance(logs[len(logs)-1].Index)
	return out
}

func (f *FSM) advance(idx uint64) {
	if idx > f.applied.Load() {
		f.applied.Store(idx)
	}
	f.mu.Lock()
	close(f.notify)
	f.notify = make(chan struct{})
	f.mu.Unlock()
}

// Applied returns the highest log index applied to the store.
func (f *FSM) Applied() uint64 { return f.applied.Load() }

// WaitApplied blocks until the store has applied index idx or ctx ends.
func (f *FSM) WaitApplied(ctx context.Context, idx uint64) error {
	for {
		f.mu.Lock()
		ch := f.notify
		f.mu.Unlock()
		if f.applied.Load() >= idx {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for index %d (applied %d): %w", idx, f.applied.Load(), ctx.Err())
		}
	}
}

// Snapshot captures the catalog at the applied index. The stream is
// written later by Persist, concurrently with further applies.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	sn, err := f.store.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("snapshot catalog: %w", err)
	}
	return &fsmSnapshot{sn: sn}, nil
}

// Restore replaces the whole catalog with a snapshot's.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := f.store.Restore(rc); err != nil {
		return fmt.Errorf("restore catalog: %w", err)
	}
	f.applied.Store(f.store.AppliedIndex())
	f.advance(f.store.AppliedIndex())
	return nil
}

type fsmSnapshot struct{ sn *catalog.Snapshot }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.sn.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write snapshot at index %d: %w", s.sn.Index(), err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() { s.sn.Close() }
