package catalog

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// eventState is the event log's bookkeeping. count, floor and clock are
// stored in meta keys (part of the logical state, so they hash and
// snapshot); oldest is derived and lives in memory only.
type eventState struct {
	count  int64  // events retained
	floor  uint64 // every event at or below this revision is removed (or being removed)
	clock  int64  // the latest event time, in Unix ns: retention's "now"
	oldest int64  // time of the oldest retained event, in Unix ns
}

func loadEventState(txn *badger.Txn) (eventState, error) {
	var ev eventState
	var vals [3]uint64
	for i, k := range []string{keyEventCount, keyEventFloor, keyEventClock} {
		v, err := getU64(txn, []byte(k))
		if err != nil {
			return ev, err
		}
		vals[i] = v
	}
	ev.count, ev.floor, ev.clock = int64(vals[0]), vals[1], int64(vals[2])
	t, _, err := oldestEvent(txn, ev.floor)
	ev.oldest = t
	return ev, err
}

// oldestEvent returns the time and key of the first event after floor
// (nil key if none).
func oldestEvent(txn *badger.Txn, floor uint64) (int64, []byte, error) {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(pfxEvent)
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	it.Seek(kEventsFrom(floor + 1))
	if !it.Valid() {
		return 0, nil, nil
	}
	var t int64
	err := it.Item().Value(func(v []byte) error {
		t = eventTime(v)
		return nil
	})
	return t, it.Item().KeyCopy(nil), err
}

