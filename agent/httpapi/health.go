package httpapi

import (
	"net/http"

	"github.com/beacon-sd/beacon/catalog"
)

// routesHealth registers the health endpoints. health/service and
// health/checks answer through a response cache shared by the two.
func (a *API) routesHealth() {
	cache := newResponseCache(defaultCacheEntries, defaultCacheBytes)
	a.handle("GET /v1/health/service/{name}", func(w http.ResponseWriter, r *http.Request) {
		a.healthService(w, r, cache)
	})
	a.handle("GET /v1/health/checks/{name}", func(w http.ResponseWriter, r *http.Request) {
		a.healthChecks(w, r, cache)
	})
	a.handle("GET /v1/health/node/{node}", a.healthNode)
	a.handle("GET /v1/health/state/{state}", a.healthState)
	for _, p := range []string{"service", "checks", "node", "state"} {
		a.handle("GET /v1/health/"+p+"/{$}", catalogMissingName(p))
	}
}

// healthService serves GET /v1/health/service/{name}[?passing&tag=…]: each
// instance with its node and every check that applies to it (the node's
// own and the instance's), in the order of /v1/catalog/service. ?passing
// drops instances with any check not passing; ?near is accepted and
// ignored (there are no coordinates yet).
func (a *API) healthService(w http.ResponseWriter, r *http.Request, c *responseCache) {
	q, err := parseServiceQuery(r, queryHealthService)
	if err != nil {
		writeError(w, err)
		return
	}
	a.cachedServiceRead(w, r, c, q, a.buildHealthService)
}

func (a *API) buildHealthService(tx *catalog.ReadTx, q serviceQuery) any {
	tags := q.tagList()
	first := ""
	if len(tags) > 0 {
		first = tags[0]
	}
	entries, _ := tx.ServiceHealth(q.name, first, q.passing)
	sh := a.shapes()
	out := make([]apiServiceEntry, 0, len(entries))
	nodes := map[string]*apiNode{}
	for _, e := range entries {
		if len(tags) > 1 && !hasAllTags(e.Service.Tags, tags[1:]) {
			continue
		}
		n := nodes[e.Node.Node]
		if n == nil {
			n = sh.node(e.Node)
			nodes[e.Node.Node] = n
		}
		out = append(out, apiServiceEntry{Node: n, Service: sh.agentService(e.Service), Checks: healthChecks(e.Checks)})
	}
	return out
}

// healthChecks serves GET /v1/health/checks/{service}: the checks of every
// instance of the service.
func (a *API) healthChecks(w http.ResponseWriter, r *http.Request, c *responseCache) {
	q, err := parseServiceQuery(r, queryHealthChecks)
	if err != nil {
		writeError(w, err)
		return
	}
	a.cachedServiceRead(w, r, c, q, func(tx *catalog.ReadTx, q serviceQuery) any {
		checks, _ := tx.ServiceChecks(q.name)
		return healthChecks(checks)
	})
}

// healthNode serves GET /v1/health/node/{node}: the node's checks, its own
// and its services', ordered by ID.
func (a *API) healthNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("node")
	keys := []catalog.WatchKey{catalog.TableWatch(catalog.TableChecks)}
	a.blockingRead(w, r, keys, func(tx *catalog.ReadTx) (any, uint64, error) {
		checks, idx := tx.NodeChecks(name)
		return healthChecks(checks), idx, nil
	})
}

// healthState serves GET /v1/health/state/{state}: every check in a state
// (any, passing, warning or critical), ordered by node then ID.
func (a *API) healthState(w http.ResponseWriter, r *http.Request) {
	state := r.PathValue("state")
	switch state {
	case "any", catalog.HealthPassing, catalog.HealthWarning, catalog.HealthCritical:
	default:
		writeError(w, badRequest("Invalid state"))
		return
	}
	keys := []catalog.WatchKey{catalog.TableWatch(catalog.TableChecks)}
	a.blockingRead(w, r, keys, func(tx *catalog.ReadTx) (any, uint64, error) {
		checks, idx := tx.ChecksInState(state)
		return healthChecks(checks), idx, nil
	})
}
