package httpapi

import (
	"net/http"
	"net/http/pprof"
)

// routes registers every endpoint. Each family registers its own routes
// in its file; KV is dispatched by ServeHTTP itself.
func (a *API) routes(agent http.Handler) {
	a.routesCatalog()
	a.routesHealth()
	a.routesSession()
	a.routesTxn()
	a.routesStatus()
	a.routesOperator()
	a.routesSnapshot()
	if a.cfg.Internal {
		a.routesInternal()
	}
	if agent != nil {
		a.mux.Handle("/v1/agent/", agent)
	}
	if a.cfg.EnableDebug {
		a.mux.HandleFunc("/debug/pprof/", pprof.Index)
		a.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		a.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		a.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		a.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
}
