package raftstore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/internal/hclogslog"
)

// TestFutureErrorCh checks the patched raft's ErrorCh (third_party/raft,
// change 3): the error arrives on the channel, and Error still returns it
// after a select took it. A node that was never bootstrapped is a follower
// without a leader: it answers every Apply with ErrNotLeader.
func TestFutureErrorCh(t *testing.T) {
	conf := raft.DefaultConfig()
	conf.LocalID = "solo"
	conf.Logger = hclogslog.New(slog.New(slog.NewTextHandler(io.Discard, nil)), "raft")
	_, trans := raft.NewInmemTransport("solo")
	store := raft.NewInmemStore()
	r, err := raft.NewRaft(conf, &noopFSM{}, store, store, raft.NewInmemSnapshotStore(), trans)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Shutdown().Error() }()

	f := r.Apply([]byte("x"), time.Second)
	fc, ok := f.(errorChFuture)
	if !ok || fc.ErrorCh() == nil {
		t.Fatalf("future %T (error %v) has no ErrorCh: is third_party/raft's change 3 applied?", f, f.Error())
	}
	select {
	case err := <-fc.ErrorCh():
		if !errors.Is(err, raft.ErrNotLeader) {
			t.Fatalf("ErrorCh gave %v, want %v", err, raft.ErrNotLeader)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no error on ErrorCh within 10 s")
	}
	if err := f.Error(); !errors.Is(err, raft.ErrNotLeader) {
		t.Fatalf("Error after ErrorCh = %v, want %v (the error taken from the channel)", err, raft.ErrNotLeader)
	}
	// A future that was never taken from still answers Error as upstream.
	if err := r.Apply([]byte("y"), time.Second).Error(); !errors.Is(err, raft.ErrNotLeader) {
		t.Fatalf("Error = %v, want %v", err, raft.ErrNotLeader)
	}
}

type noopFSM struct{}

func (noopFSM) Apply(*raft.Log) any                 { return nil }
func (noopFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, errors.New("no snapshots") }
func (noopFSM) Restore(io.ReadCloser) error         { return errors.New("no snapshots") }

// stuckFuture is a future that answers only what is sent on ch.
type stuckFuture struct{ ch chan error }

func (f stuckFuture) Error() error          { return <-f.ch }
func (f stuckFuture) ErrorCh() <-chan error { return f.ch }

// TestAwaitUntil checks how a write's wait for raft ends: with the
// future's answer, the caller's context, the server's shutdown, or its
// deadline, noticed within a tick.
func TestAwaitUntil(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name     string
		deadline time.Duration // from the start; 0: none
		act      func(f stuckFuture, cancel context.CancelFunc, shutdown func())
		want     error
	}{
		{"answer", time.Minute, func(f stuckFuture, _ context.CancelFunc, _ func()) { f.ch <- errBoom }, errBoom},
		{"context", time.Minute, func(_ stuckFuture, cancel context.CancelFunc, _ func()) { cancel() }, context.Canceled},
		{"shutdown", 0, func(_ stuckFuture, _ context.CancelFunc, shutdown func()) { shutdown() }, ErrShutdown},
		{"deadline", 300 * time.Millisecond, func(stuckFuture, context.CancelFunc, func()) {}, context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{tick: newTick(), shutdownCh: make(chan struct{})}
			stopTick := make(chan struct{})
			defer close(stopTick)
			go s.tick.run(stopTick)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := stuckFuture{ch: make(chan error, 1)}
			start := time.Now()
			var deadline time.Time
			if tc.deadline > 0 {
				deadline = start.Add(tc.deadline)
			}
			done := make(chan error, 1)
			go func() { done <- s.awaitUntil(ctx, deadline, f) }()
			tc.act(f, cancel, func() { close(s.shutdownCh) })
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) {
					t.Fatalf("awaitUntil = %v, want %v", err, tc.want)
				}
				if tc.want == context.DeadlineExceeded && time.Since(start) < tc.deadline {
					t.Fatalf("gave up after %v, before its deadline of %v", time.Since(start), tc.deadline)
				}
			case <-time.After(tc.deadline + 5*time.Second):
				t.Fatalf("awaitUntil still waiting %v after its deadline", 5*time.Second)
			}
		})
	}
}
