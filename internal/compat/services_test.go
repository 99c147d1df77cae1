package compat

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/agent"
	"github.com/beacon-sd/beacon/internal/agenttest"
)

// waitRegistered waits until node is in the catalog with its liveness
// check passing. An agent registers its node by anti-entropy once it knows
// a leader, a moment after /v1/status/leader first answers one (as in
// Consul, whose own tests wait for the serfHealth check the same way);
// sessions need the node.
func waitRegistered(t *testing.T, c *api.Client, node string) {
	t.Helper()
	agenttest.Eventually(t, 10*time.Second, func() error {
		checks, _, err := c.Health().Node(node, nil)
		if err != nil {
			return err
		}
		for _, chk := range checks {
			if chk.CheckID == "serfHealth" && chk.Status == api.HealthPassing {
				return nil
			}
		}
		return fmt.Errorf("node %s not registered with a passing serfHealth check: %+v", node, checks)
	})
}

// wantStatusError checks that err is the client's StatusError with code
// and a body containing msg.
func wantStatusError(t *testing.T, what string, err error, code int, msg string) {
	t.Helper()
	var se api.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("%s: error %v, want a %d response", what, err, code)
	}
	if se.Code != code || !strings.Contains(se.Body, msg) {
		t.Fatalf("%s: %d %q, want %d containing %q", what, se.Code, se.Body, code, msg)
	}
}

// register registers services on an agent, failing the test on error.
func register(t *testing.T, c *api.Client, regs ...*api.AgentServiceRegistration) {
	t.Helper()
	for _, r := range regs {
		if err := c.Agent().ServiceRegister(r); err != nil {
			t.Fatalf("register %s: %v", r.ID, err)
		}
	}
}

// ttlService is a service instance with one TTL check (ID service:<id>).
func ttlService(id, name string, port int, tags ...string) *api.AgentServiceRegistration {
	return &api.AgentServiceRegistration{ID: id, Name: name, Tags: tags, Address: "127.0.0.1", Port: port,
		Check: &api.AgentServiceCheck{TTL: "10s"}}
}

// checkStatus is the status of a check as the agent reports it.
func checkStatus(c *api.Client, id string) (string, error) {
	checks, err := c.Agent().Checks()
	if err != nil {
		return "", err
	}
	chk, ok := checks[id]
	if !ok {
		return "", fmt.Errorf("check %s not in /v1/agent/checks", id)
	}
	return chk.Status, nil
}

// healthIDs lists the service IDs of a /v1/health/service answer, in order.
func healthIDs(c *api.Client, name, tag string, passing bool) ([]string, error) {
	entries, _, err := c.Health().Service(name, tag, passing, nil)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Service.ID
	}
	return ids, nil
}

// wantHealthIDs waits until /v1/health/service/:name answers want.
func wantHealthIDs(t *testing.T, c *api.Client, name, tag string, passing bool, want ...string) {
	t.Helper()
	agenttest.Eventually(t, 5*time.Second, func() error {
		ids, err := healthIDs(c, name, tag, passing)
		if err != nil {
			return err
		}
		if !slices.Equal(ids, want) {
			return fmt.Errorf("health/service/%s tag=%q passing=%v = %v, want %v", name, tag, passing, ids, want)
		}
		return nil
	})
}

