package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/catalog"
)

// ErrNotLeader: an operation that only the leader can run reached a
// follower.
var ErrNotLeader = errors.New("not the cluster leader")

// Restore replaces the whole cluster's catalog with a snapshot written by
// catalog.Snapshot (an operator's `snapshot restore`). It must run on the
// leader (ErrNotLeader otherwise): the stream is verified first, then
// handed to raft as a user snapshot, which followers receive by snapshot
// install. The snapshot's applied index becomes the Raft snapshot's index
// floor, so log entries after the restore are never mistaken for ones the
// restored catalog already holds.
func (s *Server) Restore(ctx context.Context, r io.Reader) error {
	if !s.IsLeader() {
		return ErrNotLeader
	}
	// Spooled in the data dir: it has room for the catalog, and a
	// container built FROM scratch has no /tmp.
	f, err := os.CreateTemp(s.cfg.DataDir, "beacon-restore-*.snap")
	if err != nil {
		return fmt.Errorf("restore: spool snapshot: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, r)
	if err != nil {
		return fmt.Errorf("restore: read snapshot: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	index, err := catalog.CheckSnapshot(f)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	timeout := s.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(1, time.Until(dl))
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: index, Size: size}
	if err := s.raft.Restore(meta, f, timeout); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// SnapshotTo writes a snapshot of this server's catalog to w and returns
// the index it was taken at.
func (s *Server) SnapshotTo(w io.Writer) (uint64, error) {
	sn, err := s.store.Snapshot()
	if err != nil {
		return 0, err
	}
	defer sn.Close()
	if _, err := sn.WriteTo(w); err != nil {
		return 0, err
	}
	return sn.Index(), nil
}
