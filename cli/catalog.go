package cli

import (
	"sort"
	"strings"
)

var catalogCommands = []*command{{
	name:     "catalog services",
	synopsis: "Lists the services in the catalog",
	usage:    "[options]",
	help: `
  Lists the names of the services registered in the catalog, one per line
  (GET /v1/catalog/services). With -tags, each name is followed by its tags.`,
	read: true,
	run:  runCatalogServices,
}, {
	name:     "catalog nodes",
	synopsis: "Lists the nodes in the catalog",
	usage:    "[options]",
	help: `
  Lists the nodes registered in the catalog (GET /v1/catalog/nodes): name,
  the first 8 characters of the node ID (all of it with -detailed), address
  and datacenter.`,
	read: true,
	run:  runCatalogNodes,
}, {
	name:     "catalog service",
	synopsis: "Lists the instances of one service",
	usage:    "[options] NAME",
	help: `
  Lists the instances of the service NAME (GET /v1/catalog/service/NAME):
  node, service ID, address, port and tags. -tag keeps only the instances
  with that tag.`,
	read: true,
	run:  runCatalogService,
}}

// catalogNode is an entry of GET /v1/catalog/nodes.
type catalogNode struct {
	ID         string
	Node       string
	Address    string
	Datacenter string
	Meta       map[string]string
}

// serviceEntry is an entry of GET /v1/catalog/service/:name.
type serviceEntry struct {
	Node           string
	Address        string
	ServiceID      string
	ServiceName    string
	ServiceAddress string
	ServicePort    int
	ServiceTags    []string
}

func runCatalogServices(inv *invocation, args []string) int {
	var tags bool
	inv.fs.BoolVar(&tags, "tags", false, "Show each service's tags.")
	args, c, code, ok := inv.start(args, 0, 0)
	if !ok {
		return code
	}
	var services map[string][]string
	r, err := c.get("/v1/catalog/services", inv.query(), &services)
	if err != nil {
		return inv.fail("listing services", err)
	}
	if inv.json() {
		return inv.printJSON(r.body)
	}
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	tw := inv.table()
	for _, name := range names {
		if !tags {
			row(tw, name)
			continue
		}
		t := append([]string(nil), services[name]...)
		sort.Strings(t)
		row(tw, name, strings.Join(t, ","))
	}
	tw.Flush()
	return 0
}

func runCatalogNodes(inv *invocation, args []string) int {
	var detailed bool
	inv.fs.BoolVar(&detailed, "detailed", false, "Show full node IDs and node meta.")
	args, c, code, ok := inv.start(args, 0, 0)
	if !ok {
		return code
	}
	var nodes []catalogNode
	r, err := c.get("/v1/catalog/nodes", inv.query(), &nodes)
	if err != nil {
		return inv.fail("listing nodes", err)
	}
	if inv.json() {
		return inv.printJSON(r.body)
	}
	tw := inv.table()
	if detailed {
		row(tw, "Node", "ID", "Address", "DC", "Meta")
	} else {
		row(tw, "Node", "ID", "Address", "DC")
	}
	for _, n := range nodes {
		if detailed {
			row(tw, n.Node, n.ID, n.Address, n.Datacenter, formatMeta(n.Meta))
			continue
		}
		id := n.ID
		if len(id) > 8 {
			id = id[:8]
		}
		row(tw, n.Node, id, n.Address, n.Datacenter)
	}
	tw.Flush()
	return 0
}

func runCatalogService(inv *invocation, args []string) int {
	var tag string
	inv.fs.StringVar(&tag, "tag", "", "Only list instances with this tag.")
	args, c, code, ok := inv.start(args, 1, 1)
	if !ok {
		return code
	}
	q := inv.query()
	if tag != "" {
		q.Set("tag", tag)
	}
	var entries []serviceEntry
	r, err := c.get("/v1/catalog/service/"+args[0], q, &entries)
	if err != nil {
		return inv.fail("listing service instances", err)
	}
	if inv.json() {
		return inv.printJSON(r.body)
	}
	tw := inv.table()
	row(tw, "Node", "ServiceID", "Address", "Port", "Tags")
	for _, e := range entries {
		addr := e.ServiceAddress
		if addr == "" {
			addr = e.Address
		}
		row(tw, e.Node, e.ServiceID, addr, e.ServicePort, strings.Join(e.ServiceTags, ","))
	}
	tw.Flush()
	return 0
}

// formatMeta renders a map as sorted k=v pairs separated by commas.
func formatMeta(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}