func TestAgentServiceRegistration(t *testing.T) {
	t.Parallel()
	c := client(t, agenttest.Dev(t))
	register(t, c,
		&api.AgentServiceRegistration{ID: "web-1", Name: "web", Tags: []string{"v1"}, Address: "127.0.0.1", Port: 8080,
			Meta: map[string]string{"version": "1"}, Check: &api.AgentServiceCheck{TTL: "10s"}},
		&api.AgentServiceRegistration{Name: "solo", Port: 9000, Checks: api.AgentServiceChecks{
			{Name: "first", TTL: "10s"}, {Name: "second", TTL: "10s", Status: api.HealthPassing}}},
	)
	t.Run("services", func(t *testing.T) {
		svcs, err := c.Agent().Services()
		if err != nil {
			t.Fatal(err)
		}
		web := svcs["web-1"]
		if web == nil || web.Service != "web" || web.Port != 8080 || web.Address != "127.0.0.1" ||
			!slices.Equal(web.Tags, []string{"v1"}) || web.Meta["version"] != "1" {
			t.Fatalf("web-1 = %+v", web)
		}
		if solo := svcs["solo"]; solo == nil || solo.ID != "solo" || solo.Service != "solo" {
			t.Fatalf("solo (ID defaulting to Name) = %+v in %v", solo, svcs)
		}
	})
	t.Run("checks", func(t *testing.T) {
		checks, err := c.Agent().Checks()
		if err != nil {
			t.Fatal(err)
		}
		web := checks["service:web-1"]
		if web == nil || web.ServiceID != "web-1" || web.ServiceName != "web" || web.Status != api.HealthCritical || web.Type != "ttl" {
			t.Fatalf("service:web-1 = %+v (want a critical ttl check of web-1)", web)
		}
		first, second := checks["service:solo:1"], checks["service:solo:2"]
		if first == nil || second == nil || first.Name != "first" || second.Status != api.HealthPassing {
			t.Fatalf("solo's checks = %+v, %+v in %v", first, second, checks)
		}
	})
	t.Run("catalog", func(t *testing.T) {
		svcs, _, err := c.Catalog().Services(nil)
		if err != nil || !slices.Equal(svcs["web"], []string{"v1"}) || svcs["solo"] == nil {
			t.Fatalf("catalog services = %v, %v", svcs, err)
		}
		inst, _, err := c.Catalog().Service("web", "", nil)
		if err != nil || len(inst) != 1 || inst[0].ServiceID != "web-1" || inst[0].ServicePort != 8080 || inst[0].Node != "dev" {
			t.Fatalf("catalog service web = %+v, %v", inst, err)
		}
	})
	t.Run("deregister", func(t *testing.T) {
		if err := c.Agent().ServiceDeregister("web-1"); err != nil {
			t.Fatal(err)
		}
		svcs, _ := c.Agent().Services()
		checks, _ := c.Agent().Checks()
		if svcs["web-1"] != nil || checks["service:web-1"] != nil {
			t.Fatalf("after deregister: services %v, checks %v", svcs, checks)
		}
		inst, _, err := c.Catalog().Service("web", "", nil)
		if err != nil || len(inst) != 0 {
			t.Fatalf("catalog service web after deregister = %+v, %v", inst, err)
		}
		if hc, _, err := c.Health().Checks("web", nil); err != nil || len(hc) != 0 {
			t.Fatalf("health checks web after deregister = %+v, %v", hc, err)
		}
		wantStatusError(t, "deregister unknown", c.Agent().ServiceDeregister("nope"), http.StatusNotFound, "nope")
	})
}

