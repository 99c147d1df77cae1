package catalog

import (
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// ReadTx is a consistent read view of the catalog: one Badger read
// transaction, valid only inside the View callback that received it.
//
// Each method returns its data and the index a blocking query should
// report for it: the highest index the result depends on, never 0. Lists
// and maps are never nil. A storage error (rare: a damaged database) makes
// a method return empty data; the ReadTx records the first such error and
// View returns it, so callers need not check each call.
type ReadTx struct {
	txn *badger.Txn
	gen uint64
	err error
}

// Generation identifies the store's contents across snapshot restores: it
// changes whenever Restore replaces everything, so a cache keyed by an
// index must also compare the generation (a restored catalog may reuse
// indexes with different contents).
func (tx *ReadTx) Generation() uint64 { return tx.gen }

// Err returns the first storage error the view met.
func (tx *ReadTx) Err() error { return tx.err }

func (tx *ReadTx) fail(err error) {
	if err != nil && tx.err == nil {
		tx.err = err
	}
}

// get decodes the value at key into v, reporting whether it was found.
func (tx *ReadTx) get(key []byte, v any) bool {
	found, err := getValue(tx.txn, key, v)
	tx.fail(err)
	return found && err == nil
}

func (tx *ReadTx) u64(key []byte) uint64 {
	v, err := getU64(tx.txn, key)
	tx.fail(err)
	return v
}

// TableIndex returns a table's index: the last entry that changed it
// (at least 1).
func (tx *ReadTx) TableIndex(table string) uint64 {
	return max(tx.u64(kTableIndex(table)), 1)
}

// ServiceIndex returns the index of a service name: the last entry that
// changed its instances, their checks, or a node running it. For a name
// never registered, the index of the nodes and services tables.
func (tx *ReadTx) ServiceIndex(name string) uint64 {
	if v := tx.u64(kServiceIndex(name)); v > 0 {
		return v
	}
	return max(tx.u64(kTableIndex(TableServices)), tx.u64(kTableIndex(TableNodes)), 1)
}

// KV returns the entry at key (nil if none) and its ModifyIndex, or the KV
// table's index when it does not exist.
func (tx *ReadTx) KV(key string) (*KVEntry, uint64) {
	var e KVEntry
	if tx.get(kKV(key), &e) {
		return &e, max(e.ModifyIndex, 1)
	}
	return nil, tx.TableIndex(TableKV)
}

// KVList returns the entries under prefix, in key order. The index is the
// highest of theirs and of the tombstones under prefix (so deleting a key
// moves it forward), or the KV table's if there are neither.
func (tx *ReadTx) KVList(prefix string) ([]*KVEntry, uint64) {
	entries, err := prefixValues[KVEntry](tx.txn, kKV(prefix))
	tx.fail(err)
	idx := tx.tombstoneIndex(prefix)
	for _, e := range entries {
		idx = max(idx, e.ModifyIndex)
	}
	if idx == 0 {
		return entries, tx.TableIndex(TableKV)
	}
	return entries, idx
}

// KVKeys returns the keys under prefix, in order. With a separator, each
// key is cut after the first separator following the prefix, and repeats
// are dropped (Consul's ?keys&separator=). The index is KVList's.
func (tx *ReadTx) KVKeys(prefix, separator string) ([]string, uint64) {
	keys := []string{}
	idx := tx.tombstoneIndex(prefix)
	err := prefixEach(tx.txn, kKV(prefix), func(k, v []byte) error {
		var e KVEntry
		if err := decodeStored(v, &e); err != nil {
			return corrupt(k, err)
		}
		idx = max(idx, e.ModifyIndex)
		key := e.Key
		if separator != "" {
			if i := strings.Index(key[len(prefix):], separator); i >= 0 {
				key = key[:len(prefix)+i+len(separator)]
			}
		}
		if len(keys) == 0 || keys[len(keys)-1] != key {
			keys = append(keys, key)
		}
		return nil
	})
	tx.fail(err)
	if idx == 0 {
		return keys, tx.TableIndex(TableKV)
	}
	return keys, idx
}

// tombstoneIndex is the highest index of the tombstones under prefix.
func (tx *ReadTx) tombstoneIndex(prefix string) uint64 {
	var idx uint64
	tx.fail(prefixEach(tx.txn, kTomb(prefix), func(_, v []byte) error {
		idx = max(idx, readU64(v))
		return nil
	}))
	return idx
}

// Session returns a session (nil if none) and the sessions table's index.
func (tx *ReadTx) Session(id string) (*Session, uint64) {
	var s Session
	if tx.get(kSession(id), &s) {
		return &s, tx.TableIndex(TableSessions)
	}
	return nil, tx.TableIndex(TableSessions)
}

// Sessions returns every session, ordered by ID.
func (tx *ReadTx) Sessions() ([]*Session, uint64) {
	out, err := prefixValues[Session](tx.txn, []byte(pfxSession))
	tx.fail(err)
	return out, tx.TableIndex(TableSessions)
}

// NodeSessions returns the sessions of a node, ordered by ID.
func (tx *ReadTx) NodeSessions(node string) ([]*Session, uint64) {
	keys, err := prefixKeys(tx.txn, kSessionsOn(node), 0)
	tx.fail(err)
	out := make([]*Session, 0, len(keys))
	for _, k := range keys {
		var s Session
		if tx.get(kSession(lastPart(k)), &s) {
			out = append(out, &s)
		}
	}
	return out, tx.TableIndex(TableSessions)
}
