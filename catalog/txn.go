package catalog

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// txnOpError is why one operation of a transaction failed; its message
// becomes the TxnError's What.
type txnOpError struct{ what string }

func (e *txnOpError) Error() string { return e.what }

func opFailed(format string, args ...any) error {
	return &txnOpError{what: fmt.Sprintf(format, args...)}
}

// applyTxn applies a transaction in a Badger transaction of its own, so
// that a failing one is discarded whole; then the entry's index alone is
// recorded, in a fresh transaction.
func (s *Store) applyTxn(e Entry, t *TxnRequest, res *Result) error {
	a := s.newApplier()
	defer a.discard()
	a.begin(e)
	resp, err := a.txnOps(t)
	if err == nil && len(resp.Errors) == 0 {
		if err = a.commit(true); err == nil {
			*res = Result{Index: e.Index, OK: true, Txn: resp}
			return nil
		}
		if errors.Is(err, badger.ErrTxnTooBig) {
			resp.Errors = []TxnError{{OpIndex: len(t.Ops) - 1, What: "transaction too large to apply"}}
		}
	}
	a.discard()
	switch {
	case errors.Is(err, badger.ErrTxnTooBig):
		err = fmt.Errorf("%w: %w", ErrTxnRolledBack, ErrTooLarge)
	case err != nil:
		return err
	default:
		err = fmt.Errorf("%w: %d of %d operations failed", ErrTxnRolledBack, len(resp.Errors), len(t.Ops))
	}
	*res = Result{Index: e.Index, Err: err, Txn: &TxnResponse{Errors: resp.Errors}}
	return s.commitEmpty(e)
}

// txnOps runs every operation, collecting results or, if any failed, the
// failures. The error is fatal, or badger.ErrTxnTooBig.
func (a *applier) txnOps(t *TxnRequest) (*TxnResponse, error) {
	resp := &TxnResponse{Results: []TxnResult{}}
	for i := range t.Ops {
		results, err := a.txnOp(&t.Ops[i])
		var opErr *txnOpError
		switch {
		case errors.Is(err, badger.ErrTxnTooBig):
			resp.Errors = append(resp.Errors, TxnError{OpIndex: i, What: "transaction too large to apply"})
			return resp, err
		case errors.As(err, &opErr) || isCommandError(err):
			resp.Errors = append(resp.Errors, TxnError{OpIndex: i, What: err.Error()})
		case err != nil:
			return nil, err
		default:
			resp.Results = append(resp.Results, results...)
		}
	}
	if len(resp.Errors) > 0 {
		resp.Results = nil
	}
	return resp, nil
}

func (a *applier) txnOp(op *TxnOp) ([]TxnResult, error) {
	switch {
	case op.KV != nil:
		return a.txnKV(op.KV)
	case op.Node != nil:
		return a.txnNode(op.Node)
	case op.Service != nil:
		return a.txnService(op.Service)
	case op.Check != nil:
		return a.txnCheck(op.Check)
	}
	return nil, opFailed("operation has none of KV, Node, Service or Check")
}

// txnKVApply maps each KV verb but get-tree to its implementation, which
// returns the entry to report (nil for none).
var txnKVApply = map[string]func(a *applier, e *KVEntry) (*KVEntry, error){
	"set": func(a *applier, e *KVEntry) (*KVEntry, error) { return a.kvSet(e, false) },
	"cas": func(a *applier, e *KVEntry) (*KVEntry, error) {
		return okOr(a.kvCAS(e))(opFailed("failed to set key %q, index is stale", e.Key))
	},
	"lock": func(a *applier, e *KVEntry) (*KVEntry, error) {
		return okOr(a.kvLock(e))(opFailed("failed to lock key %q, lock is already held", e.Key))
	},
	"unlock": func(a *applier, e *KVEntry) (*KVEntry, error) {
		return okOr(a.kvUnlock(e))(opFailed("failed to unlock key %q, lock isn't held, or is held by another session", e.Key))
	},
	"get": func(a *applier, e *KVEntry) (*KVEntry, error) { return a.txnGetKV(e.Key) },
	"check-index": func(a *applier, e *KVEntry) (*KVEntry, error) {
		cur, err := a.txnGetKV(e.Key)
		if err == nil && cur.ModifyIndex != e.ModifyIndex {
			err = opFailed("current modify index %d != %d", cur.ModifyIndex, e.ModifyIndex)
		}
		return cur, err
	},
	"check-session": func(a *applier, e *KVEntry) (*KVEntry, error) {
		cur, err := a.txnGetKV(e.Key)
		if err == nil && cur.Session != e.Session {
			err = opFailed("current session %q != %q", cur.Session, e.Session)
		}
		return cur, err
	},
	"check-not-exists": func(a *applier, e *KVEntry) (*KVEntry, error) {
		found, err := a.get(kKV(e.Key), new(KVEntry))
		if err == nil && found {
			err = opFailed("key %q exists", e.Key)
		}
		return nil, err
	},
	"delete": func(a *applier, e *KVEntry) (*KVEntry, error) {
		_, err := a.kvDelete(e.Key)
		return nil, err
	},
	"delete-tree": func(a *applier, e *KVEntry) (*KVEntry, error) {
		_, err := a.kvDeleteTree(e.Key, 0)
		return nil, err
	},
	"delete-cas": func(a *applier, e *KVEntry) (*KVEntry, error) {
		ok, err := a.kvDeleteCAS(e.Key, e.ModifyIndex)
		if err == nil && !ok {
			err = opFailed("failed to delete key %q, index is stale", e.Key)
		}
		return nil, err
	},
}

// okOr turns a conditional write's (entry, ok, err) into (entry, err),
// with failure as the error when the condition was unmet.
func okOr(e *KVEntry, ok bool, err error) func(failure error) (*KVEntry, error) {
	return func(failure error) (*KVEntry, error) {
		if err == nil && !ok {
			return nil, failure
		}
		return e, err
	}
}

func (a *applier) txnGetKV(key string) (*KVEntry, error) {
	var e KVEntry
	found, err := a.get(kKV(key), &e)
	if err == nil && !found {
		err = opFailed("key %q doesn't exist", key)
	}
	return &e, err
}

// txnKV runs a KV operation. Results of writes carry no Value, as Consul's.
func (a *applier) txnKV(op *TxnKVOp) ([]TxnResult, error) {
	e := op.Entry
	if op.Verb == "get-tree" {
		entries, err := prefixValues[KVEntry](a.txn, kKV(e.Key))
		results := make([]TxnResult, len(entries))
		for i, kv := range entries {
			results[i] = TxnResult{KV: kv}
		}
		return results, err
	}
	fn := txnKVApply[op.Verb]
	if fn == nil {
		return nil, opFailed("unknown KV verb %q", op.Verb)
	}
	got, err := fn(a, &e)
	if err != nil || got == nil {
		return nil, err
	}
	out := *got
	if op.Verb != "get" {
		out.Value = nil
	}
	return []TxnResult{{KV: &out}}, nil
}

// casMatches reports whether a CAS index matches: 0 wants no entity, any
// other value the entity's ModifyIndex.
func casMatches(found bool, modifyIndex, want uint64) bool {
	if want == 0 {
		return !found
	}
	return found && modifyIndex == want
}
