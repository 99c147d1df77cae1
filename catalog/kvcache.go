package catalog

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"

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
// reads Badger for no KV key at all. At its byte budget it admits no new
// key and is incomplete (a miss then reads Badger) until the next rebuild.
// Only the apply goroutine touches it (ApplyBatch, Restore), like the event
// log state.

// DefaultKVCacheBytes is the KV cache's budget when Options.KVCacheBytes is
// zero: the stored form of ~180,000 entries of 256-byte values.
const DefaultKVCacheBytes = 64 << 20

const (
	// kvCacheMaxValue is the largest stored encoding the cache holds;
	// a larger entry is recorded as present, and read from Badger.
	kvCacheMaxValue = 4 << 10
	// kvCacheSlotCost approximates an entry's cost beyond its record:
	// its map slot.
	kvCacheSlotCost = 24
	// kvCacheChunk is the size of the arena's chunks.
	kvCacheChunk = 1 << 20
	// A record's header: key length (2 bytes), value length (4 bytes;
	// kvCacheTooLarge: present, not held).
	kvRecHeader     = 6
	kvCacheTooLarge = math.MaxUint32
)

// kvCache keeps its records in an arena of byte chunks, indexed by a map
// from a hash of the key to the record's place. Neither holds a pointer
// per entry, so the garbage collector does not walk the cache: with a map
// of strings to slices it did, and each collection's mark phase took ten
// times longer with the cache full.
type kvCache struct {
	index    map[uint64]kvLoc
	chunks   [][]byte // the arena; the last one is being filled
	live     int64    // bytes of records the index points at
	garbage  int64    // bytes of records it no longer does
	budget   int64    // ≤ 0: the cache is off
	complete bool     // index holds every KV key
	hash     func([]byte) uint64
	// minGarbage is the garbage below which the arena is never
	// compacted (a chunk; tests lower it).
	minGarbage int64
}

// kvLoc is where a record lies: chunk, offset and length.
type kvLoc struct {
	chunk, off, n uint32
}

func newKVCache(budget int64) *kvCache {
	seed := maphash.MakeSeed()
	return &kvCache{
		index:      make(map[uint64]kvLoc),
		budget:     budget,
		hash:       func(b []byte) uint64 { return maphash.Bytes(seed, b) },
		minGarbage: kvCacheChunk,
	}
}

func (c *kvCache) enabled() bool { return c.budget > 0 }

// record returns the record at loc: its key and value (nil if too large
// to hold).
func (c *kvCache) record(loc kvLoc) (key, raw []byte, tooLarge bool) {
	r := c.chunks[loc.chunk][loc.off : loc.off+loc.n]
	kl := int(binary.LittleEndian.Uint16(r))
	vl := binary.LittleEndian.Uint32(r[2:])
	key = r[kvRecHeader : kvRecHeader+kl]
	if vl == kvCacheTooLarge {
		return key, nil, true
	}
	return key, r[kvRecHeader+kl:], false
}

// lookup answers for a stored KV key: known is false when only Badger can
// tell. raw lies in the arena: it is valid until the cache next changes
// (the applier's next commit).
func (c *kvCache) lookup(key []byte) (raw []byte, found, known bool) {
	loc, ok := c.index[c.hash(key)]
	if !ok {
		return nil, false, c.complete
	}
	k, v, tooLarge := c.record(loc)
	if tooLarge || string(k) != string(key) {
		return nil, false, false // not held, or another key's hash
	}
	return v, true, true
}

