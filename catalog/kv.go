package catalog

import (
	"bytes"
	"fmt"
)

// kv applies a KV command; ok is false when its condition was unmet.
func (a *applier) kv(r *KVRequest) (ok bool, err error) {
	e := r.Entry
	switch r.Op {
	case KVSet:
		_, err = a.kvSet(&e, false)
		return true, err
	case KVCAS:
		_, ok, err = a.kvCAS(&e)
		return ok, err
	case KVDelete:
		_, err = a.kvDelete(e.Key)
		return true, err
	case KVDeleteCAS:
		return a.kvDeleteCAS(e.Key, e.ModifyIndex)
	case KVDeleteTree:
		_, err = a.kvDeleteTree(e.Key, 0)
		return true, err
	case KVLock:
		_, ok, err = a.kvLock(&e)
		return ok, err
	case KVUnlock:
		_, ok, err = a.kvUnlock(&e)
		return ok, err
	}
	return false, invalid("Op", "unknown KV operation %q", r.Op)
}

// load decodes the value at key into v and also returns its encoding.
func (a *applier) load(key []byte, v any) ([]byte, bool, error) {
	raw, found, err := a.getRaw(key)
	if !found || err != nil {
		return nil, false, err
	}
	if err := decodeStored(raw, v); err != nil {
		return nil, false, corrupt(key, err)
	}
	return raw, true, nil
}

// write stores v, whose RaftIndex is ri, at key. old is the RaftIndex of
// the stored value, stored that value as decoded and raw its encoding, or
// old is nil if there is none: then CreateIndex is kept, and nothing is
// written if v equals the stored value but for its ModifyIndex. It reports
// whether it wrote.
//
// Equality is decided on encodings of this binary's form: a value stored
// as a map (before structs were arrays) is encoded again from its decoded
// form rather than compared as it lies, so that servers writing either
// form decide alike; otherwise their indexes would diverge.
func (a *applier) write(key []byte, v any, ri, old *RaftIndex, stored any, raw []byte) (bool, error) {
	if old != nil {
		*ri = *old
		b, err := encodeValue(v)
		if err != nil {
			return false, fmt.Errorf("encode %T: %w", v, err)
		}
		if isMsgpackMap(raw) {
			if raw, err = encodeValue(stored); err != nil {
				return false, fmt.Errorf("encode %T: %w", stored, err)
			}
		}
		if bytes.Equal(b, raw) {
			return false, nil
		}
		ri.ModifyIndex = a.idx
	} else {
		*ri = RaftIndex{CreateIndex: a.idx, ModifyIndex: a.idx}
	}
	return true, a.put(key, v)
}

// kvSet stores e. Unless updateSession, the stored Session and LockIndex
// are kept (a plain set does not touch a lock). Writing an identical entry
// changes nothing. It returns the entry as stored.
func (a *applier) kvSet(e *KVEntry, updateSession bool) (*KVEntry, error) {
	var old KVEntry
	raw, found, err := a.load(kKV(e.Key), &old)
	if err != nil {
		return nil, err
	}
	if !updateSession {
		e.Session, e.LockIndex = old.Session, old.LockIndex
	}
	var oldRI *RaftIndex
	if found {
		oldRI = &old.RaftIndex
	}
	wrote, err := a.write(kKV(e.Key), e, &e.RaftIndex, oldRI, &old, raw)
	if !wrote || err != nil {
		return e, err
	}
	if found && old.Session != "" && old.Session != e.Session {
		if err := a.del(kHeld(old.Session, e.Key)); err != nil {
			return nil, err
		}
	}
	if e.Session != "" && old.Session != e.Session {
		if err := a.setEmpty(kHeld(e.Session, e.Key)); err != nil {
			return nil, err
		}
	}
	a.bumpTable(TableKV)
	a.changes.addKV(e.Key)
	ev := *e
	return e, a.emit(Event{Type: EventPut, Table: TableKV, Key: e.Key, KV: &ev})
}

// kvCAS sets e if its ModifyIndex matches the stored one (0: if absent).
func (a *applier) kvCAS(e *KVEntry) (*KVEntry, bool, error) {
	var old KVEntry
	found, err := a.get(kKV(e.Key), &old)
	if err != nil {
		return nil, false, err
	}
	if (e.ModifyIndex == 0 && found) || (e.ModifyIndex != 0 && (!found || old.ModifyIndex != e.ModifyIndex)) {
		return nil, false, nil
	}
	stored, err := a.kvSet(e, false)
	return stored, true, err
}

