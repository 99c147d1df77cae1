package httpapi

import (
	"net/http"
	"time"
)

// Metrics records API requests. Implementations must be cheap and safe for
// concurrent use: Request is called once per request.
type Metrics interface {
	Request(method, route string, status int, elapsed time.Duration)
}

type nopMetrics struct{}

func (nopMetrics) Request(string, string, int, time.Duration) {}

// routesStatus registers /v1/status/*.
func (a *API) routesStatus() {
	a.handle("GET /v1/status/leader", a.statusLeader)
	a.handle("GET /v1/status/peers", a.statusPeers)
}

func (a *API) statusLeader(w http.ResponseWriter, r *http.Request) {
	if err := a.checkDC(r.URL.Query()); err != nil {
		writeError(w, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, a.cluster.Leader())
}

func (a *API) statusPeers(w http.ResponseWriter, r *http.Request) {
	if err := a.checkDC(r.URL.Query()); err != nil {
		writeError(w, err)
		return
	}
	servers, _, err := a.cluster.Configuration()
	if err != nil {
		writeError(w, err)
		return
	}
	peers := make([]string, 0, len(servers))
	for _, s := range servers {
		if s.Voter {
			peers = append(peers, s.Address)
		}
	}
	WriteJSON(w, r, http.StatusOK, peers)
}