// set records key's committed encoding (deleted: the key was deleted). A
// key the cache does not hold is admitted only within the budget; one
// turned away makes the cache incomplete. Nothing is evicted: under a
// stream of new keys, eviction only churned the cache for entries that
// were never read again.
func (c *kvCache) set(key, raw []byte, deleted bool) {
	h := c.hash(key)
	loc, held := c.index[h]
	if held {
		if k, _, _ := c.record(loc); string(k) != string(key) {
			// Another key has this hash: the cache cannot hold both.
			if !deleted {
				c.complete = false
			}
			return
		}
		if !deleted && recordLen(key, raw) == int(loc.n) {
			// The same size (a rewrite of a same-sized value): in place.
			putRecord(c.chunks[loc.chunk][loc.off:loc.off:loc.off+loc.n], key, raw)
			return
		}
		c.live -= int64(loc.n)
		c.garbage += int64(loc.n)
		delete(c.index, h)
	}
	if deleted {
		c.maybeCompact()
		return
	}
	n := int64(recordLen(key, raw))
	if len(key) > math.MaxUint16 || (!held && c.live+int64(len(c.index)+1)*kvCacheSlotCost+n > c.budget) {
		c.complete = false
		return
	}
	c.index[h] = c.append(key, raw)
	c.live += n
	c.maybeCompact()
}

// recordLen is the size of key and raw's record.
func recordLen(key, raw []byte) int {
	if len(raw) > kvCacheMaxValue {
		return kvRecHeader + len(key)
	}
	return kvRecHeader + len(key) + len(raw)
}

// putRecord appends key and raw's record to b.
func putRecord(b, key, raw []byte) []byte {
	vl := uint32(len(raw))
	if len(raw) > kvCacheMaxValue {
		vl, raw = kvCacheTooLarge, nil
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(key)))
	b = binary.LittleEndian.AppendUint32(b, vl)
	return append(append(b, key...), raw...)
}

// append writes a record at the arena's end.
func (c *kvCache) append(key, raw []byte) kvLoc {
	n := recordLen(key, raw)
	last := len(c.chunks) - 1
	if last < 0 || len(c.chunks[last])+n > cap(c.chunks[last]) {
		c.chunks = append(c.chunks, make([]byte, 0, max(kvCacheChunk, n)))
		last++
	}
	off := len(c.chunks[last])
	c.chunks[last] = putRecord(c.chunks[last], key, raw)
	return kvLoc{chunk: uint32(last), off: uint32(off), n: uint32(n)}
}

// maybeCompact copies the live records into a new arena once the garbage
// outweighs them (and a chunk): a few milliseconds per 40 MB held.
func (c *kvCache) maybeCompact() {
	if c.garbage < c.minGarbage || c.garbage < c.live {
		return
	}
	old := c.chunks
	c.chunks = nil
	for h, loc := range c.index {
		key, raw, tooLarge := recordIn(old, loc)
		if tooLarge {
			raw = tooLargeMarker
		}
		c.index[h] = c.append(key, raw)
	}
	c.garbage = 0
}

func recordIn(chunks [][]byte, loc kvLoc) (key, raw []byte, tooLarge bool) {
	c := kvCache{chunks: chunks}
	return c.record(loc)
}

// reset empties the cache.
func (c *kvCache) reset() {
	clear(c.index)
	c.chunks = nil
	c.live, c.garbage, c.complete = 0, 0, false
}

// fill rebuilds the cache from the database: complete if every KV entry
// fits in the budget.
func (c *kvCache) fill(db *badger.DB) error {
	c.reset()
	if !c.enabled() {
		return nil
	}
	c.complete = true // until set turns a key away
	return db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte(pfxKV)
		it := txn.NewIterator(opts)
		defer it.Close()
		var buf []byte
		for it.Rewind(); it.Valid() && c.complete; it.Next() {
			item := it.Item()
			raw := tooLargeMarker
			if item.ValueSize() <= kvCacheMaxValue {
				var err error
				if buf, err = item.ValueCopy(buf[:0]); err != nil {
					c.reset()
					return fmt.Errorf("fill KV cache: %w", err)
				}
				raw = buf
			}
			c.set(item.Key(), raw, false)
		}
		return nil
	})
}

// tooLargeMarker stands for a value too large to hold, in fill.
var tooLargeMarker = make([]byte, kvCacheMaxValue+1)

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
	if err == nil && found && !c.complete && len(raw) <= kvCacheMaxValue {
		// Not written by this transaction (it would be in kvWrites):
		// the committed value.
		c.set(key, raw, false)
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
		c.set([]byte(k), w.raw, w.deleted)
	}
	clear(a.kvWrites)
}
