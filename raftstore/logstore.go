package raftstore

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/hashicorp/raft"
)

// ErrKeyNotFound is what the StableStore methods return for a key that was
// never set. The message is load-bearing: raft does not use errors.Is but
// compares err.Error() with "not found" (raft.NewRaft, HasExistingState,
// requestVote), so a fresh store must answer with exactly this string or
// raft refuses to start. It is the one error in beacon compared by string.
var ErrKeyNotFound = errors.New("not found")

// ErrCorruptLog is returned (wrapped) when a stored log entry does not
// decode.
var ErrCorruptLog = errors.New("corrupt raft log entry")

// Key layout: one prefix byte, then an 8-byte big-endian index for a log
// entry (so keys sort by index) or the raw key for a stable-store entry.
const (
	prefixLog    byte = 0x01
	prefixStable byte = 0x02
)

// logFormatV1 is the first byte of every encoded log entry.
const logFormatV1 byte = 1

// LogStore is a raft.LogStore and raft.StableStore on one Badger database.
//
// Concurrency: raft calls GetLog from replication goroutines while the main
// loop appends and the snapshot goroutine compacts, so every method is safe
// for concurrent use. Writers (StoreLogs, DeleteRange) are serialized by
// writeMu so the cached bounds always describe the committed log; readers
// take no lock.
type LogStore struct {
	db *badger.DB

	writeMu sync.Mutex // serializes log writers; held while first/last change
	first   atomic.Uint64
	last    atomic.Uint64
}

var (
	_ raft.LogStore    = (*LogStore)(nil)
	_ raft.StableStore = (*LogStore)(nil)
)

// OpenLogStore opens (creating if needed) the store in dir, or an in-memory
// store when dir is "" (dev mode: nothing survives Close, nothing is synced).
// On disk every commit is fsynced before it returns, as raft requires.
func OpenLogStore(dir string, tuning catalog.BadgerTuning, logger *slog.Logger) (*LogStore, error) {
	if err := tuning.Validate(); err != nil {
		return nil, fmt.Errorf("open raft log store: %w", err)
	}
	// Log entries live only until the next snapshot compacts them:
	// compressing their blocks costs CPU and saves little.
	opts := tuning.BadgerOptions(dir, logger).WithSyncWrites(dir != "").WithCompression(options.None)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open raft log store %q: %w", dir, err)
	}
	s := &LogStore{db: db}
	if err := s.loadBounds(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open raft log store %q: %w", dir, err)
	}
	return s, nil
}

// Close closes the database. The store must not be used afterwards.
func (s *LogStore) Close() error { return s.db.Close() }

func logKey(index uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixLog
	binary.BigEndian.PutUint64(k[1:], index)
	return k
}

func stableKey(key []byte) []byte {
	return append([]byte{prefixStable}, key...)
}

// loadBounds sets the cached first and last index from the database.
func (s *LogStore) loadBounds() error {
	first, last, err := s.scanBounds()
	if err != nil {
		return err
	}
	s.first.Store(first)
	s.last.Store(last)
	return nil
}

// scanBounds seeks the first and last log keys; 0, 0 for an empty log.
func (s *LogStore) scanBounds() (first, last uint64, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		for _, reverse := range []bool{false, true} {
			opts := badger.IteratorOptions{Prefix: []byte{prefixLog}, Reverse: reverse}
			it := txn.NewIterator(opts)
			seek := []byte{prefixLog}
			if reverse {
				seek = logKey(math.MaxUint64)
			}
			it.Seek(seek)
			if it.Valid() {
				idx := binary.BigEndian.Uint64(it.Item().Key()[1:])
				if reverse {
					last = idx
				} else {
					first = idx
				}
			}
			it.Close()
		}
		return nil
	})
	return first, last, err
}

// FirstIndex returns the lowest stored index, 0 if the log is empty.
func (s *LogStore) FirstIndex() (uint64, error) { return s.first.Load(), nil }

// LastIndex returns the highest stored index, 0 if the log is empty.
func (s *LogStore) LastIndex() (uint64, error) { return s.last.Load(), nil }

// GetLog reads the entry at index into log; raft.ErrLogNotFound if there is
// none.
func (s *LogStore) GetLog(index uint64, log *raft.Log) error {
	var val []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(logKey(index))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return fmt.Errorf("get raft log %d: %w", index, err)
	}
	if err := decodeLog(val, log); err != nil {
		return fmt.Errorf("get raft log %d: %w", index, err)
	}
	if log.Index != index {
		return fmt.Errorf("get raft log %d: %w: entry says index %d", index, ErrCorruptLog, log.Index)
	}
	return nil
}

// StoreLog stores one entry (see StoreLogs).
func (s *LogStore) StoreLog(log *raft.Log) error { return s.StoreLogs([]*raft.Log{log}) }