func eventTime(v []byte) int64 {
	if len(v) < eventValueHeader {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// writeEventState stores the parts of a.ev that changed.
func (a *applier) writeEventState() error {
	old := a.s.ev
	if a.ev.count != old.count {
		if err := a.set([]byte(keyEventCount), u64(uint64(a.ev.count))); err != nil {
			return err
		}
	}
	if a.ev.floor != old.floor {
		if err := a.set([]byte(keyEventFloor), u64(a.ev.floor)); err != nil {
			return err
		}
	}
	if a.ev.clock != old.clock {
		return a.set([]byte(keyEventClock), u64(uint64(a.ev.clock)))
	}
	return nil
}

// emit appends ev to the event log at the entry's revision.
func (a *applier) emit(ev Event) error {
	ev.Revision, ev.Seq = a.idx, a.seq
	a.seq++
	var hdr [eventValueHeader]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(nanos(a.now)))
	val, err := appendValue(hdr[:], &ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	if err := a.set(kEvent(a.idx, ev.Seq), val); err != nil {
		return err
	}
	if a.ev.count == 0 {
		a.ev.oldest = nanos(a.now)
	}
	if n := nanos(a.now); n > a.ev.clock {
		a.ev.clock = n
	}
	a.ev.count++
	a.changes.events = true
	return nil
}

// resumeSeq sets a.seq after the last event already stored at a.idx: an
// entry split across transactions continues where the last one stopped.
func (a *applier) resumeSeq() {
	opts := badger.DefaultIteratorOptions
	opts.Reverse = true
	opts.PrefetchValues = false
	opts.Prefix = kEventsFrom(a.idx)
	it := a.txn.NewIterator(opts)
	defer it.Close()
	it.Seek(kEvent(a.idx, ^uint32(0)))
	if it.Valid() {
		if _, seq, ok := parseEventKey(it.Item().Key()); ok {
			a.seq = seq + 1
		}
	}
}

// maxEventDeletes bounds the events one retention transaction removes.
const maxEventDeletes = 4096

// retainEvents removes the oldest events beyond the retention limits, in
// transactions of its own. Whole revisions go at a time (oldest first), so
// a reader never sees half of a revision. The result depends only on the
// log applied, not on how it was batched: both limits only ever move the
// start of the retained window forward.
func (s *Store) retainEvents() error {
	limit := maxEventDeletes
	for s.retentionDue() {
		progress, err := s.trimEvents(limit)
		if errors.Is(err, badger.ErrTxnTooBig) && limit > 1 {
			limit /= 2
			continue
		}
		if err != nil || !progress {
			return err
		}
	}
	return nil
}

// retentionDue reports whether the oldest revision should go.
func (s *Store) retentionDue() bool {
	r := s.opts.Events
	if s.ev.count == 0 {
		return false
	}
	if r.MaxEvents > 0 && s.ev.count > int64(r.MaxEvents) {
		return true
	}
	return r.MaxAge > 0 && s.ev.oldest < s.ev.clock-int64(r.MaxAge)
}

// trimEvents removes up to limit of the oldest events that retention
// drops, finishing a revision it started before starting another. It
// reports whether it removed any.
func (s *Store) trimEvents(limit int) (bool, error) {
	a := s.newApplier()
	defer a.discard()
	r := s.opts.Events
	// Read only as far as retention removes: at steady state that is the
	// few events the last batch pushed out, not a whole chunk.
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(pfxEvent)
	opts.PrefetchValues = false
	it := a.txn.NewIterator(opts)
	removed := 0
	a.ev.oldest = 0
	var err error
	for it.Seek(kEventsFrom(a.ev.floor)); it.Valid(); it.Next() {
		item := it.Item()
		var t int64
		if err = item.Value(func(v []byte) error { t = eventTime(v); return nil }); err != nil {
			break
		}
		if removed == limit {
			a.ev.oldest = t
			break
		}
		rev, _, _ := parseEventKey(item.Key())
		if rev > a.ev.floor {
			tooMany := r.MaxEvents > 0 && a.ev.count > int64(r.MaxEvents)
			tooOld := r.MaxAge > 0 && t < a.ev.clock-int64(r.MaxAge)
			if !tooMany && !tooOld {
				a.ev.oldest = t
				break
			}
			a.ev.floor = rev
		}
		if err = a.del(item.KeyCopy(nil)); err != nil {
			break
		}
		a.ev.count--
		removed++
	}
	it.Close()
	if err != nil {
		return false, err
	}
	if removed == 0 { // the cached oldest time was stale: correct it, stop
		s.ev.oldest = a.ev.oldest
		return false, nil
	}
	return true, a.commit(false)
}

// CurrentRevision returns the store's revision: the applied index as of
// this view.
func (tx *ReadTx) CurrentRevision() uint64 {
	v, err := getU64(tx.txn, []byte(keyApplied))
	tx.fail(err)
	return v
}

// Events returns the events with Revision >= from, in order, at most limit
// of them (limit <= 0: no limit) except that a revision is never cut in
// two. next is the revision to ask for next time. A from older than the
// log retains yields a *CompactedError (errors.Is ErrCompacted).
func (tx *ReadTx) Events(from uint64, limit int) (events []Event, next uint64, err error) {
	current := tx.CurrentRevision()
	floor, err := getU64(tx.txn, []byte(keyEventFloor))
	if err == nil {
		err = tx.err
	}
	if err != nil {
		return nil, 0, err
	}
	from = max(from, 1)
	if floor > 0 && from <= floor {
		oldest := uint64(0)
		if _, k, err := oldestEvent(tx.txn, floor); err == nil && k != nil {
			oldest, _, _ = parseEventKey(k)
		}
		return nil, 0, &CompactedError{Requested: from, Oldest: oldest, Current: current}
	}
	events = []Event{}
	next = max(from, current+1)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(pfxEvent)
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(kEventsFrom(from)); it.Valid(); it.Next() {
		rev, _, _ := parseEventKey(it.Item().Key())
		if rev > current { // a split entry still being applied
			break
		}
		if limit > 0 && len(events) >= limit && rev != events[len(events)-1].Revision {
			next = rev
			break
		}
		var ev Event
		err := it.Item().Value(func(v []byte) error {
			if len(v) < eventValueHeader {
				return fmt.Errorf("short event value")
			}
			return decodeStored(v[eventValueHeader:], &ev)
		})
		if err != nil {
			return nil, 0, corrupt(it.Item().Key(), err)
		}
		events = append(events, ev)
	}
	return events, next, nil
}
