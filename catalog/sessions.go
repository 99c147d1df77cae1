package catalog

import "fmt"

// session applies a session command.
func (a *applier) session(r *SessionRequest) error {
	switch r.Op {
	case SessionCreate:
		return a.sessionCreate(r.Session)
	case SessionDestroy:
		return a.sessionDestroy(r.Session.ID)
	}
	return invalid("Op", "unknown session operation %q", r.Op)
}

// sessionCheckIDs returns the IDs of every check a session is bound to.
func sessionCheckIDs(s *Session) []string {
	ids := make([]string, 0, len(s.NodeChecks)+len(s.ServiceChecks))
	ids = append(ids, s.NodeChecks...)
	for _, c := range s.ServiceChecks {
		ids = append(ids, c.ID)
	}
	return ids
}

// sessionCreate stores a new session. Its node and every check it is bound
// to must exist, and no such check may be critical.
func (a *applier) sessionCreate(sess Session) error {
	if found, err := a.get(kSession(sess.ID), new(Session)); found || err != nil {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: session %q already exists", ErrInvalid, sess.ID)
	}
	if found, err := a.get(kNode(sess.Node), new(Node)); !found || err != nil {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: node %q for session %q", ErrNotFound, sess.Node, sess.ID)
	}
	checks := sessionCheckIDs(&sess)
	for _, id := range checks {
		var c Check
		found, err := a.get(kCheck(sess.Node, id), &c)
		switch {
		case err != nil:
			return err
		case !found:
			return fmt.Errorf("%w: check %q on node %q for session %q", ErrNotFound, id, sess.Node, sess.ID)
		case c.Status == HealthCritical:
			return fmt.Errorf("%w: check %q on node %q is critical", ErrInvalid, id, sess.Node)
		}
	}
	if sess.Behavior == "" {
		sess.Behavior = SessionRelease
	}
	sess.CreateTime = a.now
	sess.RaftIndex = RaftIndex{CreateIndex: a.idx, ModifyIndex: a.idx}
	if err := a.put(kSession(sess.ID), &sess); err != nil {
		return err
	}
	if err := a.setEmpty(kSessionNode(sess.Node, sess.ID)); err != nil {
		return err
	}
	for _, id := range checks {
		if err := a.setEmpty(kSessionCheck(sess.Node, id, sess.ID)); err != nil {
			return err
		}
	}
	a.bumpTable(TableSessions)
	return a.emit(Event{Type: EventPut, Table: TableSessions, Key: sess.ID, Session: &sess})
}

// sessionDestroy invalidates a session; a missing one is no error.
func (a *applier) sessionDestroy(id string) error {
	var sess Session
	found, err := a.get(kSession(id), &sess)
	if !found || err != nil {
		return err
	}
	return a.invalidateSession(&sess)
}

// invalidateSession ends a session: the keys it holds are released or
// deleted per its Behavior and get a lock delay, and the session goes.
func (a *applier) invalidateSession(sess *Session) error {
	if _, err := a.releaseHeld(sess, 0); err != nil {
		return err
	}
	return a.removeSession(sess)
}

// releaseHeld releases (or deletes, per Behavior) the keys sess holds,
// setting their lock delay; with limit > 0, at most limit of them,
// reporting whether more remain. Each key's held record goes with it, so
// running it again continues where it stopped.
func (a *applier) releaseHeld(sess *Session, limit int) (more bool, err error) {
	n := 0
	if limit > 0 {
		n = limit + 1
	}
	held, err := prefixKeys(a.txn, kHeldBy(sess.ID), n)
	if err != nil {
		return false, err
	}
	if limit > 0 && len(held) > limit {
		held, more = held[:limit], true
	}
	until := nanos(a.now) + int64(sess.LockDelay)
	for _, hk := range held {
		key := string(hk[len(kHeldBy(sess.ID)):])
		if err := a.del(hk); err != nil {
			return false, err
		}
		if err := a.releaseKey(sess, key, until); err != nil {
			return false, err
		}
	}
	return more, nil
}

// releaseKey releases or deletes one key sess holds, with a lock delay
// until the given time.
func (a *applier) releaseKey(sess *Session, key string, until int64) error {
	var kv KVEntry
	found, err := a.get(kKV(key), &kv)
	if !found || err != nil || kv.Session != sess.ID {
		return err
	}
	if sess.LockDelay > 0 {
		if err := a.set(kLockDelay(key), u64(uint64(until))); err != nil {
			return err
		}
	}
	if sess.Behavior == SessionDelete {
		return a.kvRemove(&kv)
	}
	kv.Session = ""
	_, err = a.kvSet(&kv, true)
	return err
}

// removeSession deletes a session record and its index entries.
func (a *applier) removeSession(sess *Session) error {
	if err := a.del(kSession(sess.ID)); err != nil {
		return err
	}
	if err := a.del(kSessionNode(sess.Node, sess.ID)); err != nil {
		return err
	}
	for _, id := range sessionCheckIDs(sess) {
		if err := a.del(kSessionCheck(sess.Node, id, sess.ID)); err != nil {
			return err
		}
	}
	a.bumpTable(TableSessions)
	return a.emit(Event{Type: EventDelete, Table: TableSessions, Key: sess.ID})
}

// invalidateSessionsUnder invalidates every session whose ID ends the keys
// under prefix (the sessions on a node, or bound to a check).
func (a *applier) invalidateSessionsUnder(prefix []byte) error {
	keys, err := prefixKeys(a.txn, prefix, 0)
	if err != nil {
		return err
	}
	for _, k := range keys {
		var sess Session
		found, err := a.get(kSession(lastPart(k)), &sess)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		if err := a.invalidateSession(&sess); err != nil {
			return err
		}
	}
	return nil
}