// StoreLogs stores logs, replacing entries at the same indexes.
//
// The batch is written in one Badger transaction, so it is stored entirely
// or not at all. A batch too big for one transaction (badger.ErrTxnTooBig)
// is split into several, committed one after the other in ascending index
// order, each fsynced before the next begins. A crash between two of them
// therefore leaves a prefix of the batch stored and never a gap: raft sees
// a shorter log, which it repairs by replication, whereas a gap would
// violate the Log Matching property it relies on. The cached bounds change
// only after each commit, and then only to cover what that commit stored.
// One entry too big for a transaction on its own is an error (in memory,
// about 15% of the memtable size; on disk its value goes to the value log,
// so only a value bigger than a value log file is).
func (s *LogStore) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	if !slices.IsSortedFunc(logs, compareLogIndex) {
		logs = slices.Clone(logs)
		slices.SortStableFunc(logs, compareLogIndex)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	start := 0 // first entry of logs in the open transaction
	for i, l := range logs {
		// Badger keeps the value slice until commit, so each gets its own.
		val := encodeLog(make([]byte, 0, len(l.Data)+len(l.Extensions)+56), l)
		err := txn.Set(logKey(l.Index), val)
		if errors.Is(err, badger.ErrTxnTooBig) && i > start {
			if err := s.commitLogsLocked(txn, logs[start:i]); err != nil {
				return err
			}
			txn.Discard()
			txn, start = s.db.NewTransaction(true), i
			err = txn.Set(logKey(l.Index), val)
		}
		if err != nil {
			return fmt.Errorf("store raft log %d: %w", l.Index, err)
		}
	}
	return s.commitLogsLocked(txn, logs[start:])
}

func compareLogIndex(a, b *raft.Log) int { return cmp.Compare(a.Index, b.Index) }

// commitLogsLocked commits txn, which holds logs (sorted by index), and
// widens the cached bounds to cover them. writeMu must be held.
func (s *LogStore) commitLogsLocked(txn *badger.Txn, logs []*raft.Log) error {
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("store raft logs %d-%d: %w", logs[0].Index, logs[len(logs)-1].Index, err)
	}
	lo, hi := logs[0].Index, logs[len(logs)-1].Index
	if f := s.first.Load(); f == 0 || lo < f {
		s.first.Store(lo)
	}
	if hi > s.last.Load() {
		s.last.Store(hi)
	}
	return nil
}

// deleteChunk is how many indexes DeleteRange deletes per transaction.
const deleteChunk = 4096

// DeleteRange deletes the entries with indexes in [min, max].
//
// A big range takes several transactions. Their order keeps the log
// gap-free if a crash interrupts them: when the range starts at or before
// the first index (raft's compaction after a snapshot) entries are deleted
// in ascending order, so what remains is always a suffix of the log; else
// (raft truncating a conflicting tail) in descending order, so what remains
// is always a prefix.
//
// writeMu is held for one chunk at a time, not for the whole range: raft
// compacts from its snapshot goroutine while the leader keeps appending,
// and a compaction of hundreds of thousands of entries must not stall
// StoreLogs (it did, for seconds, under sustained load). The cached bounds
// move after each chunk, so they always describe the committed log.
func (s *LogStore) DeleteRange(min, max uint64) error {
	for min <= max {
		next, err := s.deleteChunkOf(min, max)
		if err != nil {
			return fmt.Errorf("delete raft logs %d-%d: %w", min, max, err)
		}
		if next == nil {
			return nil
		}
		if testHookBetweenDeleteChunks != nil {
			testHookBetweenDeleteChunks()
		}
		min, max = next[0], next[1]
	}
	return nil
}

// testHookBetweenDeleteChunks, when set by a test, runs between two chunks
// of a DeleteRange, with writeMu released.
var testHookBetweenDeleteChunks func()

// deleteChunkOf deletes up to deleteChunk stored indexes of [min, max],
// from the end the order rules pick, updates the cached bounds, and
// returns the range left to delete (nil when it is done).
func (s *LogStore) deleteChunkOf(min, max uint64) (*[2]uint64, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	head := min <= s.first.Load()
	tail := max >= s.last.Load()
	idxs, err := s.scanIndexes(min, max, !head, deleteChunk)
	if err != nil || len(idxs) == 0 {
		return nil, err
	}
	if err := s.deleteBatchLocked(idxs); err != nil {
		// Part of the chunk may be gone: re-read the bounds.
		return nil, errors.Join(err, s.loadBounds())
	}
	end := idxs[len(idxs)-1]
	switch {
	case head, tail:
		// Everything beyond end is gone: the new bound is the first entry
		// left past it (after it for the head, before it for the tail).
		from, bound := end+1, &s.first
		if !head {
			from, bound = end-1, &s.last
		}
		idx, ok, err := s.seekIndex(from, !head)
		if err != nil {
			return nil, err
		}
		if !ok {
			s.first.Store(0)
			s.last.Store(0)
			return nil, nil
		}
		bound.Store(idx)
	default: // a hole in the middle; raft never asks for one
		if err := s.loadBounds(); err != nil {
			return nil, err
		}
	}
	if len(idxs) < deleteChunk || (head && end >= max) || (!head && end <= min) {
		return nil, nil
	}
	if head {
		return &[2]uint64{end + 1, max}, nil
	}
	return &[2]uint64{min, end - 1}, nil
}

