package catalog

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Entry is one committed Raft log entry.
type Entry struct {
	Index uint64
	// Time is the leader's append time (raft.Log.AppendedAt): the ONLY
	// clock the apply path may use.
	Time time.Time
	Data []byte
	// Config marks a Raft configuration entry: only the applied index
	// advances.
	Config bool
}

// ApplyBatch applies entries in order, in as few Badger transactions as
// fit (normally one), each of which also stores the applied index. Entries
// with Index <= AppliedIndex() are skipped: their Result has Index set and
// OK true, and nothing changes. It returns one Result per entry. The error
// is fatal (a Badger failure, ErrUnknownCommand, ErrCorruptCommand): the
// caller must stop applying. An ignorable unknown command is skipped but
// its index counts as applied.
//
// A transaction command (CmdTxn) gets a Badger transaction of its own, so
// that a failing one is discarded whole. When Badger reports a transaction
// too big, the entries before the one that did not fit are committed and
// the rest continue in a new transaction; see applyOversized for an entry
// too big on its own.
func (s *Store) ApplyBatch(entries []Entry) ([]Result, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	results := make([]Result, len(entries))
	for i := 0; i < len(entries); {
		if entries[i].Index <= s.applied.Load() {
			results[i] = Result{Index: entries[i].Index, OK: true}
			i++
			continue
		}
		n, err := s.applyChunk(entries[i:], results[i:])
		if err != nil {
			return nil, fmt.Errorf("apply entry %d: %w", entries[i].Index, err)
		}
		i += n
	}
	if err := s.retainEvents(); err != nil {
		return nil, fmt.Errorf("trim event log: %w", err)
	}
	return results, nil
}

// applyChunk applies a prefix of entries in one Badger transaction and
// commits it with the applied index of its last entry. It returns how many
// entries it applied: at least one.
func (s *Store) applyChunk(entries []Entry, results []Result) (int, error) {
	a := s.newApplier()
	defer a.discard()
	n := 0
	for ; n < len(entries); n++ {
		e := entries[n]
		cmd, err := s.decodeEntry(e)
		if err != nil {
			return 0, err
		}
		if t, ok := cmd.(*TxnRequest); ok {
			if n > 0 {
				break // commit what came before, then the txn on its own
			}
			return 1, s.applyTxn(e, t, &results[0])
		}
		a.begin(e)
		res, err := a.apply(cmd)
		if errors.Is(err, badger.ErrTxnTooBig) {
			a.discard()
			if n == 0 {
				return 1, s.applyOversized(e, cmd, &results[0])
			}
			return s.applyChunk(entries[:n], results[:n])
		}
		if err != nil {
			return 0, err
		}
		results[n] = res
	}
	err := a.commit(true)
	if errors.Is(err, badger.ErrTxnTooBig) {
		a.discard()
		if n == 1 {
			cmd, _ := s.decodeEntry(entries[0])
			return 1, s.applyOversized(entries[0], cmd, &results[0])
		}
		return s.applyChunk(entries[:n-1], results[:n-1])
	}
	return n, err
}

// decodeEntry returns the entry's command, or nil for a configuration
// entry or an ignorable unknown command.
func (s *Store) decodeEntry(e Entry) (Command, error) {
	if e.Config {
		return nil, nil
	}
	cmd, err := Decode(e.Data)
	if errors.Is(err, ErrIgnoredCommand) {
		s.log.Warn("skipping ignorable unknown command", "index", e.Index, "error", err)
		return nil, nil
	}
	return cmd, err
}

// applyOversized applies an entry that does not fit in a Badger
// transaction on its own. A delete-tree or a session destroy is split
// across several transactions (see split.go); any other command fails with
// ErrTooLarge and changes nothing but the applied index.
func (s *Store) applyOversized(e Entry, cmd Command, res *Result) error {
	*res = Result{Index: e.Index, OK: true}
	switch c := cmd.(type) {
	case *KVRequest:
		if c.Op == KVDeleteTree {
			return s.splitDeleteTree(e, c)
		}
	case *SessionRequest:
		if c.Op == SessionDestroy {
			return s.splitSessionDestroy(e, c)
		}
	}
	s.log.Warn("command too large to apply", "index", e.Index, "type", fmt.Sprintf("%T", cmd))
	*res = Result{Index: e.Index, Err: fmt.Errorf("%w: entry %d does not fit in one storage transaction", ErrTooLarge, e.Index)}
	return s.commitEmpty(e)
}

// commitEmpty records e as applied without changing anything else.
func (s *Store) commitEmpty(e Entry) error {
	a := s.newApplier()
	defer a.discard()
	a.begin(e)
	return a.commit(true)
}

