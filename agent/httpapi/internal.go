package httpapi

import (
	"net/http"

	"github.com/beacon-sd/beacon/catalog"
)

// Internal endpoints: served only on a server's server port (Config.Internal),
// for client agents, which have no Raft and reach the catalog through a
// server. Bodies are the catalog's own types, not Consul's shapes.

// ApplyResult is a catalog.Result as /v1/internal/apply answers it.
type ApplyResult struct {
	Index   uint64
	OK      bool
	ErrCode string `json:",omitempty"`
	ErrMsg  string `json:",omitempty"`
	Txn     *catalog.TxnResponse
}

// NodeState is a node with its services and checks, as
// /v1/internal/node/{node} answers it.
type NodeState struct {
	Node     *catalog.Node
	Services []*catalog.Service
	Checks   []*catalog.Check
}

func (a *API) routesInternal() {
	a.handle("POST /v1/internal/apply", a.internalApply)
	a.handle("GET /v1/internal/node/{node}", a.internalNode)
	a.handle("PUT /v1/internal/lease/node/{node}", a.internalRenewNode)
}

// internalRenewNode renews a node's liveness lease in the leader's memory.
func (a *API) internalRenewNode(w http.ResponseWriter, r *http.Request) {
	if a.leases == nil {
		writeError(w, errNotSupported)
		return
	}
	node := r.PathValue("node")
	if err := catalog.ValidateName("node", node); err != nil {
		writeError(w, err)
		return
	}
	g, err := a.leases.RenewNode(r.Context(), node)
	if err != nil {
		writeError(w, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, g)
}

// internalApply commits an encoded catalog command (catalog.Encode).
// Only the command's own failure is in the body; an infrastructure error
// (no leader, outcome unknown) is a 500 like any other write's.
func (a *API) internalApply(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, catalog.MaxTxnBytes+catalog.MaxValueBytes+(64<<10))
	if err != nil {
		writeError(w, err)
		return
	}
	cmd, err := catalog.Decode(body)
	if err != nil {
		writeError(w, badRequest("decode command: %v", err))
		return
	}
	res, err := a.store.Apply(r.Context(), cmd)
	if err != nil && res.Err == nil {
		writeError(w, err)
		return
	}
	out := ApplyResult{Index: res.Index, OK: res.OK, Txn: res.Txn}
	if res.Err != nil {
		out.ErrCode, out.ErrMsg = catalog.ErrorCode(res.Err), res.Err.Error()
	}
	WriteJSON(w, r, http.StatusOK, out)
}

func (a *API) internalNode(w http.ResponseWriter, r *http.Request) {
	node := r.PathValue("node")
	a.blockingRead(w, r, []catalog.WatchKey{catalog.TableWatch(catalog.TableNodes), catalog.TableWatch(catalog.TableServices), catalog.TableWatch(catalog.TableChecks)}, func(tx *catalog.ReadTx) (any, uint64, error) {
		n, svcs, idx := tx.NodeServices(node)
		checks, cidx := tx.NodeChecks(node)
		return NodeState{Node: n, Services: svcs, Checks: checks}, max(idx, cidx), nil
	})
}