// kvDelete deletes key, reporting whether it existed.
func (a *applier) kvDelete(key string) (bool, error) {
	var old KVEntry
	found, err := a.get(kKV(key), &old)
	if !found || err != nil {
		return false, err
	}
	return true, a.kvRemove(&old)
}

// kvRemove deletes a stored entry, leaving a tombstone at the entry's
// index so the index of any prefix holding it never goes backwards.
func (a *applier) kvRemove(old *KVEntry) error {
	if err := a.del(kKV(old.Key)); err != nil {
		return err
	}
	if old.Session != "" {
		if err := a.del(kHeld(old.Session, old.Key)); err != nil {
			return err
		}
	}
	if err := a.set(kTomb(old.Key), u64(a.idx)); err != nil {
		return err
	}
	a.bumpTable(TableKV)
	a.changes.addKV(old.Key)
	return a.emit(Event{Type: EventDelete, Table: TableKV, Key: old.Key})
}

// kvDeleteCAS deletes key if its ModifyIndex is cidx. Deleting an absent
// key with cidx 0 succeeds (Consul's behaviour).
func (a *applier) kvDeleteCAS(key string, cidx uint64) (bool, error) {
	var old KVEntry
	found, err := a.get(kKV(key), &old)
	if err != nil {
		return false, err
	}
	if !found {
		return cidx == 0, nil
	}
	if old.ModifyIndex != cidx {
		return false, nil
	}
	return true, a.kvRemove(&old)
}

// kvDeleteTree deletes every key with prefix; with limit > 0, at most limit
// of them, reporting whether more remain.
func (a *applier) kvDeleteTree(prefix string, limit int) (more bool, err error) {
	n := 0
	if limit > 0 {
		n = limit + 1
	}
	keys, err := prefixKeys(a.txn, kKV(prefix), n)
	if err != nil {
		return false, err
	}
	if limit > 0 && len(keys) > limit {
		keys, more = keys[:limit], true
	}
	for _, k := range keys {
		if _, err := a.kvDelete(string(k[len(pfxKV):])); err != nil {
			return false, err
		}
	}
	return more, nil
}

// kvLock acquires e.Key for e.Session, setting its value and flags. ok is
// false when another session holds it or a lock delay applies.
func (a *applier) kvLock(e *KVEntry) (*KVEntry, bool, error) {
	found, err := a.get(kSession(e.Session), new(Session))
	if err != nil {
		return nil, false, err
	}
	if !found {
		return nil, false, fmt.Errorf("%w: session %q does not exist", ErrSessionInvalid, e.Session)
	}
	if delayed, err := a.lockDelayed(e.Key); delayed || err != nil {
		return nil, false, err
	}
	var old KVEntry
	found, err = a.get(kKV(e.Key), &old)
	if err != nil {
		return nil, false, err
	}
	switch {
	case !found:
		e.LockIndex = 1
	case old.Session == e.Session:
		e.LockIndex = old.LockIndex
	case old.Session != "":
		return &old, false, nil
	default:
		e.LockIndex = old.LockIndex + 1
	}
	stored, err := a.kvSet(e, true)
	return stored, true, err
}

// lockDelayed reports whether a lock delay still applies to key at the
// entry's time; an expired one is removed.
func (a *applier) lockDelayed(key string) (bool, error) {
	raw, found, err := getRaw(a.txn, kLockDelay(key))
	if !found || err != nil {
		return false, err
	}
	if nanos(a.now) < int64(readU64(raw)) {
		return true, nil
	}
	return false, a.del(kLockDelay(key))
}

// kvUnlock releases e.Key if e.Session holds it, setting its value and
// flags; ok is false otherwise.
func (a *applier) kvUnlock(e *KVEntry) (*KVEntry, bool, error) {
	var old KVEntry
	found, err := a.get(kKV(e.Key), &old)
	if err != nil {
		return nil, false, err
	}
	if !found || old.Session != e.Session {
		return nil, false, nil
	}
	e.LockIndex, e.Session = old.LockIndex, ""
	stored, err := a.kvSet(e, true)
	return stored, true, err
}

// reapTombstones removes the tombstones at or below index. It bumps no
// index and emits no event: no reader's result changes.
func (a *applier) reapTombstones(index uint64) error {
	var dead [][]byte
	err := prefixEach(a.txn, []byte(pfxTombstone), func(k, v []byte) error {
		if readU64(v) <= index {
			dead = append(dead, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range dead {
		if err := a.del(k); err != nil {
			return err
		}
	}
	return nil
}