// isCommandError reports whether err is a command's own failure (reported
// in its Result) rather than a fatal one.
func isCommandError(err error) bool {
	for _, target := range []error{ErrInvalid, ErrNotFound, ErrSessionInvalid, ErrLockDelay, ErrTooLarge} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// applier is one Badger write transaction of the apply path.
type applier struct {
	s       *Store
	txn     *badger.Txn
	idx     uint64    // index of the entry being applied
	now     time.Time // its time: the only clock the apply path may use
	seq     uint32    // seq of the next event at idx
	ev      eventState
	indexes map[string]uint64 // index keys to write at commit
	changes changeSet
	// kvWrites are this transaction's writes of KV keys, for the KV
	// cache once it commits.
	kvWrites map[string]kvWrite
}

func (s *Store) newApplier() *applier {
	return &applier{s: s, txn: s.db.NewTransaction(true), ev: s.ev, indexes: make(map[string]uint64, 4)}
}

// begin starts applying entry e.
func (a *applier) begin(e Entry) {
	a.idx, a.now, a.seq = e.Index, e.Time, 0
}

func (a *applier) discard() { a.txn.Discard() }

// commit writes the bumped indexes, the event log state and, if final, the
// applied index (a.idx); commits; and wakes the watchers of what changed.
func (a *applier) commit(final bool) error {
	for k, v := range a.indexes {
		if err := a.set([]byte(k), u64(v)); err != nil {
			return err
		}
	}
	if err := a.writeEventState(); err != nil {
		return err
	}
	if final {
		if err := a.set([]byte(keyApplied), u64(a.idx)); err != nil {
			return err
		}
	}
	if err := a.txn.Commit(); err != nil {
		return err
	}
	a.commitKVWrites()
	a.s.ev = a.ev
	if final {
		a.s.applied.Store(a.idx)
	}
	a.s.hub.notify(&a.changes)
	return nil
}

// apply applies one command at a.idx. The error is fatal, or
// badger.ErrTxnTooBig; a command's own failure goes in the Result, and is
// always found before the command wrote anything.
func (a *applier) apply(cmd Command) (Result, error) {
	res := Result{Index: a.idx, OK: true}
	var err error
	switch c := cmd.(type) {
	case nil: // a configuration entry or an ignorable unknown command
	case *RegisterRequest:
		err = a.register(c)
	case *DeregisterRequest:
		err = a.deregister(c)
	case *CheckStatusRequest:
		err = a.checkStatus(c)
	case *KVRequest:
		res.OK, err = a.kv(c)
	case *SessionRequest:
		err = a.session(c)
	case *ReapTombstonesRequest:
		err = a.reapTombstones(c.Index)
	case *MemberRequest:
		err = a.member(c)
	default:
		return res, fmt.Errorf("%w: %T", ErrUnknownCommand, cmd)
	}
	if err != nil && isCommandError(err) {
		res.OK, res.Err = false, err
		return res, nil
	}
	return res, err
}

// bumpTable sets a table's index to the entry's.
func (a *applier) bumpTable(table string) {
	a.indexes[pfxTableIndex+table] = a.idx
	a.changes.addTable(table)
}

// bumpService sets a service name's index to the entry's.
func (a *applier) bumpService(name string) {
	if name == "" {
		return
	}
	a.indexes[pfxServiceIndex+name] = a.idx
	a.changes.addService(name)
}

// bumpNodeServices bumps the index of every service running on node.
func (a *applier) bumpNodeServices(node string) error {
	svcs, err := prefixValues[Service](a.txn, kServicesOn(node))
	for _, svc := range svcs {
		a.bumpService(svc.Service)
	}
	return err
}

// get decodes the value at key into v.
func (a *applier) get(key []byte, v any) (bool, error) {
	_, found, err := a.load(key, v)
	return found, err
}

// put encodes v and stores it at key.
func (a *applier) put(key []byte, v any) error {
	b, err := encodeValue(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	return a.set(key, b)
}

// set stores val at key. A value larger than the store can hold reports
// badger.ErrTxnTooBig, so the command takes the too-large path rather than
// failing the batch.
func (a *applier) set(key, val []byte) error {
	if int64(len(val)) > a.s.maxValue {
		return badger.ErrTxnTooBig
	}
	if err := a.txn.Set(key, val); err != nil {
		return err
	}
	a.noteKVWrite(key, val, false)
	return nil
}

// del deletes key.
func (a *applier) del(key []byte) error {
	if err := a.txn.Delete(key); err != nil {
		return err
	}
	a.noteKVWrite(key, nil, true)
	return nil
}

// setEmpty stores an index entry: a key with an empty value.
func (a *applier) setEmpty(key []byte) error { return a.set(key, nil) }
