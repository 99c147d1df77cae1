package httpapi

import (
	"net/http"

	"github.com/beacon-sd/beacon/catalog"
)

// routesCatalog registers the catalog endpoints. catalog/service answers
// through its own response cache.
func (a *API) routesCatalog() {
	services := newResponseCache(defaultCacheEntries, defaultCacheBytes)
	a.handle("PUT /v1/catalog/register", a.catalogRegister)
	a.handle("PUT /v1/catalog/deregister", a.catalogDeregister)
	a.handle("GET /v1/catalog/datacenters", a.catalogDatacenters)
	a.handle("GET /v1/catalog/nodes", a.catalogNodes)
	a.handle("GET /v1/catalog/services", a.catalogServices)
	a.handle("GET /v1/catalog/service/{name}", func(w http.ResponseWriter, r *http.Request) {
		a.catalogService(w, r, services)
	})
	a.handle("GET /v1/catalog/node/{node}", a.catalogNode)
	a.handle("GET /v1/catalog/node-services/{node}", a.catalogNodeServices)
	for _, p := range []string{"service", "node", "node-services"} {
		a.handle("GET /v1/catalog/"+p+"/{$}", catalogMissingName(p))
	}
}

// catalogMissingName answers a path whose name segment is empty, as Consul does.
func catalogMissingName(what string) http.HandlerFunc {
	msg := "Missing node name"
	switch what {
	case "service", "checks":
		msg = "Missing service name"
	case "state":
		msg = "Missing check state"
	}
	return func(w http.ResponseWriter, _ *http.Request) { writeError(w, badRequest("%s", msg)) }
}

// catalogDatacenters serves GET /v1/catalog/datacenters: only the local one
// exists.
func (a *API) catalogDatacenters(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, r, http.StatusOK, []string{a.cfg.Datacenter})
}

func (a *API) shapes() shaper { return shaper{dc: a.cfg.Datacenter} }

// catalogNodes serves GET /v1/catalog/nodes, ordered by name.
func (a *API) catalogNodes(w http.ResponseWriter, r *http.Request) {
	keys := []catalog.WatchKey{catalog.TableWatch(catalog.TableNodes)}
	a.blockingRead(w, r, keys, func(tx *catalog.ReadTx) (any, uint64, error) {
		nodes, idx := tx.Nodes()
		return a.shapes().nodes(nodes), idx, nil
	})
}

// catalogServices serves GET /v1/catalog/services: {"name": ["tag", …]}.
func (a *API) catalogServices(w http.ResponseWriter, r *http.Request) {
	keys := []catalog.WatchKey{catalog.TableWatch(catalog.TableServices)}
	a.blockingRead(w, r, keys, func(tx *catalog.ReadTx) (any, uint64, error) {
		services, idx := tx.Services()
		return services, idx, nil
	})
}

// catalogService serves GET /v1/catalog/service/{name}[?tag=…]: the
// instances in the order of /v1/health/service (node name, then service
// ID), in Consul's flattened shape.
func (a *API) catalogService(w http.ResponseWriter, r *http.Request, c *responseCache) {
	q, err := parseServiceQuery(r, queryCatalogService)
	if err != nil {
		writeError(w, err)
		return
	}
	a.cachedServiceRead(w, r, c, q, a.buildCatalogService)
}

func (a *API) buildCatalogService(tx *catalog.ReadTx, q serviceQuery) any {
	tags := q.tagList()
	first := ""
	if len(tags) > 0 {
		first = tags[0]
	}
	instances, _ := tx.ServiceNodes(q.name, first)
	sh := a.shapes()
	out := make([]apiCatalogService, 0, len(instances))
	for _, sn := range instances {
		if len(tags) < 2 || hasAllTags(sn.Service.Tags, tags[1:]) {
			out = append(out, sh.catalogService(sn.Node, sn.Service))
		}
	}
	return out
}

// catalogNodeKeys are the watches of a node's services: the node itself or any
// service on it changing.
var catalogNodeKeys = []catalog.WatchKey{catalog.TableWatch(catalog.TableNodes), catalog.TableWatch(catalog.TableServices)}

// catalogNode serves GET /v1/catalog/node/{node}: the node and a map of its
// services by ID. An unknown node is 200 with null, as in Consul: the Go
// client's Catalog().Node requires a 200 and returns a nil *CatalogNode.
func (a *API) catalogNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("node")
	a.blockingRead(w, r, catalogNodeKeys, func(tx *catalog.ReadTx) (any, uint64, error) {
		n, svcs, idx := tx.NodeServices(name)
		if n == nil {
			return (*apiCatalogNode)(nil), idx, nil
		}
		sh := a.shapes()
		out := &apiCatalogNode{Node: sh.node(n), Services: make(map[string]*apiAgentService, len(svcs))}
		for _, s := range svcs {
			out.Services[s.ID] = sh.agentService(s)
		}
		return out, idx, nil
	})
}

// catalogNodeServices serves GET /v1/catalog/node-services/{node}: the node
// and a list of its services, ordered by ID. An unknown node is 200 with
// {"Node":null,"Services":[]}, as in Consul.
func (a *API) catalogNodeServices(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("node")
	a.blockingRead(w, r, catalogNodeKeys, func(tx *catalog.ReadTx) (any, uint64, error) {
		n, svcs, idx := tx.NodeServices(name)
		sh := a.shapes()
		out := &apiNodeServiceList{Node: sh.node(n), Services: make([]*apiAgentService, len(svcs))}
		for i, s := range svcs {
			out.Services[i] = sh.agentService(s)
		}
		return out, idx, nil
	})
}
