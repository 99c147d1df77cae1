package catalog

import "errors"

// txnReadVerbs are the transaction verbs that only read.
var txnReadVerbs = map[string]bool{"get": true, "get-tree": true, "check-index": true, "check-session": true, "check-not-exists": true}

// ReadOnly reports whether t has operations and every one only reads
// (get, get-tree and the checks). Such a transaction needs no Raft entry:
// it is served like any read (ReadTx.Txn), as Consul serves it.
func (t *TxnRequest) ReadOnly() bool {
	for i := range t.Ops {
		op := &t.Ops[i]
		var verb string
		switch {
		case op.KV != nil:
			verb = op.KV.Verb
		case op.Node != nil:
			verb = op.Node.Verb
		case op.Service != nil:
			verb = op.Service.Verb
		case op.Check != nil:
			verb = op.Check.Verb
		}
		if !txnReadVerbs[verb] {
			return false
		}
	}
	return len(t.Ops) > 0
}

// errTxnNotReadOnly: ReadTx.Txn was given a transaction that writes.
var errTxnNotReadOnly = errors.New("catalog: a transaction that writes cannot run in a read view")

// Txn runs a transaction of reads only (t.ReadOnly) in this view, with the
// same code that applies transactions: the results, or the failed
// operations (TxnResponse.Errors, no results), are what applying t at this
// state would give. Nothing is written, so a failure rolls nothing back.
func (tx *ReadTx) Txn(t *TxnRequest) (*TxnResponse, error) {
	if !t.ReadOnly() {
		return nil, errTxnNotReadOnly
	}
	// The read verbs only call get and prefixValues on the transaction:
	// an applier over the read view needs no store, index or clock.
	a := &applier{txn: tx.txn}
	return a.txnOps(t)
}
