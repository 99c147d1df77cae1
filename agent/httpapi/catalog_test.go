package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/hashicorp/consul/api"
)

// catalogTestClient is the official Go client pointed at ta's server.
func catalogTestClient(t testing.TB, ta *testAPI) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: ta.srv.URL})
	if err != nil {
		t.Fatalf("api.NewClient: %v", err)
	}
	return c
}

// seedHealthCatalog registers, through the Go client, a catalog where each web
// instance is in a different state:
//
//	n1: web-1 [v1 primary], service check passing, node check passing; db-1
//	n2: web-2 [v1], service check warning, node check passing
//	n3: web-3 [v2], service check passing, node check critical
func seedHealthCatalog(t testing.TB, c *api.Client) {
	t.Helper()
	regs := []*api.CatalogRegistration{
		{
			ID: "11111111-2222-3333-4444-555555555555", Node: "n1", Address: "10.0.0.1",
			TaggedAddresses: map[string]string{"lan": "10.0.0.1"}, NodeMeta: map[string]string{"rack": "r1"},
			Service: &api.AgentService{ID: "web-1", Service: "web", Tags: []string{"v1", "primary"}, Port: 8080,
				Address: "10.0.1.1", Meta: map[string]string{"version": "1"}, Weights: api.AgentWeights{Passing: 3, Warning: 1}},
			Checks: api.HealthChecks{
				{CheckID: "serfHealth", Name: "Node Liveness", Status: api.HealthPassing},
				{CheckID: "service:web-1", Name: "web http", Status: api.HealthPassing, ServiceID: "web-1", Type: "http",
					Definition: api.HealthCheckDefinition{HTTP: "http://10.0.1.1:8080/health", Method: "GET",
						Header:           map[string][]string{"X-A": {"b"}},
						IntervalDuration: 10 * time.Second, TimeoutDuration: 2 * time.Second,
						DeregisterCriticalServiceAfterDuration: time.Minute}},
			},
		},
		{Node: "n1", SkipNodeUpdate: true, Service: &api.AgentService{ID: "db-1", Service: "db", Port: 5432}},
		{
			Node: "n2", Address: "10.0.0.2",
			Service: &api.AgentService{ID: "web-2", Service: "web", Tags: []string{"v1"}, Port: 8080},
			Checks: api.HealthChecks{
				{CheckID: "serfHealth", Name: "Node Liveness", Status: api.HealthPassing},
				{CheckID: "service:web-2", Name: "web ttl", Status: api.HealthWarning, ServiceID: "web-2", Type: "ttl"},
			},
		},
		{
			Node: "n3", Address: "10.0.0.3",
			Service: &api.AgentService{ID: "web-3", Service: "web", Tags: []string{"v2"}, Port: 8080},
			Checks: api.HealthChecks{
				{CheckID: "serfHealth", Name: "Node Liveness", Status: api.HealthCritical},
				{CheckID: "service:web-3", Name: "web tcp", Status: api.HealthPassing, ServiceID: "web-3",
					Definition: api.HealthCheckDefinition{TCP: "10.0.0.3:8080", IntervalDuration: 5 * time.Second}},
			},
		},
	}
	for _, reg := range regs {
		if _, err := c.Catalog().Register(reg, nil); err != nil {
			t.Fatalf("register %s: %v", reg.Node, err)
		}
	}
}

// catalogIDs lists "node/serviceID" of catalog instances, in order.
func catalogIDs(svcs []*api.CatalogService) []string {
	out := make([]string, len(svcs))
	for i, s := range svcs {
		out[i] = s.Node + "/" + s.ServiceID
	}
	return out
}

