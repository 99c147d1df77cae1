package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Options configures a Store.
type Options struct {
	Dir    string       // "" → in-memory Badger
	Badger BadgerTuning // sizes; writes are never synced (the Raft log is the durable copy)
	Events EventRetention
	Logger *slog.Logger // nil → slog.Default()
	// KVCacheBytes bounds the apply path's copy of the stored KV entries
	// (see kvcache.go): 0 takes DefaultKVCacheBytes, negative turns it off.
	KVCacheBytes int64
}

// EventRetention bounds the event log. Both limits apply; a zero field takes
// its default (100,000 events, 1h) and a negative one disables that limit.
// Every server must use the same retention, or their catalogs (and Hash)
// differ in which events they keep.
type EventRetention struct {
	MaxEvents int
	MaxAge    time.Duration
}

// maxInMemoryValue is Badger's ceiling for ValueThreshold.
const maxInMemoryValue = 1 << 20

// Default event retention.
const (
	DefaultMaxEvents = 100_000
	DefaultMaxAge    = time.Hour
)

// DefaultOptions returns an in-memory store with default tuning and
// retention.
func DefaultOptions() Options {
	return Options{
		Badger: DefaultBadgerTuning(),
		Events: EventRetention{MaxEvents: DefaultMaxEvents, MaxAge: DefaultMaxAge},
	}
}

func (r EventRetention) withDefaults() EventRetention {
	if r.MaxEvents == 0 {
		r.MaxEvents = DefaultMaxEvents
	}
	if r.MaxAge == 0 {
		r.MaxAge = DefaultMaxAge
	}
	return r
}

// Store is the catalog: nodes, services, checks, KV, sessions, the event
// log and the per-table and per-service indexes, in one Badger database.
// See the package documentation for who may call what concurrently.
type Store struct {
	db      *badger.DB
	opts    Options
	log     *slog.Logger
	hub     *WatchHub
	applied atomic.Uint64 // the applied index, mirrored from keyApplied after each commit
	// maxValue is the largest value Badger accepts: the value log file
	// size, or for an in-memory store the value threshold.
	maxValue int64

	// ev is the event log's bookkeeping; only the apply goroutine
	// (ApplyBatch, Restore) touches it.
	ev eventState
	// kvc is the apply path's KV cache; the apply goroutine alone
	// touches it, as ev.
	kvc *kvCache

	// mu guards the following fields, and the database's contents against
	// Restore: View, Snapshot.WriteTo and ApplyBatch hold it shared, Restore
	// and Close exclusively.
	mu     sync.RWMutex
	closed bool
	gen    uint64 // bumped by Restore; a Snapshot of an older generation is void
}

// Open opens (or creates) the store at opts.Dir.
func Open(opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Events = opts.Events.withDefaults()
	if err := opts.Badger.Validate(); err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	bo := opts.Badger.BadgerOptions(opts.Dir, opts.Logger).
		WithSyncWrites(false).
		WithDetectConflicts(false) // one writer: the apply goroutine
	maxValue := bo.ValueLogFileSize
	if bo.InMemory {
		// Without a value log, Badger refuses any value above the
		// threshold: raise it as far as Badger allows.
		bo.ValueThreshold = min(maxInMemoryValue, bo.MemTableSize*15/100)
		maxValue = bo.ValueThreshold
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("open catalog at %q: %w", opts.Dir, err)
	}
	budget := opts.KVCacheBytes
	if budget == 0 {
		budget = DefaultKVCacheBytes
	}
	s := &Store{db: db, opts: opts, log: opts.Logger, hub: newWatchHub(), maxValue: maxValue, kvc: newKVCache(budget)}
	err = s.loadMeta()
	if err == nil {
		err = s.kvc.fill(db)
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open catalog at %q: %w", opts.Dir, err)
	}
	return s, nil
}

// loadMeta reads the applied index and the event log state.
func (s *Store) loadMeta() error {
	return s.db.View(func(txn *badger.Txn) error {
		applied, err := getU64(txn, []byte(keyApplied))
		if err != nil {
			return err
		}
		s.applied.Store(applied)
		s.ev, err = loadEventState(txn)
		return err
	})
}

// Close closes the database and wakes every watcher. It waits for views in
// progress.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.hub.closeHub()
	return s.db.Close()
}

// AppliedIndex returns the index of the last applied entry (0 for a new
// store, or one whose restore did not finish).
func (s *Store) AppliedIndex() uint64 { return s.applied.Load() }

// Hub returns the watch hub that wakes readers when their data changes.
func (s *Store) Hub() *WatchHub { return s.hub }

// View runs fn with a consistent read view of the catalog. The view's
// methods record the first storage error they meet; View returns it if fn
// returns nil. fn must not keep the ReadTx.
func (s *Store) View(fn func(*ReadTx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	tx := &ReadTx{txn: txn, gen: s.gen}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.err
}

// Hash returns the hex SHA-256 of the logical state: every key and value
// except the applied index. Two stores that applied the same log prefix, or
// one restored from a snapshot of it, hash equal.
func (s *Store) Hash() (string, error) {
	h := sha256.New()
	err := s.View(func(tx *ReadTx) error {
		return eachRecord(tx.txn, func(k, v []byte) error { return writeKV(h, k, v) })
	})
	if err != nil {
		return "", fmt.Errorf("hash catalog: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
