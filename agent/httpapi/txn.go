package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/beacon-sd/beacon/catalog"
)

// txnMaxBodyBytes caps a transaction body: room for catalog.MaxTxnBytes of
// keys and values once base64 and JSON have inflated them.
const txnMaxBodyBytes = 2 * catalog.MaxTxnBytes

// routesTxn registers /v1/txn.
func (a *API) routesTxn() {
	a.handle("PUT /v1/txn", a.txn)
}

// txn applies a transaction all-or-nothing. It answers 200 with the
// results, or 409 with the failed operations when it rolled back (also
// when an operation is malformed, as Consul reports those per operation).
// Too many operations or too many bytes is a 413, as in Consul. A
// transaction of reads only is served as a read (txnRead).
func (a *API) txn(w http.ResponseWriter, r *http.Request) {
	if err := a.checkDC(r.URL.Query()); err != nil {
		writeError(w, err)
		return
	}
	ops, err := a.decodeTxn(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if len(ops) == 0 {
		WriteJSON(w, r, http.StatusOK, &txnResponseJSON{Results: []txnResultJSON{}})
		return
	}
	if errs := validateTxnOps(ops); len(errs) > 0 {
		WriteJSON(w, r, http.StatusConflict, &txnResponseJSON{Errors: errs})
		return
	}
	req := &catalog.TxnRequest{Ops: ops}
	if req.ReadOnly() {
		a.txnRead(w, r, req)
		return
	}
	res, err := a.apply(r, req)
	switch {
	case errors.Is(err, catalog.ErrTxnRolledBack):
		errs := []catalog.TxnError{{OpIndex: 0, What: err.Error()}}
		if res.Txn != nil && len(res.Txn.Errors) > 0 {
			errs = res.Txn.Errors
		}
		writeTxnHeaders(w, res.Index)
		WriteJSON(w, r, http.StatusConflict, &txnResponseJSON{Errors: errs})
	case err != nil:
		writeError(w, err)
	default:
		out := txnResponseJSON{Results: []txnResultJSON{}}
		if res.Txn != nil {
			sh := shaper{dc: a.cfg.Datacenter}
			for _, tr := range res.Txn.Results {
				out.Results = append(out.Results, toTxnResultJSON(tr, sh))
			}
		}
		writeTxnHeaders(w, res.Index)
		WriteJSON(w, r, http.StatusOK, &out)
	}
}

// txnRead serves a transaction of reads only without a Raft entry, in the
// consistency mode the query asks for (?stale, ?consistent), as Consul
// does: the same results, or the same 409 when a check fails, with the
// read headers and the applied index of the state it read.
func (a *API) txnRead(w http.ResponseWriter, r *http.Request, req *catalog.TxnRequest) {
	opts, info, ok := a.startRead(w, r)
	if !ok {
		return
	}
	var (
		resp  *catalog.TxnResponse
		index uint64
	)
	err := a.store.View(func(tx *catalog.ReadTx) error {
		var err error
		if resp, err = tx.Txn(req); err != nil {
			return err
		}
		index = tx.CurrentRevision()
		return tx.Err()
	})
	if err != nil {
		writeError(w, err)
		return
	}
	setReadHeaders(w, index, info, opts.Mode)
	if len(resp.Errors) > 0 {
		WriteJSON(w, r, http.StatusConflict, &txnResponseJSON{Errors: resp.Errors})
		return
	}
	out := txnResponseJSON{Results: []txnResultJSON{}}
	sh := shaper{dc: a.cfg.Datacenter}
	for _, tr := range resp.Results {
		out.Results = append(out.Results, toTxnResultJSON(tr, sh))
	}
	WriteJSON(w, r, http.StatusOK, &out)
}

// writeTxnHeaders sets the headers consul/api's Txn reads. The transaction
// was committed through Raft, so there was a leader.
func writeTxnHeaders(w http.ResponseWriter, index uint64) {
	h := w.Header()
	h.Set("X-Consul-Index", strconv.FormatUint(max(index, 1), 10))
	h.Set("X-Consul-KnownLeader", "true")
	h.Set("X-Consul-LastContact", "0")
}

// decodeTxn reads the body (api.TxnOps) and converts it, enforcing
// Consul's limits: at most catalog.MaxTxnOps operations, each value at most
// catalog.MaxValueBytes, keys and values together at most
// catalog.MaxTxnBytes.
func (a *API) decodeTxn(w http.ResponseWriter, r *http.Request) ([]catalog.TxnOp, error) {
	limit := max(a.cfg.MaxBodyBytes, txnMaxBodyBytes)
	if r.ContentLength > limit {
		return nil, txnTooLarge("Request body too large, max size: %d bytes", limit)
	}
	var in []txnOpJSON
	if err := DecodeBody(w, r, limit, &in); err != nil {
		return nil, err
	}
	if len(in) > catalog.MaxTxnOps {
		return nil, txnTooLarge("Transaction contains too many operations (%d > %d)", len(in), catalog.MaxTxnOps)
	}
	total := 0
	ops := make([]catalog.TxnOp, len(in))
	for i := range in {
		if kv := in[i].KV; kv != nil {
			if len(kv.Value) > catalog.MaxValueBytes {
				return nil, txnTooLarge("Value for key %q is too large (%d > %d bytes)", kv.Key, len(kv.Value), catalog.MaxValueBytes)
			}
			total += len(kv.Key) + len(kv.Value)
		}
		ops[i] = in[i].toCatalogOp(a.cfg.Datacenter)
	}
	if total > catalog.MaxTxnBytes {
		return nil, txnTooLarge("Transaction too large: keys and values total %d bytes, max %d", total, catalog.MaxTxnBytes)
	}
	return ops, nil
}

// txnTooLarge is a 413 with the given message.
func txnTooLarge(format string, args ...any) error {
	return StatusError(http.StatusRequestEntityTooLarge, fmt.Sprintf(format, args...))
}

// validateTxnOps checks each operation on its own, so that every malformed
// one is reported with its index, as Consul reports a bad verb.
func validateTxnOps(ops []catalog.TxnOp) []catalog.TxnError {
	var errs []catalog.TxnError
	for i := range ops {
		err := (&catalog.TxnRequest{Ops: ops[i : i+1]}).Validate()
		if err == nil {
			continue
		}
		what := err.Error()
		var ve *catalog.ValidationError
		if errors.As(err, &ve) {
			// The field is named as in a one-op transaction ("Ops[0].KV.Verb"):
			// name it relative to the operation instead.
			field := strings.TrimPrefix(strings.TrimPrefix(ve.Field, "Ops[0]"), ".")
			if field == "" {
				field = "operation"
			}
			what = "invalid " + field + ": " + ve.Reason
		}
		errs = append(errs, catalog.TxnError{OpIndex: i, What: what})
	}
	return errs
}
