package raftstore

import (
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