func TestCatalogReads(t *testing.T) {
	ta := newTestAPI(t)
	c := catalogTestClient(t, ta)
	seedHealthCatalog(t, c)
	cat := c.Catalog()

	t.Run("datacenters", func(t *testing.T) {
		dcs, err := cat.Datacenters()
		if err != nil || !slices.Equal(dcs, []string{"dc1"}) {
			t.Fatalf("Datacenters = %v, %v; want [dc1]", dcs, err)
		}
	})
	t.Run("nodes", func(t *testing.T) {
		nodes, meta, err := cat.Nodes(nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range nodes {
			names = append(names, n.Node)
		}
		if !slices.Equal(names, []string{"n1", "n2", "n3"}) {
			t.Fatalf("nodes = %v", names)
		}
		n1 := nodes[0]
		if n1.ID != "11111111-2222-3333-4444-555555555555" || n1.Address != "10.0.0.1" || n1.Datacenter != "dc1" ||
			n1.Meta["rack"] != "r1" || n1.TaggedAddresses["lan"] != "10.0.0.1" || n1.CreateIndex == 0 || n1.ModifyIndex == 0 {
			t.Errorf("n1 = %+v", n1)
		}
		if meta.LastIndex == 0 || !meta.KnownLeader {
			t.Errorf("meta = %+v", meta)
		}
	})
	t.Run("services", func(t *testing.T) {
		svcs, _, err := cat.Services(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(svcs["web"], []string{"primary", "v1", "v2"}) || svcs["db"] == nil || len(svcs["db"]) != 0 || len(svcs) != 2 {
			t.Fatalf("services = %v", svcs)
		}
	})

	serviceCases := []struct {
		name string
		tags []string
		want []string
	}{
		{"all instances by node then ID", nil, []string{"n1/web-1", "n2/web-2", "n3/web-3"}},
		{"one tag", []string{"v1"}, []string{"n1/web-1", "n2/web-2"}},
		{"tags match case-insensitively", []string{"V1"}, []string{"n1/web-1", "n2/web-2"}},
		{"several tags: all required", []string{"v1", "primary"}, []string{"n1/web-1"}},
		{"several tags in any order", []string{"primary", "v1"}, []string{"n1/web-1"}},
		{"no instance has both", []string{"v1", "v2"}, []string{}},
	}
	for _, tc := range serviceCases {
		t.Run("service/"+tc.name, func(t *testing.T) {
			svcs, _, err := cat.ServiceMultipleTags("web", tc.tags, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := catalogIDs(svcs); !slices.Equal(got, tc.want) {
				t.Fatalf("instances = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("service shape", func(t *testing.T) {
		svcs, meta, err := cat.Service("web", "primary", nil)
		if err != nil || len(svcs) != 1 {
			t.Fatalf("Service = %v, %v", svcs, err)
		}
		s := svcs[0]
		want := api.CatalogService{
			ID: "11111111-2222-3333-4444-555555555555", Node: "n1", Address: "10.0.0.1", Datacenter: "dc1",
			TaggedAddresses: map[string]string{"lan": "10.0.0.1"}, NodeMeta: map[string]string{"rack": "r1"},
			ServiceID: "web-1", ServiceName: "web", ServiceAddress: "10.0.1.1", ServiceTags: []string{"v1", "primary"},
			ServiceMeta: map[string]string{"version": "1"}, ServicePort: 8080,
			ServiceWeights: api.Weights{Passing: 3, Warning: 1},
		}
		s.CreateIndex, s.ModifyIndex = 0, 0
		if !catalogSameJSON(t, s, &want) {
			t.Errorf("CatalogService = %+v\nwant %+v", s, want)
		}
		if meta.LastIndex == 0 {
			t.Error("no X-Consul-Index")
		}
	})
	t.Run("service without weights gets 1/1", func(t *testing.T) {
		svcs, _, err := cat.Service("db", "", nil)
		if err != nil || len(svcs) != 1 {
			t.Fatalf("Service(db) = %v, %v", svcs, err)
		}
		if svcs[0].ServiceWeights != (api.Weights{Passing: 1, Warning: 1}) {
			t.Errorf("weights = %+v", svcs[0].ServiceWeights)
		}
	})
	t.Run("node", func(t *testing.T) {
		n, _, err := cat.Node("n1", nil)
		if err != nil || n == nil {
			t.Fatalf("Node = %v, %v", n, err)
		}
		web := n.Services["web-1"]
		if n.Node.Node != "n1" || len(n.Services) != 2 || web == nil || n.Services["db-1"] == nil {
			t.Fatalf("node = %+v", n)
		}
		if web.Service != "web" || web.Port != 8080 || web.Address != "10.0.1.1" || web.Weights.Passing != 3 ||
			web.Meta["version"] != "1" || web.Datacenter != "dc1" || web.CreateIndex == 0 {
			t.Errorf("web-1 = %+v", web)
		}
		if tags := n.Services["db-1"].Tags; tags == nil || len(tags) != 0 {
			t.Errorf("db-1 tags = %#v, want []", tags)
		}
	})
	t.Run("unknown node is nil, not an error", func(t *testing.T) {
		n, _, err := cat.Node("nope", nil)
		if err != nil || n != nil {
			t.Fatalf("Node(nope) = %+v, %v; want nil, nil", n, err)
		}
	})
	t.Run("node-services", func(t *testing.T) {
		l, _, err := cat.NodeServiceList("n1", nil)
		if err != nil || l == nil || l.Node == nil {
			t.Fatalf("NodeServiceList = %+v, %v", l, err)
		}
		var ids []string
		for _, s := range l.Services {
			ids = append(ids, s.ID)
		}
		if l.Node.Node != "n1" || !slices.Equal(ids, []string{"db-1", "web-1"}) {
			t.Fatalf("node-services = %+v %v", l.Node, ids)
		}
	})
	t.Run("node-services of unknown node", func(t *testing.T) {
		l, _, err := cat.NodeServiceList("nope", nil)
		if err != nil || l == nil || l.Node != nil || l.Services == nil || len(l.Services) != 0 {
			t.Fatalf("NodeServiceList(nope) = %+v, %v", l, err)
		}
	})
}

// TestCatalogRawShapes checks what the Go client cannot see: empty lists and
// maps are [] and {}, never null.
func TestCatalogRawShapes(t *testing.T) {
	ta := newTestAPI(t)
	seedHealthCatalog(t, catalogTestClient(t, ta))
	cases := []struct {
		name, path string
		contains   []string
	}{
		{"missing service is []", "/v1/catalog/service/nope", []string{"[]"}},
		{"missing service with tag is []", "/v1/catalog/service/web?tag=zzz", []string{"[]"}},
		{"no tags, no meta", "/v1/catalog/service/db", []string{`"ServiceTags":[]`, `"ServiceMeta":{}`}},
		{"no node meta", "/v1/catalog/service/web?tag=v2", []string{`"NodeMeta":{}`, `"TaggedAddresses":{}`}},
		{"agent service shape", "/v1/catalog/node/n2", []string{`"Tags":["v1"]`, `"Meta":{}`, `"Weights":{"Passing":1,"Warning":1}`, `"Datacenter":"dc1"`}},
		{"unknown node is null", "/v1/catalog/node/nope", []string{"null"}},
		{"unknown node's service list", "/v1/catalog/node-services/nope", []string{`{"Node":null,"Services":[]}`}},
		{"health of missing service is []", "/v1/health/service/nope?passing", []string{"[]"}},
		{"checks of missing service are []", "/v1/health/checks/nope", []string{"[]"}},
		{"checks of unknown node are []", "/v1/health/node/nope", []string{"[]"}},
		{"node checks have ServiceTags []", "/v1/health/node/n1", []string{`"CheckID":"serfHealth"`, `"ServiceTags":[]`}},
		{"durations are strings", "/v1/health/checks/web", []string{`"Interval":"10s"`, `"Timeout":"2s"`, `"DeregisterCriticalServiceAfter":"1m0s"`}},
		{"checks in state warning", "/v1/health/state/warning", []string{`"CheckID":"service:web-2"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := ta.do("GET", tc.path, "")
			if code != http.StatusOK {
				t.Fatalf("GET %s = %d %q", tc.path, code, body)
			}
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Errorf("GET %s = %s\nwant it to contain %s", tc.path, body, s)
				}
			}
			if strings.Contains(body, ":null") && !strings.Contains(tc.name, "unknown node") {
				t.Errorf("GET %s has a null: %s", tc.path, body)
			}
			for _, h := range []string{"X-Consul-Index", "X-Consul-KnownLeader", "X-Consul-LastContact"} {
				if hdr.Get(h) == "" {
					t.Errorf("missing header %s", h)
				}
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

// TestCatalogEmpty: an empty catalog answers empty lists and maps.
func TestCatalogEmpty(t *testing.T) {
	ta := newTestAPI(t)
	cases := []struct{ path, want string }{
		{"/v1/catalog/nodes", "[]"},
		{"/v1/catalog/services", "{}"},
		{"/v1/catalog/service/web", "[]"},
		{"/v1/catalog/service/web?tag=v1&tag=v2", "[]"},
		{"/v1/health/service/web?passing", "[]"},
		{"/v1/health/checks/web", "[]"},
		{"/v1/health/node/n1", "[]"},
		{"/v1/health/state/any", "[]"},
		{"/v1/health/state/critical", "[]"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			code, hdr, body := ta.do("GET", tc.path, "")
			if code != http.StatusOK || strings.TrimSpace(body) != tc.want {
				t.Fatalf("GET %s = %d %q, want 200 %s", tc.path, code, body, tc.want)
			}
			if idx := hdr.Get("X-Consul-Index"); idx == "" || idx == "0" {
				t.Errorf("X-Consul-Index = %q, want at least 1", idx)
			}
		})
	}
}

func TestCatalogWriteErrors(t *testing.T) {
	ta := newTestAPI(t)
	seedHealthCatalog(t, catalogTestClient(t, ta))
	cases := []struct {
		name, method, path, body string
		wantCode                 int
		wantBody                 string
	}{
		{"malformed JSON", "PUT", "/v1/catalog/register", `{"Node":`, 400, "Request decode failed"},
		{"malformed JSON says where", "PUT", "/v1/catalog/register", `{"Node": "n9", }`, 400, "invalid JSON at byte"},
		{"wrong type names the field", "PUT", "/v1/catalog/register", `{"Node": 7}`, 400, `field "Node"`},
		{"bad duration", "PUT", "/v1/catalog/register", `{"Node":"n9","Address":"1.2.3.4","Check":{"CheckID":"c","Definition":{"Interval":"soon"}}}`, 400, `invalid duration "soon"`},
		{"empty body", "PUT", "/v1/catalog/register", ``, 400, "empty body"},
		{"missing node", "PUT", "/v1/catalog/register", `{"Address":"10.0.0.9"}`, 400, "Must provide node"},
		{"missing address", "PUT", "/v1/catalog/register", `{"Node":"n9"}`, 400, "Must provide address"},
		{"service ID without name", "PUT", "/v1/catalog/register", `{"Node":"n9","Address":"1.2.3.4","Service":{"ID":"x"}}`, 400, "Must provide service name"},
		{"unroutable service address", "PUT", "/v1/catalog/register", `{"Node":"n9","Address":"1.2.3.4","Service":{"Service":"x","Address":"0.0.0.0"}}`, 400, "Service.Address"},
		{"bad check status", "PUT", "/v1/catalog/register", `{"Node":"n9","Address":"1.2.3.4","Check":{"CheckID":"c","Status":"fine"}}`, 400, "Status"},
		{"check on unknown service", "PUT", "/v1/catalog/register", `{"Node":"n1","Address":"10.0.0.1","Check":{"CheckID":"c","ServiceID":"nope"}}`, 400, `service "nope"`},
		{"check without ID or name", "PUT", "/v1/catalog/register", `{"Node":"n9","Address":"1.2.3.4","Check":{"Status":"passing"}}`, 400, "CheckID"},
		{"meta key", "PUT", "/v1/catalog/register", `{"Node":"n9","Address":"1.2.3.4","NodeMeta":{"a b":"c"}}`, 400, "Meta"},
		{"other datacenter in body", "PUT", "/v1/catalog/register", `{"Node":"n9","Address":"1.2.3.4","Datacenter":"dc9"}`, 500, "No path to datacenter"},
		{"other datacenter in query", "PUT", "/v1/catalog/register?dc=dc9", `{"Node":"n9","Address":"1.2.3.4"}`, 500, "No path to datacenter"},
		{"deregister malformed", "PUT", "/v1/catalog/deregister", `[`, 400, "Request decode failed"},
		{"deregister missing node", "PUT", "/v1/catalog/deregister", `{"ServiceID":"web-1"}`, 400, "Must provide node"},
		{"deregister service and check", "PUT", "/v1/catalog/deregister", `{"Node":"n1","ServiceID":"web-1","CheckID":"c"}`, 400, "CheckID"},
		{"register with GET", "GET", "/v1/catalog/register", ``, 405, ""},
		{"deregister with POST", "POST", "/v1/catalog/deregister", `{}`, 405, ""},
		{"nodes with DELETE", "DELETE", "/v1/catalog/nodes", ``, 405, ""},
		{"service with PUT", "PUT", "/v1/catalog/service/web", ``, 405, ""},
		{"health service with POST", "POST", "/v1/health/service/web", ``, 405, ""},
		{"health state with DELETE", "DELETE", "/v1/health/state/any", ``, 405, ""},
		{"unknown catalog path", "GET", "/v1/catalog/bogus", ``, 404, ""},
		{"service name with a slash", "GET", "/v1/catalog/service/a/b", ``, 404, ""},
		{"empty service name", "GET", "/v1/catalog/service/", ``, 400, "Missing service name"},
		{"empty node name", "GET", "/v1/catalog/node/", ``, 400, "Missing node name"},
		{"empty health service name", "GET", "/v1/health/service/", ``, 400, "Missing service name"},
		{"bad state", "GET", "/v1/health/state/sick", ``, 400, "Invalid state"},
		{"bad passing", "GET", "/v1/health/service/web?passing=maybe", ``, 400, "Invalid value for ?passing"},
		{"bad index", "GET", "/v1/health/service/web?index=x", ``, 400, "Invalid index"},
		{"filter unsupported", "GET", "/v1/catalog/service/web?filter=ServiceTags+contains+v1", ``, 400, "filter"},
		{"read from other dc", "GET", "/v1/catalog/nodes?dc=dc9", ``, 500, "No path to datacenter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := ta.do(tc.method, tc.path, tc.body)
			if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, code, body, tc.wantCode, tc.wantBody)
			}
			if code == http.StatusMethodNotAllowed && hdr.Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
	// Nothing above registered anything.
	if _, _, body := ta.do("GET", "/v1/catalog/node/n9", ""); strings.TrimSpace(body) != "null" {
		t.Errorf("n9 exists after failed registrations: %s", body)
	}
}

func TestCatalogRegisterDeregister(t *testing.T) {
	ta := newTestAPI(t)
	c := catalogTestClient(t, ta)
	seedHealthCatalog(t, c)
	cat := c.Catalog()
	steps := []struct {
		name    string
		dereg   *api.CatalogDeregistration
		raw     string // or a raw register body
		service string
		want    []string // catalog/service/<service> afterwards
	}{
		{name: "raw register answers true", raw: `{"Node":"n4","Address":"10.0.0.4","Service":{"Service":"web","Port":80},"Check":{"Name":"alive","Status":"passing","ServiceID":"web"}}`,
			service: "web", want: []string{"n1/web-1", "n2/web-2", "n3/web-3", "n4/web"}},
		{name: "deregister a check keeps the service", dereg: &api.CatalogDeregistration{Node: "n4", CheckID: "alive"},
			service: "web", want: []string{"n1/web-1", "n2/web-2", "n3/web-3", "n4/web"}},
		{name: "deregister a service", dereg: &api.CatalogDeregistration{Node: "n2", ServiceID: "web-2"},
			service: "web", want: []string{"n1/web-1", "n3/web-3", "n4/web"}},
		{name: "deregister a node", dereg: &api.CatalogDeregistration{Node: "n1"},
			service: "db", want: []string{}},
		{name: "deregister something missing is no error", dereg: &api.CatalogDeregistration{Node: "nope"},
			service: "web", want: []string{"n3/web-3", "n4/web"}},
	}
	for _, s := range steps {
		if s.raw != "" {
			code, hdr, body := ta.do("PUT", "/v1/catalog/register", s.raw)
			if code != 200 || strings.TrimSpace(body) != "true" || hdr.Get("X-Consul-Index") == "" {
				t.Fatalf("%s: register = %d %q", s.name, code, body)
			}
		} else if _, err := cat.Deregister(s.dereg, nil); err != nil {
			t.Fatalf("%s: deregister: %v", s.name, err)
		}
		svcs, _, err := cat.Service(s.service, "", nil)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := catalogIDs(svcs); !slices.Equal(got, s.want) {
			t.Errorf("%s: %s instances = %v, want %v", s.name, s.service, got, s.want)
		}
	}
	checks, _, err := c.Health().Node("n4", nil)
	if err != nil || len(checks) != 0 {
		t.Errorf("n4 checks after deregistering its check = %v, %v", checks, err)
	}
}

// TestCatalogServiceIndexIsPerService: the index of catalog/service/web
// does not move when another service changes, and does when web does.
func TestCatalogServiceIndexIsPerService(t *testing.T) {
	ta := newTestAPI(t)
	c := catalogTestClient(t, ta)
	seedHealthCatalog(t, c)
	index := func(path string) uint64 {
		t.Helper()
		_, hdr, _ := ta.do("GET", path, "")
		v, err := strconv.ParseUint(hdr.Get("X-Consul-Index"), 10, 64)
		if err != nil {
			t.Fatalf("X-Consul-Index of %s: %v", path, err)
		}
		return v
	}
	web, nodes := index("/v1/catalog/service/web"), index("/v1/catalog/nodes")
	res := ta.apply(&catalog.RegisterRequest{Node: catalog.Node{Node: "n1"}, SkipNodeUpdate: true,
		Service: &catalog.Service{ID: "db-1", Service: "db", Port: 6543}})
	if got := index("/v1/catalog/service/web"); got != web {
		t.Errorf("web's index moved from %d to %d on a db change", web, got)
	}
	if got := index("/v1/catalog/service/db"); got != res.Index {
		t.Errorf("db's index = %d, want %d", got, res.Index)
	}
	if got := index("/v1/catalog/nodes"); got != nodes {
		t.Errorf("nodes index moved from %d to %d on a service change", nodes, got)
	}
	res = ta.apply(&catalog.RegisterRequest{Node: catalog.Node{Node: "n2", Address: "10.0.0.22"}})
	if got := index("/v1/catalog/service/web"); got != res.Index {
		t.Errorf("web's index = %d after its node n2 changed at %d", got, res.Index)
	}
	if got := index("/v1/catalog/service/never-registered"); got == 0 {
		t.Error("index of an unknown service is 0")
	}
}

// catalogSameJSON reports whether got and want encode to the same JSON.
func catalogSameJSON(t testing.TB, got, want any) bool {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	return string(g) == string(w)
}
