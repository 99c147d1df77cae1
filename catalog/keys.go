package catalog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-msgpack/v2/codec"
)

// Key prefixes: one letter and a NUL. Composite keys join their parts with
// NUL, which validation forbids in names and keys, so a prefix scan over
// "a\x00" never matches "ab". See doc.go for the full layout.
const (
	sep              = "\x00"
	pfxMeta          = "m\x00" // store metadata (applied index, event log state)
	pfxNode          = "n\x00" // node → Node
	pfxService       = "s\x00" // node, service ID → Service
	pfxServiceName   = "S\x00" // service name, node, service ID → empty
	pfxCheck         = "c\x00" // node, check ID → Check
	pfxKV            = "k\x00" // key → KVEntry
	pfxTombstone     = "t\x00" // key → deletion index
	pfxSession       = "x\x00" // session ID → Session
	pfxSessionNode   = "X\x00" // node, session ID → empty
	pfxSessionCheck  = "b\x00" // node, check ID, session ID → empty
	pfxSessionHeld   = "h\x00" // session ID, key → empty (keys the session holds)
	pfxLockDelay     = "d\x00" // key → unix nanoseconds before which it cannot be locked
	pfxTableIndex    = "i\x00" // table → index
	pfxServiceIndex  = "I\x00" // service name → index
	pfxMember        = "l\x00" // node → Member (a node that left)
	pfxEvent         = "e\x00" // revision (8 bytes BE), seq (4 bytes BE) → time (8 bytes BE) + Event
	keyApplied       = pfxMeta + "applied"
	keyEventCount    = pfxMeta + "events"
	keyEventFloor    = pfxMeta + "events-floor"
	keyEventClock    = pfxMeta + "events-clock"
	eventKeyLen      = len(pfxEvent) + 12
	eventValueHeader = 8
)

func kNode(node string) []byte        { return []byte(pfxNode + node) }
func kService(node, id string) []byte { return []byte(pfxService + node + sep + id) }
func kServicesOn(node string) []byte  { return []byte(pfxService + node + sep) }
func kServiceName(name, node, id string) []byte {
	return []byte(pfxServiceName + name + sep + node + sep + id)
}
func kServiceNamePrefix(name string) []byte { return []byte(pfxServiceName + name + sep) }
func kCheck(node, id string) []byte         { return []byte(pfxCheck + node + sep + id) }
func kChecksOn(node string) []byte          { return []byte(pfxCheck + node + sep) }
func kKV(key string) []byte                 { return []byte(pfxKV + key) }
func kTomb(key string) []byte               { return []byte(pfxTombstone + key) }
func kSession(id string) []byte             { return []byte(pfxSession + id) }
func kSessionNode(node, id string) []byte   { return []byte(pfxSessionNode + node + sep + id) }
func kSessionsOn(node string) []byte        { return []byte(pfxSessionNode + node + sep) }
func kSessionCheck(node, check, id string) []byte {
	return []byte(pfxSessionCheck + node + sep + check + sep + id)
}
func kSessionsOnCheck(node, check string) []byte {
	return []byte(pfxSessionCheck + node + sep + check + sep)
}
func kHeld(session, key string) []byte { return []byte(pfxSessionHeld + session + sep + key) }
func kHeldBy(session string) []byte    { return []byte(pfxSessionHeld + session + sep) }
func kLockDelay(key string) []byte     { return []byte(pfxLockDelay + key) }
func kMember(node string) []byte       { return []byte(pfxMember + node) }
func kTableIndex(table string) []byte  { return []byte(pfxTableIndex + table) }
func kServiceIndex(name string) []byte { return []byte(pfxServiceIndex + name) }
func kEventsFrom(rev uint64) []byte    { return binary.BigEndian.AppendUint64([]byte(pfxEvent), rev) }
func kEvent(rev uint64, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(kEventsFrom(rev), seq)
}

// parseEventKey returns the revision and seq of an event key.
func parseEventKey(k []byte) (rev uint64, seq uint32, ok bool) {
	if len(k) != eventKeyLen {
		return 0, 0, false
	}
	p := len(pfxEvent)
	return binary.BigEndian.Uint64(k[p:]), binary.BigEndian.Uint32(k[p+8:]), true
}

// lastPart returns what follows the last NUL of a key.
func lastPart(k []byte) string {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] == 0 {
			return string(k[i+1:])
		}
	}
	return string(k)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// nanos is t in Unix nanoseconds, 0 for the zero time (whose UnixNano is
// undefined).
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// getRaw returns a copy of the value at key.
func getRaw(txn *badger.Txn, key []byte) ([]byte, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v, err := item.ValueCopy(nil)
	return v, err == nil, err
}

// getValue decodes the value at key into v.
func getValue(txn *badger.Txn, key []byte, v any) (bool, error) {
	raw, ok, err := getRaw(txn, key)
	if !ok || err != nil {
		return false, err
	}
	if err := decodeStored(raw, v); err != nil {
		return false, corrupt(key, err)
	}
	return true, nil
}

// getU64 reads a uint64 stored at key (0 if absent).
func getU64(txn *badger.Txn, key []byte) (uint64, error) {
	raw, _, err := getRaw(txn, key)
	return readU64(raw), err
}

// corrupt wraps a stored value that does not decode: the store is damaged.
func corrupt(key []byte, err error) error {
	return fmt.Errorf("catalog: stored value at %q does not decode: %w", key, err)
}

// prefixKeys returns copies of the first n keys with prefix (n <= 0: all
// of them), in order.
func prefixKeys(txn *badger.Txn, prefix []byte, n int) ([][]byte, error) {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = prefix
	it := txn.NewIterator(opts)
	defer it.Close()
	var keys [][]byte
	for it.Seek(prefix); it.Valid() && (n <= 0 || len(keys) < n); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	return keys, nil
}

// prefixEach calls fn for every key with prefix and its value, in order.
// fn must not keep k or v, nor write to txn.
func prefixEach(txn *badger.Txn, prefix []byte, fn func(k, v []byte) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchSize = 16
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(prefix); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if err := item.Value(func(v []byte) error { return fn(k, v) }); err != nil {
			return err
		}
	}
	return nil
}

// prefixValues decodes every value under prefix, in key order.
func prefixValues[T any](txn *badger.Txn, prefix []byte) ([]*T, error) {
	out := []*T{}
	err := prefixEach(txn, prefix, func(k, v []byte) error {
		t := new(T)
		if err := decodeStored(v, t); err != nil {
			return corrupt(k, err)
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

// decoders pools msgpack decoders: a decoder is large, and reads decode
// many small values.
var decoders = sync.Pool{New: func() any { return codec.NewDecoderBytes(nil, msgpackHandle) }}

// decodeStored decodes a stored entity with a pooled decoder. It copies what it
// decodes, so data may be a buffer Badger reuses.
func decodeStored(data []byte, v any) (err error) {
	d := decoders.Get().(*codec.Decoder)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decode panic: %v", r)
			return // a decoder that panicked is not reused
		}
		decoders.Put(d)
	}()
	d.ResetBytes(data)
	return d.Decode(v)
}