func TestTTLChecks(t *testing.T) {
	t.Parallel()
	c := client(t, agenttest.Dev(t))
	register(t, c, ttlService("web-1", "web", 8080))
	register(t, c, &api.AgentServiceRegistration{Name: "api", Port: 80,
		Check: &api.AgentServiceCheck{TCP: "127.0.0.1:1", Interval: "10s"}})
	const id = "service:web-1"
	ag := c.Agent()
	for _, tc := range []struct {
		name       string
		update     func() error
		wantStatus string
		wantOutput string
	}{
		{"pass", func() error { return ag.PassTTL(id, "all good") }, api.HealthPassing, "all good"},
		{"warn", func() error { return ag.WarnTTL(id, "slow") }, api.HealthWarning, "slow"},
		{"fail", func() error { return ag.FailTTL(id, "down") }, api.HealthCritical, "down"},
		{"update pass", func() error { return ag.UpdateTTL(id, "up again", "pass") }, api.HealthPassing, "up again"},
		{"update warning", func() error { return ag.UpdateTTL(id, "meh", api.HealthWarning) }, api.HealthWarning, "meh"},
		{"update opts critical", func() error { return ag.UpdateTTLOpts(id, "gone", api.HealthCritical, nil) }, api.HealthCritical, "gone"},
		{"update opts passing", func() error { return ag.UpdateTTLOpts(id, "back", "passing", nil) }, api.HealthPassing, "back"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.update(); err != nil {
				t.Fatal(err)
			}
			chk := must[map[string]*api.AgentCheck](t)(ag.Checks())[id]
			if chk == nil || chk.Status != tc.wantStatus || chk.Output != tc.wantOutput {
				t.Fatalf("agent check = %+v, want %s %q", chk, tc.wantStatus, tc.wantOutput)
			}
			agenttest.Eventually(t, 5*time.Second, func() error {
				hc, _, err := c.Health().Checks("web", nil)
				if err != nil {
					return err
				}
				if len(hc) != 1 || hc[0].Status != tc.wantStatus || hc[0].Output != tc.wantOutput {
					return fmt.Errorf("health checks web = %+v, want %s %q", hc, tc.wantStatus, tc.wantOutput)
				}
				return nil
			})
		})
	}
	t.Run("unknown check", func(t *testing.T) {
		wantStatusError(t, "pass unknown", ag.PassTTL("nope", ""), http.StatusNotFound, `Unknown check ID "nope"`)
		wantStatusError(t, "update unknown", ag.UpdateTTL("nope", "", "pass"), http.StatusNotFound, `Unknown check ID "nope"`)
	})
	t.Run("not a TTL check", func(t *testing.T) {
		wantStatusError(t, "pass tcp check", ag.PassTTL("service:api", ""), http.StatusInternalServerError, "does not have associated TTL")
	})
	t.Run("expires", func(t *testing.T) {
		register(t, c, &api.AgentServiceRegistration{ID: "short", Name: "short", Check: &api.AgentServiceCheck{TTL: "1s"}})
		start := time.Now()
		if err := ag.PassTTL("service:short", "renewed once"); err != nil {
			t.Fatal(err)
		}
		if s, err := checkStatus(c, "service:short"); err != nil || s != api.HealthPassing {
			t.Fatalf("just after pass: %s, %v", s, err)
		}
		agenttest.Eventually(t, 2*time.Second, func() error {
			hc, _, err := c.Health().Checks("short", nil)
			if err != nil {
				return err
			}
			if len(hc) != 1 || hc[0].Status != api.HealthCritical || hc[0].Output != "TTL expired" {
				return fmt.Errorf("unrenewed TTL check %v after pass: %+v, want critical, TTL expired", time.Since(start), hc)
			}
			return nil
		})
		if d := time.Since(start); d < time.Second {
			t.Fatalf("TTL 1s check critical after only %v", d)
		}
	})
}

func TestHTTPCheck(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	status.Store(http.StatusOK)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		fmt.Fprintf(w, "status %d", status.Load())
	}))
	t.Cleanup(target.Close)
	c := client(t, agenttest.Dev(t))
	// Like Consul, beacon raises intervals under 1s to 1s: each step takes
	// up to a second.
	register(t, c, &api.AgentServiceRegistration{ID: "api-1", Name: "api", Port: 80,
		Check: &api.AgentServiceCheck{HTTP: target.URL + "/health", Interval: "200ms", Timeout: "1s"}})
	for _, tc := range []struct {
		code int
		want string
	}{
		{http.StatusOK, api.HealthPassing},
		{http.StatusInternalServerError, api.HealthCritical},
		{http.StatusTooManyRequests, api.HealthWarning},
		{http.StatusOK, api.HealthPassing},
	} {
		t.Run(fmt.Sprintf("%d is %s", tc.code, tc.want), func(t *testing.T) {
			status.Store(int32(tc.code))
			agenttest.Eventually(t, 5*time.Second, func() error {
				if s, err := checkStatus(c, "service:api-1"); err != nil || s != tc.want {
					return fmt.Errorf("agent check = %q (%v), want %s", s, err, tc.want)
				}
				hc, _, err := c.Health().Checks("api", nil)
				if err != nil || len(hc) != 1 || hc[0].Status != tc.want || !strings.Contains(hc[0].Output, fmt.Sprintf("status %d", tc.code)) {
					return fmt.Errorf("health checks api = %+v (%v), want %s with the body in the output", hc, err, tc.want)
				}
				return nil
			})
			if tc.want == api.HealthPassing {
				wantHealthIDs(t, c, "api", "", true, "api-1")
			} else {
				wantHealthIDs(t, c, "api", "", true)
			}
		})
	}
	t.Run("not a TTL check", func(t *testing.T) {
		wantStatusError(t, "fail http check", c.Agent().FailTTL("service:api-1", ""), http.StatusInternalServerError,
			`CheckID "service:api-1" does not have associated TTL`)
	})
}

