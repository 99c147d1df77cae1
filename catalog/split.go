package catalog

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// splitBatch is how many keys one transaction of a split entry handles at
// first; it halves while that is still too big.
const splitBatch = 1024

// splitDeleteTree applies a delete-tree too big for one Badger transaction
// in several: each deletes a batch of the keys (with their tombstones and
// events) and commits without the applied index; the last one writes it.
//
// Why a partial application replayed is safe: if the process dies between
// two of these transactions, the stored applied index still names the
// previous entry, so Raft hands this entry over again on restart. Deleting
// a tree is idempotent: the replay deletes the keys still under the prefix
// (the ones already deleted are gone, and are neither deleted nor reported
// again), every tombstone carries this entry's index whichever run wrote
// it, and the events continue after the last seq stored for this revision
// (resumeSeq). The end state equals that of one uninterrupted run. Readers
// may see the tree half deleted in between; event readers never do, as
// Events stops at the applied index.
func (s *Store) splitDeleteTree(e Entry, r *KVRequest) error {
	return s.splitApply(e, func(a *applier, limit int) (bool, error) {
		return a.kvDeleteTree(r.Entry.Key, limit)
	})
}

// splitSessionDestroy destroys a session holding too many keys for one
// transaction: batches of its keys are released (or deleted), each with its
// held record, then the session record goes, in the last transaction. The
// replay argument of splitDeleteTree applies: a replay finds the session
// still there, holding only the keys not yet released, and its lock delays
// are computed from the entry's time, the same in every run.
func (s *Store) splitSessionDestroy(e Entry, r *SessionRequest) error {
	return s.splitApply(e, func(a *applier, limit int) (bool, error) {
		var sess Session
		found, err := a.get(kSession(r.Session.ID), &sess)
		if !found || err != nil {
			return false, err
		}
		more, err := a.releaseHeld(&sess, limit)
		if more || err != nil {
			return more, err
		}
		return false, a.removeSession(&sess)
	})
}

// splitApply runs step in successive transactions, committing each, until
// it reports no more work; the last commit records the applied index.
func (s *Store) splitApply(e Entry, step func(a *applier, limit int) (more bool, err error)) error {
	limit := splitBatch
	for {
		a := s.newApplier()
		a.begin(e)
		a.resumeSeq()
		more, err := step(a, limit)
		if err == nil {
			err = a.commit(!more)
		}
		a.discard()
		switch {
		case errors.Is(err, badger.ErrTxnTooBig) && limit > 1:
			limit /= 2
		case err != nil:
			return fmt.Errorf("split entry %d: %w", e.Index, err)
		case !more:
			return nil
		}
	}
}
