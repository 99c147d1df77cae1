package catalog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// Restore atomically replaces all state with a snapshot's. It first copies
// the stream to a temporary file, checking it whole (format, record count,
// checksum): a truncated or corrupt snapshot is rejected with
// ErrCorruptSnapshot before anything changes. Then, excluding readers:
//
//  1. the applied index is set to 0 and synced, marking a restore in
//     progress: if the process dies from here on, AppliedIndex reads 0 on
//     reopen, and Raft restores the snapshot again;
//  2. everything is dropped and the snapshot's records loaded;
//  3. the snapshot's applied index is written last, and synced.
//
// Every watch fires afterwards. Call it from the apply goroutine.
func (s *Store) Restore(r io.Reader) error {
	f, index, err := s.spoolSnapshot(r)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.replaceAll(f, index); err != nil {
		return fmt.Errorf("restore snapshot at index %d: %w", index, err)
	}
	s.gen++
	s.hub.fireAll()
	s.log.Info("restored catalog snapshot", "index", index)
	return nil
}

// spoolSnapshot copies a snapshot stream to a temporary file while checking
// it, and returns the file (rewound) and the snapshot's applied index.
func (s *Store) spoolSnapshot(r io.Reader) (*os.File, uint64, error) {
	f, err := os.CreateTemp(s.tempDir(), "catalog-restore-*.snap")
	if err != nil {
		return nil, 0, err
	}
	index, err := checkSnapshot(io.TeeReader(r, f))
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	return f, index, nil
}

// tempDir is where restores spool: next to the database, or the system's
// temporary directory for an in-memory store.
func (s *Store) tempDir() string {
	if s.opts.Dir == "" {
		return ""
	}
	return filepath.Dir(filepath.Clean(s.opts.Dir))
}

// checkSnapshot reads a whole stream and returns its applied index if it
// checks out.
func checkSnapshot(r io.Reader) (uint64, error) {
	sr, err := newSnapReader(r)
	if err != nil {
		return 0, err
	}
	for {
		_, _, err := sr.next()
		if errors.Is(err, io.EOF) {
			return sr.index, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// replaceAll replaces the database's contents with the (checked) snapshot
// in r. The caller holds s.mu exclusively.
func (s *Store) replaceAll(r io.Reader, index uint64) error {
	s.kvc.reset() // empty and incomplete: every lookup reads Badger
	if err := s.setAppliedSynced(0); err != nil {
		return fmt.Errorf("mark restore in progress: %w", err)
	}
	if err := s.db.DropAll(); err != nil {
		return fmt.Errorf("drop state: %w", err)
	}
	if err := s.loadRecords(r); err != nil {
		return fmt.Errorf("load records: %w", err)
	}
	if err := s.setAppliedSynced(index); err != nil {
		return fmt.Errorf("record applied index: %w", err)
	}
	if err := s.loadMeta(); err != nil {
		return err
	}
	return s.kvc.fill(s.db)
}

func (s *Store) setAppliedSynced(index uint64) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(keyApplied), u64(index))
	})
	if err == nil {
		err = s.db.Sync()
	}
	if err == nil {
		s.applied.Store(index)
	}
	return err
}

// loadRecords writes a snapshot's records in batches.
func (s *Store) loadRecords(r io.Reader) error {
	sr, err := newSnapReader(r)
	if err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for {
		k, v, err := sr.next()
		if errors.Is(err, io.EOF) {
			return wb.Flush()
		}
		if err != nil {
			return err
		}
		if string(k) == keyApplied {
			continue
		}
		if err := wb.Set(k, v); err != nil {
			return err
		}
	}
}

// CheckSnapshot reads a whole snapshot stream, verifying its framing and
// checksum, and returns the applied index it was taken at. An error wraps
// ErrCorruptSnapshot.
func CheckSnapshot(r io.Reader) (uint64, error) { return checkSnapshot(r) }