func TestCatalogAndHealth(t *testing.T) {
	t.Parallel()
	c := client(t, agenttest.Dev(t))
	register(t, c,
		ttlService("web-2", "web", 8082, "v2"),
		ttlService("web-1", "web", 8081, "v1", "primary"),
		ttlService("web-3", "web", 8083, "v1"),
		ttlService("db", "db", 5432),
	)
	ag := c.Agent()
	for _, id := range []string{"web-1", "web-2", "web-3", "db"} {
		if err := ag.PassTTL("service:"+id, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := ag.FailTTL("service:web-3", "broken"); err != nil {
		t.Fatal(err)
	}
	t.Run("catalog services", func(t *testing.T) {
		svcs, meta, err := c.Catalog().Services(nil)
		if err != nil || meta.LastIndex == 0 {
			t.Fatalf("catalog services: %v (index %v)", err, meta)
		}
		tags := slices.Clone(svcs["web"])
		slices.Sort(tags)
		if !slices.Equal(tags, []string{"primary", "v1", "v2"}) || svcs["db"] == nil {
			t.Fatalf("catalog services = %v, want web with tags primary v1 v2, and db", svcs)
		}
	})
	t.Run("catalog service", func(t *testing.T) {
		inst, meta, err := c.Catalog().Service("web", "", nil)
		if err != nil || meta.LastIndex == 0 {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range inst {
			ids = append(ids, s.ServiceID)
		}
		if !slices.Equal(ids, []string{"web-1", "web-2", "web-3"}) {
			t.Fatalf("catalog service web = %v, want web-1 web-2 web-3 (node, then ID)", ids)
		}
		v1, _, err := c.Catalog().Service("web", "v1", nil)
		if err != nil || len(v1) != 2 || v1[0].ServiceID != "web-1" || v1[1].ServiceID != "web-3" {
			t.Fatalf("catalog service web tag v1 = %+v, %v", v1, err)
		}
		if none, _, err := c.Catalog().Service("nope", "", nil); err != nil || none == nil || len(none) != 0 {
			t.Fatalf("catalog service nope = %#v, %v; want []", none, err)
		}
	})
	t.Run("catalog nodes", func(t *testing.T) {
		nodes, _, err := c.Catalog().Nodes(nil)
		if err != nil || len(nodes) != 1 || nodes[0].Node != "dev" || nodes[0].Address == "" {
			t.Fatalf("catalog nodes = %+v, %v", nodes, err)
		}
		n, _, err := c.Catalog().Node("dev", nil)
		if err != nil || n == nil || n.Node == nil || n.Node.Node != "dev" || len(n.Services) != 4 || n.Services["web-1"] == nil ||
			n.Services["web-1"].Port != 8081 {
			t.Fatalf("catalog node dev = %+v, %v", n, err)
		}
		if n, _, err := c.Catalog().Node("nope", nil); err != nil || n != nil {
			t.Fatalf("catalog node nope = %+v, %v; want nil", n, err)
		}
	})
	t.Run("health service", func(t *testing.T) {
		entries, _, err := c.Health().Service("web", "", false, nil)
		if err != nil || len(entries) != 3 {
			t.Fatalf("health service web = %d entries, %v", len(entries), err)
		}
		e := entries[0]
		if e.Node == nil || e.Node.Node != "dev" || e.Service.ID != "web-1" || e.Service.Port != 8081 {
			t.Fatalf("first entry = node %+v service %+v", e.Node, e.Service)
		}
		var checkIDs []string
		for _, chk := range e.Checks {
			checkIDs = append(checkIDs, chk.CheckID)
		}
		slices.Sort(checkIDs)
		if !slices.Equal(checkIDs, []string{"serfHealth", "service:web-1"}) {
			t.Fatalf("web-1's entry checks = %v, want the node's serfHealth and its own", checkIDs)
		}
		if st := entries[2].Checks.AggregatedStatus(); st != api.HealthCritical {
			t.Fatalf("web-3 aggregated status %s, want critical", st)
		}
	})
	t.Run("same order as catalog", func(t *testing.T) {
		for _, tag := range []string{"", "v1"} {
			inst, _, err := c.Catalog().Service("web", tag, nil)
			if err != nil {
				t.Fatal(err)
			}
			entries, _, err := c.Health().Service("web", tag, false, nil)
			if err != nil || len(entries) != len(inst) {
				t.Fatalf("tag %q: %d health entries, %d catalog instances (%v)", tag, len(entries), len(inst), err)
			}
			for i := range inst {
				if inst[i].Node != entries[i].Node.Node || inst[i].ServiceID != entries[i].Service.ID {
					t.Fatalf("tag %q position %d: catalog %s/%s, health %s/%s", tag, i,
						inst[i].Node, inst[i].ServiceID, entries[i].Node.Node, entries[i].Service.ID)
				}
			}
		}
	})
	t.Run("passing and tag", func(t *testing.T) {
		wantHealthIDs(t, c, "web", "", true, "web-1", "web-2")
		wantHealthIDs(t, c, "web", "v1", false, "web-1", "web-3")
		wantHealthIDs(t, c, "web", "v1", true, "web-1")
		wantHealthIDs(t, c, "web", "v2", true, "web-2")
		wantHealthIDs(t, c, "web", "nope", false)
		wantHealthIDs(t, c, "nope", "", false)
	})
	t.Run("health checks", func(t *testing.T) {
		hc, _, err := c.Health().Checks("web", nil)
		if err != nil || len(hc) != 3 {
			t.Fatalf("health checks web = %+v, %v", hc, err)
		}
		for _, chk := range hc {
			if chk.ServiceName != "web" || chk.Node != "dev" {
				t.Fatalf("health checks web holds %+v", chk)
			}
		}
	})
	t.Run("health node", func(t *testing.T) {
		hc, _, err := c.Health().Node("dev", nil)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, chk := range hc {
			ids[chk.CheckID] = chk.Status
		}
		if len(hc) != 5 || ids["serfHealth"] != api.HealthPassing || ids["service:web-3"] != api.HealthCritical || ids["service:db"] != api.HealthPassing {
			t.Fatalf("health node dev = %v, want serfHealth and 4 service checks", ids)
		}
	})
	t.Run("health state", func(t *testing.T) {
		crit, _, err := c.Health().State(api.HealthCritical, nil)
		if err != nil || len(crit) != 1 || crit[0].CheckID != "service:web-3" || crit[0].Output != "broken" {
			t.Fatalf("health state critical = %+v, %v", crit, err)
		}
		passing, _, err := c.Health().State(api.HealthPassing, nil)
		if err != nil || len(passing) != 4 {
			t.Fatalf("health state passing = %+v, %v", passing, err)
		}
		anyState, _, err := c.Health().State(api.HealthAny, nil)
		if err != nil || len(anyState) != 5 {
			t.Fatalf("health state any = %+v, %v", anyState, err)
		}
	})
}

func TestMaintenance(t *testing.T) {
	t.Parallel()
	c := client(t, agenttest.Dev(t))
	register(t, c, ttlService("web-1", "web", 8081), ttlService("web-2", "web", 8082))
	ag := c.Agent()
	for _, id := range []string{"web-1", "web-2"} {
		if err := ag.PassTTL("service:"+id, ""); err != nil {
			t.Fatal(err)
		}
	}
	wantHealthIDs(t, c, "web", "", true, "web-1", "web-2")
	t.Run("service", func(t *testing.T) {
		if err := ag.EnableServiceMaintenance("web-1", "deploying"); err != nil {
			t.Fatal(err)
		}
		wantHealthIDs(t, c, "web", "", true, "web-2")
		wantHealthIDs(t, c, "web", "", false, "web-1", "web-2")
		chk := must[map[string]*api.AgentCheck](t)(ag.Checks())["_service_maintenance:web-1"]
		if chk == nil || chk.Status != api.HealthCritical || chk.Notes != "deploying" || chk.ServiceID != "web-1" {
			t.Fatalf("maintenance check = %+v", chk)
		}
		if err := ag.DisableServiceMaintenance("web-1"); err != nil {
			t.Fatal(err)
		}
		wantHealthIDs(t, c, "web", "", true, "web-1", "web-2")
		if chk := must[map[string]*api.AgentCheck](t)(ag.Checks())["_service_maintenance:web-1"]; chk != nil {
			t.Fatalf("maintenance check still there: %+v", chk)
		}
		wantStatusError(t, "maintenance of unknown service", ag.EnableServiceMaintenance("nope", ""), http.StatusNotFound, "nope")
	})
	t.Run("node", func(t *testing.T) {
		if err := ag.EnableNodeMaintenance("reboot"); err != nil {
			t.Fatal(err)
		}
		wantHealthIDs(t, c, "web", "", true)
		wantHealthIDs(t, c, "web", "", false, "web-1", "web-2")
		agenttest.Eventually(t, 5*time.Second, func() error {
			hc, _, err := c.Health().Node("dev", nil)
			if err != nil {
				return err
			}
			for _, chk := range hc {
				if chk.CheckID == "_node_maintenance" && chk.Status == api.HealthCritical && chk.Notes == "reboot" {
					return nil
				}
			}
			return fmt.Errorf("no critical _node_maintenance check in %+v", hc)
		})
		if err := ag.DisableNodeMaintenance(); err != nil {
			t.Fatal(err)
		}
		wantHealthIDs(t, c, "web", "", true, "web-1", "web-2")
	})
}

func TestBlockingHealthService(t *testing.T) {
	t.Parallel()
	c := client(t, agenttest.Dev(t))
	register(t, c, ttlService("web-1", "web", 8081), ttlService("db", "db", 5432))
	_, meta, err := c.Health().Service("web", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		entries []*api.ServiceEntry
		index   uint64
		err     error
	}
	done := make(chan result, 1)
	go func() {
		entries, m, err := c.Health().Service("web", "", false, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 15 * time.Second})
		r := result{entries: entries, err: err}
		if m != nil {
			r.index = m.LastIndex
		}
		done <- r
	}()
	t.Run("ignores another service", func(t *testing.T) {
		for _, update := range []func() error{
			func() error { return c.Agent().PassTTL("service:db", "") },
			func() error { return c.Agent().FailTTL("service:db", "") },
		} {
			if err := update(); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case r := <-done:
			t.Fatalf("blocking health/service/web returned (index %d → %d, %v) on a change to db", meta.LastIndex, r.index, r.err)
		case <-time.After(300 * time.Millisecond):
		}
	})
	t.Run("returns when its check changes", func(t *testing.T) {
		if err := c.Agent().PassTTL("service:web-1", "up"); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.err != nil || r.index <= meta.LastIndex || len(r.entries) != 1 || r.entries[0].Checks.AggregatedStatus() != api.HealthPassing {
				t.Fatalf("woke with index %d (was %d), %d entries, %v", r.index, meta.LastIndex, len(r.entries), r.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("blocking health/service/web did not return after web-1's check changed")
		}
	})
}

// TestClientAgent registers a service on a client agent of a 3-server
// cluster, then stops the server the client starts with: the client must
// move to another server and keep answering.
func TestClientAgent(t *testing.T) {
	t.Parallel()
	servers := agenttest.Cluster(t, 3)
	// The client starts with the first server it is given; give it a
	// follower first, so that stopping it keeps the leader.
	leader := servers[0].Server().Leader().Addr
	slices.SortStableFunc(servers, func(a, b *agent.Agent) int {
		return boolInt(a.Server().Self().Addr == leader) - boolInt(b.Server().Self().Addr == leader)
	})
	cl := agenttest.Client(t, "c1", servers...)
	cc, sc := client(t, cl), client(t, servers[2])
	register(t, cc, ttlService("web-c1", "web", 8080, "client"))
	if err := cc.Agent().PassTTL("service:web-c1", ""); err != nil {
		t.Fatal(err)
	}
	t.Run("seen through a server", func(t *testing.T) {
		inst, _, err := sc.Catalog().Service("web", "", nil)
		if err != nil || len(inst) != 1 || inst[0].Node != "c1" || inst[0].ServiceID != "web-c1" {
			t.Fatalf("server's catalog service web = %+v, %v", inst, err)
		}
		wantHealthIDs(t, sc, "web", "client", true, "web-c1")
		nodes, _, err := sc.Catalog().Nodes(nil)
		if err != nil || !slices.ContainsFunc(nodes, func(n *api.Node) bool { return n.Node == "c1" }) {
			t.Fatalf("server's catalog nodes = %+v, %v; want c1 among them", nodes, err)
		}
	})
	t.Run("same order across nodes", func(t *testing.T) {
		// Instances on three nodes, registered so that neither
		// registration order nor ID order is node order.
		type inst struct{ node, id string }
		var want []inst
		for i, a := range []*agent.Agent{servers[2], cl, servers[1]} {
			id := fmt.Sprintf("api-%d", 3-i)
			register(t, client(t, a), ttlService(id, "api", 9000+i))
			want = append(want, inst{a.Config().NodeName, id})
		}
		slices.SortFunc(want, func(x, y inst) int { return strings.Compare(x.node+"/"+x.id, y.node+"/"+y.id) })
		for _, c := range []*api.Client{sc, cc} {
			cat, _, err := c.Catalog().Service("api", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			entries, _, err := c.Health().Service("api", "", false, nil)
			if err != nil {
				t.Fatal(err)
			}
			var gotCat, gotHealth []inst
			for _, s := range cat {
				gotCat = append(gotCat, inst{s.Node, s.ServiceID})
			}
			for _, e := range entries {
				gotHealth = append(gotHealth, inst{e.Node.Node, e.Service.ID})
			}
			if !slices.Equal(gotCat, want) || !slices.Equal(gotHealth, want) {
				t.Fatalf("catalog order %v, health order %v; want both %v (node, then ID)", gotCat, gotHealth, want)
			}
		}
	})
	t.Run("survives its server stopping", func(t *testing.T) {
		if _, err := cc.KV().Put(&api.KVPair{Key: "before", Value: []byte("1")}, nil); err != nil {
			t.Fatal(err)
		}
		agenttest.Stop(servers[0])
		inst, _, err := cc.Catalog().Service("web", "", nil)
		if err != nil || len(inst) != 1 || inst[0].ServiceID != "web-c1" {
			t.Fatalf("client's catalog service web after its server stopped = %+v, %v", inst, err)
		}
		for i := range 3 {
			if _, err := cc.KV().Put(&api.KVPair{Key: fmt.Sprintf("after/%d", i), Value: []byte("2")}, nil); err != nil {
				t.Fatalf("put %d through the client after its server stopped: %v", i, err)
			}
		}
		keys, _, err := sc.KV().Keys("after/", "", nil)
		if err != nil || len(keys) != 3 {
			t.Fatalf("keys written through the client, read from s3 = %v, %v", keys, err)
		}
		register(t, cc, ttlService("web-c1b", "web", 8081))
		inst, _, err = sc.Catalog().Service("web", "", nil)
		if err != nil || len(inst) != 2 {
			t.Fatalf("registration after failover, server's catalog = %+v, %v", inst, err)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
