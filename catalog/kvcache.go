package catalog

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// The KV cache: the apply path's copy of the stored KV entries, so that a
// KV write need not read its key back from Badger. A point read walks every
// memtable and level; under write load it was a quarter of a follower's CPU
// (every KV set, CAS, delete and lock reads the entry it replaces).
//
// It mirrors committed state exactly: the applier records its own writes
// to KV keys (set and del are the only ones) and they reach the cache only
// when their Badger transaction commits; Open and Restore rebuild it from
// the database. While it is complete — it was filled from a full scan and
// never had to drop an entry — a key it lacks is absent, and the apply path
// reads Badger for no KV key at all. Past its byte budget it drops entries
// and stays incomplete (a miss then reads Badger) until the next rebuild.
// Only the apply goroutine touches it (ApplyBatch, Restore), like the event
// log state.

// DefaultKVCacheBytes is the KV cache's budget when Options.KVCacheBytes is
// zero: the stored form of ~200,000 entries of 256-byte values.
const DefaultKVCacheBytes = 64 << 20

const (
	// kvCacheMaxValue is the largest stored encoding the cache holds;
	// a larger entry is recorded as present, and read from Badger.
	kvCacheMaxValue = 4 << 10
	// kvCacheOverhead approximates an entry's cost beyond its key and
	// value bytes: the map slot and the string and slice headers.
	kvCacheOverhead = 64
)

type kvCache struct {
	// entries maps a stored KV key (with pfxKV) to its stored encoding;
	// nil: the key exists but its encoding is too large to hold.
	entries  map[string][]byte
	bytes    int64 // approximate memory held
	budget   int64 // ≤ 0: the cache is off
	complete bool  // entries holds every KV key
}

func newKVCache(budget int64) *kvCache {
	return &kvCache{entries: make(map[string][]byte), budget: budget}
}

func (c *kvCache) enabled() bool { return c.budget > 0 }

// lookup answers for a stored KV key: known is false when only Badger can
// tell.
func (c *kvCache) lookup(key []byte) (raw []byte, found, known bool) {
	v, ok := c.entries[string(key)]
	switch {
	case ok && v != nil:
		return v, true, true
	case ok: // present, too large to hold
		return nil, false, false
	case c.complete:
		return nil, false, true
	}
	return nil, false, false
}

func entryCost(key string, raw []byte) int64 {
	return int64(len(key)+len(raw)) + kvCacheOverhead
}

// set records key's committed encoding (raw nil: the key was deleted).
func (c *kvCache) set(key string, raw []byte, deleted bool) {
	if old, ok := c.entries[key]; ok {
		c.bytes -= entryCost(key, old)
		delete(c.entries, key)
	}
	if deleted {
		return
	}
	if len(raw) > kvCacheMaxValue {
		raw = nil
	}
	c.entries[key] = raw
	c.bytes += entryCost(key, raw)
}

// shrink drops entries until the cache is within budget, leaving room to
// grow before the next shrink. Dropping any entry makes it incomplete.
func (c *kvCache) shrink() {
	if c.bytes <= c.budget {
		return
	}
	c.complete = false
	target := c.budget * 3 / 4
	for k, v := range c.entries { // Go's map order: random eviction
		if c.bytes <= target {
			break
		}
		c.bytes -= entryCost(k, v)
		delete(c.entries, k)
	}
}

// reset empties the cache.
func (c *kvCache) reset() {
	clear(c.entries)
	c.bytes, c.complete = 0, false
}

// fill rebuilds the cache from the database: complete if every KV entry
// fits in the budget.
func (c *kvCache) fill(db *badger.DB) error {
	c.reset()
	if !c.enabled() {
		return nil
	}
	return db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte(pfxKV)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			var raw []byte
			if item.ValueSize() <= kvCacheMaxValue {
				var err error
				if raw, err = item.ValueCopy(nil); err != nil {
					return fmt.Errorf("fill KV cache: %w", err)
				}
			}
			key := string(item.Key())
			c.entries[key] = raw
			c.bytes += entryCost(key, raw)
			if c.bytes > c.budget {
				c.shrink()
				return nil
			}
		}
		c.complete = true
		return nil
	})
}

// kvWrite is an applier's pending write of a KV key.
type kvWrite struct {
	raw     []byte
	deleted bool
}

// isKVKey reports whether a stored key is a KV entry's.
func isKVKey(key []byte) bool { return len(key) >= len(pfxKV) && string(key[:len(pfxKV)]) == pfxKV }

// getRaw reads the stored value at key through the applier's transaction:
// a KV key from its own pending writes or the cache when they know it.
// A read-only applier (ReadTx.Txn: no store) reads Badger: only the apply
// goroutine may touch the cache.
func (a *applier) getRaw(key []byte) ([]byte, bool, error) {
	if a.s == nil || !a.s.kvc.enabled() || !isKVKey(key) {
		return getRaw(a.txn, key)
	}
	c := a.s.kvc
	if w, ok := a.kvWrites[string(key)]; ok {
		return w.raw, !w.deleted, nil
	}
	if raw, found, known := c.lookup(key); known {
		return raw, found, nil
	}
	raw, found, err := getRaw(a.txn, key)
	if err == nil && found && !c.complete {
		// Not written by this transaction (it would be in kvWrites):
		// the committed value.
		c.set(string(key), raw, false)
		c.shrink()
	}
	return raw, found, err
}

// noteKVWrite records a write of a KV key, for the cache once the
// transaction commits. raw must not change afterwards (nor may it for
// Badger's Set).
func (a *applier) noteKVWrite(key, raw []byte, deleted bool) {
	if a.s == nil || !a.s.kvc.enabled() || !isKVKey(key) {
		return
	}
	if a.kvWrites == nil {
		a.kvWrites = make(map[string]kvWrite)
	}
	a.kvWrites[string(key)] = kvWrite{raw: raw, deleted: deleted}
}

// commitKVWrites hands a committed transaction's KV writes to the cache.
func (a *applier) commitKVWrites() {
	if len(a.kvWrites) == 0 {
		return
	}
	c := a.s.kvc
	for k, w := range a.kvWrites {
		c.set(k, w.raw, w.deleted)
	}
	c.shrink()
	clear(a.kvWrites)
}
