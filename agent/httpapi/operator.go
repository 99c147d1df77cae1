package httpapi

import (
	"net/http"
)

// raftProtocolVersion is the Raft protocol version every server reports,
// as Consul's servers do.
const raftProtocolVersion = "3"

// routesOperator registers /v1/operator/raft/*.
func (a *API) routesOperator() {
	a.handle("GET /v1/operator/raft/configuration", a.operatorRaftConfiguration)
	a.handle("DELETE /v1/operator/raft/peer", a.operatorRaftRemovePeer)
	a.handle("POST /v1/operator/raft/transfer-leader", a.operatorRaftTransferLeader)
}

// raftServerJSON is api.RaftServer.
type raftServerJSON struct {
	ID              string
	Node            string
	Address         string
	Leader          bool
	ProtocolVersion string
	Voter           bool
}

// raftConfigurationJSON is api.RaftConfiguration.
type raftConfigurationJSON struct {
	Servers []raftServerJSON
	Index   uint64
}

// operatorClusterError is a failure of the Raft group: a 500 with its message.
func operatorClusterError(err error) error {
	return StatusError(http.StatusInternalServerError, err.Error())
}

// operatorRaftConfiguration lists the Raft servers. With ?stale it answers
// from this server even without a leader, as Consul does.
func (a *API) operatorRaftConfiguration(w http.ResponseWriter, r *http.Request) {
	opts, info, ok := a.startRead(w, r)
	if !ok {
		return
	}
	servers, index, err := a.cluster.Configuration()
	if err != nil {
		writeError(w, operatorClusterError(err))
		return
	}
	out := raftConfigurationJSON{Servers: make([]raftServerJSON, len(servers)), Index: index}
	for i, s := range servers {
		out.Servers[i] = raftServerJSON{ID: s.ID, Node: s.Node, Address: s.Address, Leader: s.Leader, ProtocolVersion: raftProtocolVersion, Voter: s.Voter}
	}
	setReadHeaders(w, index, info, opts.Mode)
	WriteJSON(w, r, http.StatusOK, &out)
}

// operatorRaftRemovePeer removes a server by ?id or by ?address; it
// answers 200 with no body.
func (a *API) operatorRaftRemovePeer(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := a.checkDC(q); err != nil {
		writeError(w, err)
		return
	}
	id, address := q.Get("id"), q.Get("address")
	switch {
	case id == "" && address == "":
		writeError(w, badRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove"))
		return
	case id != "" && address != "":
		writeError(w, badRequest("Must specify only one of ?id or ?address"))
		return
	}
	if err := a.cluster.RemovePeer(r.Context(), id, address); err != nil {
		writeError(w, operatorClusterError(err))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// operatorRaftTransferLeader hands leadership to ?id, or to any voter.
func (a *API) operatorRaftTransferLeader(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := a.checkDC(q); err != nil {
		writeError(w, err)
		return
	}
	if err := a.cluster.TransferLeader(r.Context(), q.Get("id")); err != nil {
		writeError(w, operatorClusterError(err))
		return
	}
	WriteJSON(w, r, http.StatusOK, &struct{ Success bool }{true})
}