// seekIndex returns the first stored index at or after from (at or before
// it when reverse), and whether there is one.
func (s *LogStore) seekIndex(from uint64, reverse bool) (uint64, bool, error) {
	var idx uint64
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLog}, Reverse: reverse})
		defer it.Close()
		it.Seek(logKey(from))
		if it.Valid() {
			idx, ok = binary.BigEndian.Uint64(it.Item().Key()[1:]), true
		}
		return nil
	})
	return idx, ok, err
}

// scanIndexes returns up to limit stored indexes in [min, max], in
// ascending or descending order.
func (s *LogStore) scanIndexes(min, max uint64, descending bool, limit int) ([]uint64, error) {
	var idxs []uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLog}, Reverse: descending})
		defer it.Close()
		seek := min
		if descending {
			seek = max
		}
		for it.Seek(logKey(seek)); it.Valid() && len(idxs) < limit; it.Next() {
			idx := binary.BigEndian.Uint64(it.Item().Key()[1:])
			if idx < min || idx > max {
				break
			}
			idxs = append(idxs, idx)
		}
		return nil
	})
	return idxs, err
}

// deleteBatchLocked deletes idxs in order, in as few transactions as Badger
// allows, committing each before starting the next.
func (s *LogStore) deleteBatchLocked(idxs []uint64) error {
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	pending := 0
	for _, idx := range idxs {
		err := txn.Delete(logKey(idx))
		if errors.Is(err, badger.ErrTxnTooBig) && pending > 0 {
			if err := txn.Commit(); err != nil {
				return err
			}
			txn.Discard()
			txn, pending = s.db.NewTransaction(true), 0
			err = txn.Delete(logKey(idx))
		}
		if err != nil {
			return err
		}
		pending++
	}
	return txn.Commit()
}

// Set stores val under key in the stable store.
func (s *LogStore) Set(key, val []byte) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(stableKey(key), bytes.Clone(val))
	})
	if err != nil {
		return fmt.Errorf("set stable key %q: %w", key, err)
	}
	return nil
}

// Get returns the value stored under key (an empty, non-nil slice for an
// empty value), or nil and ErrKeyNotFound if key was never set.
func (s *LogStore) Get(key []byte) ([]byte, error) {
	var val []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(stableKey(key))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		if val == nil {
			val = []byte{}
		}
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get stable key %q: %w", key, err)
	}
	return val, nil
}

// SetUint64 stores val under key as 8 big-endian bytes.
func (s *LogStore) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 returns the number stored under key with SetUint64, or 0 and
// ErrKeyNotFound if key was never set.
func (s *LogStore) GetUint64(key []byte) (uint64, error) {
	val, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(val) != 8 {
		return 0, fmt.Errorf("get stable key %q: value is %d bytes, not a uint64", key, len(val))
	}
	return binary.BigEndian.Uint64(val), nil
}

// encodeLog appends the encoding of l to buf: the format version, then
// Index, Term, Type, Data, Extensions and AppendedAt (Unix nanoseconds, 0
// for the zero time), lengths and numbers as uvarints.
func encodeLog(buf []byte, l *raft.Log) []byte {
	buf = append(buf, logFormatV1)
	buf = binary.AppendUvarint(buf, l.Index)
	buf = binary.AppendUvarint(buf, l.Term)
	buf = append(buf, byte(l.Type))
	buf = binary.AppendUvarint(buf, uint64(len(l.Data)))
	buf = append(buf, l.Data...)
	buf = binary.AppendUvarint(buf, uint64(len(l.Extensions)))
	buf = append(buf, l.Extensions...)
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	return binary.AppendVarint(buf, at)
}

// decodeLog parses an encodeLog encoding into l. It returns an error
// wrapping ErrCorruptLog, and never panics, on any malformed input. Data and
// Extensions alias buf.
func decodeLog(buf []byte, l *raft.Log) error {
	d := decoder{buf: buf}
	if v := d.byte(); d.err == nil && v != logFormatV1 {
		return fmt.Errorf("%w: unknown format version %d", ErrCorruptLog, v)
	}
	out := raft.Log{Index: d.uvarint(), Term: d.uvarint(), Type: raft.LogType(d.byte())}
	out.Data = d.bytes()
	out.Extensions = d.bytes()
	if at := d.varint(); at != 0 {
		out.AppendedAt = time.Unix(0, at)
	}
	if d.err == nil && len(d.buf) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptLog, d.err)
	}
	*l = out
	return nil
}

// decoder reads fields from buf, remembering the first error; after an
// error every read returns a zero value.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) == 0 {
		d.err = errors.New("truncated")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = errors.New("bad uvarint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// bytes reads a length-prefixed byte string; nil when it is empty.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.err = fmt.Errorf("length %d exceeds remaining %d bytes", n, len(d.buf))
		return nil
	}
	if n == 0 {
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}
