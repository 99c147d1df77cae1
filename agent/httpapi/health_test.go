package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/hashicorp/consul/api"
)

// healthEntryIDs lists "node/serviceID" of health entries, in order.
func healthEntryIDs(es []*api.ServiceEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Node.Node + "/" + e.Service.ID
	}
	return out
}

// healthCheckIDs lists "node/checkID" of checks, in order.
func healthCheckIDs(cs api.HealthChecks) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Node + "/" + c.CheckID
	}
	return out
}

func TestHealthService(t *testing.T) {
	ta := newTestAPI(t)
	c := catalogTestClient(t, ta)
	seedHealthCatalog(t, c)
	cases := []struct {
		name    string
		tags    []string
		passing bool
		want    []string
	}{
		{"every instance", nil, false, []string{"n1/web-1", "n2/web-2", "n3/web-3"}},
		{"passing drops warning and node-critical instances", nil, true, []string{"n1/web-1"}},
		{"tag", []string{"v1"}, false, []string{"n1/web-1", "n2/web-2"}},
		{"tag case-insensitive", []string{"PRIMARY"}, false, []string{"n1/web-1"}},
		{"several tags", []string{"v1", "primary"}, false, []string{"n1/web-1"}},
		{"tag and passing", []string{"v2"}, true, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es, meta, err := c.Health().ServiceMultipleTags("web", tc.tags, tc.passing, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := healthEntryIDs(es); !slices.Equal(got, tc.want) {
				t.Fatalf("entries = %v, want %v", got, tc.want)
			}
			if meta.LastIndex == 0 || !meta.KnownLeader {
				t.Errorf("meta = %+v", meta)
			}
		})
	}

	t.Run("entry shape", func(t *testing.T) {
		es, _, err := c.Health().Service("web", "primary", true, nil)
		if err != nil || len(es) != 1 {
			t.Fatalf("Service = %v, %v", es, err)
		}
		e := es[0]
		if e.Node.Node != "n1" || e.Node.Address != "10.0.0.1" || e.Node.Datacenter != "dc1" || e.Node.Meta["rack"] != "r1" ||
			e.Node.ID != "11111111-2222-3333-4444-555555555555" || e.Node.TaggedAddresses["lan"] != "10.0.0.1" {
			t.Errorf("Node = %+v", e.Node)
		}
		s := e.Service
		if s.ID != "web-1" || s.Service != "web" || !slices.Equal(s.Tags, []string{"v1", "primary"}) || s.Port != 8080 ||
			s.Address != "10.0.1.1" || s.Meta["version"] != "1" || s.Weights != (api.AgentWeights{Passing: 3, Warning: 1}) ||
			s.Datacenter != "dc1" || s.CreateIndex == 0 || s.ModifyIndex == 0 {
			t.Errorf("Service = %+v", s)
		}
		if got := healthCheckIDs(e.Checks); !slices.Equal(got, []string{"n1/serfHealth", "n1/service:web-1"}) {
			t.Fatalf("checks = %v", got)
		}
		node, svc := e.Checks[0], e.Checks[1]
		if node.Name != "Node Liveness" || node.ServiceID != "" || node.ServiceTags == nil || len(node.ServiceTags) != 0 {
			t.Errorf("node check = %+v", node)
		}
		if svc.ServiceName != "web" || svc.ServiceID != "web-1" || !slices.Equal(svc.ServiceTags, []string{"v1", "primary"}) ||
			svc.Type != "http" || svc.Status != api.HealthPassing || svc.CreateIndex == 0 {
			t.Errorf("service check = %+v", svc)
		}
		d := svc.Definition
		if d.HTTP != "http://10.0.1.1:8080/health" || d.Method != "GET" || d.Header["X-A"][0] != "b" ||
			d.IntervalDuration != 10*time.Second || d.TimeoutDuration != 2*time.Second ||
			d.DeregisterCriticalServiceAfterDuration != time.Minute || d.Interval != api.ReadableDuration(10*time.Second) {
			t.Errorf("definition = %+v", d)
		}
		if e.Checks.AggregatedStatus() != api.HealthPassing {
			t.Errorf("aggregated status = %s", e.Checks.AggregatedStatus())
		}
	})
	t.Run("near is accepted and ignored", func(t *testing.T) {
		es, _, err := c.Health().Service("web", "", false, &api.QueryOptions{Near: "_agent"})
		if err != nil || !slices.Equal(healthEntryIDs(es), cases[0].want) {
			t.Fatalf("Service(near) = %v, %v", healthEntryIDs(es), err)
		}
	})
	t.Run("passing=false is every instance", func(t *testing.T) {
		_, _, body := ta.do("GET", "/v1/health/service/web?passing=false", "")
		var es []*api.ServiceEntry
		if err := json.Unmarshal([]byte(body), &es); err != nil || len(es) != 3 {
			t.Fatalf("passing=false: %d entries, %v", len(es), err)
		}
	})
}

// TestHealthAndCatalogSameOrder: Traefik pairs catalog/service and
// health/service entries by position.
func TestHealthAndCatalogSameOrder(t *testing.T) {
	ta := newTestAPI(t)
	c := catalogTestClient(t, ta)
	seedHealthCatalog(t, c)
	// Several instances on one node, registered out of ID order, on a node
	// whose name sorts first.
	for _, id := range []string{"z", "b", "m"} {
		reg := &api.CatalogRegistration{Node: "a-node", Address: "10.0.0.9", Service: &api.AgentService{ID: id, Service: "web", Tags: []string{"v1"}}}
		if _, err := c.Catalog().Register(reg, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a-node/b", "a-node/m", "a-node/z", "n1/web-1", "n2/web-2", "n3/web-3"}
	for _, tag := range []string{"", "v1"} {
		svcs, _, err := c.Catalog().Service("web", tag, nil)
		if err != nil {
			t.Fatal(err)
		}
		es, _, err := c.Health().Service("web", tag, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		cat, health := catalogIDs(svcs), healthEntryIDs(es)
		if !slices.Equal(cat, health) {
			t.Errorf("tag %q: catalog order %v != health order %v", tag, cat, health)
		}
		if tag == "" && !slices.Equal(cat, want) {
			t.Errorf("order = %v, want %v", cat, want)
		}
	}
}

func TestHealthChecksNodeState(t *testing.T) {
	ta := newTestAPI(t)
	c := catalogTestClient(t, ta)
	seedHealthCatalog(t, c)
	h := c.Health()
	cases := []struct {
		name string
		get  func() (api.HealthChecks, *api.QueryMeta, error)
		want []string
	}{
		{"checks of a service", func() (api.HealthChecks, *api.QueryMeta, error) { return h.Checks("web", nil) },
			[]string{"n1/service:web-1", "n2/service:web-2", "n3/service:web-3"}},
		{"checks of a service without checks", func() (api.HealthChecks, *api.QueryMeta, error) { return h.Checks("db", nil) }, []string{}},
		{"checks of a node", func() (api.HealthChecks, *api.QueryMeta, error) { return h.Node("n1", nil) },
			[]string{"n1/serfHealth", "n1/service:web-1"}},
		{"checks of an unknown node", func() (api.HealthChecks, *api.QueryMeta, error) { return h.Node("nope", nil) }, []string{}},
		{"state any", func() (api.HealthChecks, *api.QueryMeta, error) { return h.State(api.HealthAny, nil) },
			[]string{"n1/serfHealth", "n1/service:web-1", "n2/serfHealth", "n2/service:web-2", "n3/serfHealth", "n3/service:web-3"}},
		{"state passing", func() (api.HealthChecks, *api.QueryMeta, error) { return h.State(api.HealthPassing, nil) },
			[]string{"n1/serfHealth", "n1/service:web-1", "n2/serfHealth", "n3/service:web-3"}},
		{"state warning", func() (api.HealthChecks, *api.QueryMeta, error) { return h.State(api.HealthWarning, nil) },
			[]string{"n2/service:web-2"}},
		{"state critical", func() (api.HealthChecks, *api.QueryMeta, error) { return h.State(api.HealthCritical, nil) },
			[]string{"n3/serfHealth"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checks, meta, err := tc.get()
			if err != nil {
				t.Fatal(err)
			}
			if got := healthCheckIDs(checks); !slices.Equal(got, tc.want) {
				t.Fatalf("checks = %v, want %v", got, tc.want)
			}
			if meta.LastIndex == 0 {
				t.Error("X-Consul-Index missing")
			}
		})
	}
}

func TestHealthPretty(t *testing.T) {
	ta := newTestAPI(t)
	seedHealthCatalog(t, catalogTestClient(t, ta))
	paths := []string{"/v1/health/service/web?pretty", "/v1/health/service/web", "/v1/health/service/web?pretty", "/v1/catalog/service/web?pretty"}
	for i, p := range paths {
		_, hdr, body := ta.do("GET", p, "")
		pretty := strings.Contains(p, "pretty")
		if got := strings.Contains(body, "\n    "); got != pretty {
			t.Errorf("request %d, %s: indented = %v, want %v:\n%s", i, p, got, pretty, body)
		}
		var v []map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil || len(v) != 3 || hdr.Get("X-Consul-Index") == "" {
			t.Errorf("%s: %d entries, %v", p, len(v), err)
		}
	}
}

// viewCountingStore counts read transactions, to tell when a blocking
// query re-reads.
type viewCountingStore struct {
	*memStore
	views atomic.Int64
}

func (s *viewCountingStore) View(fn func(*catalog.ReadTx) error) error {
	defer s.views.Add(1)
	return s.memStore.View(fn)
}

// healthWaitFor polls cond until it holds or the deadline passes.
func healthWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestHealthServiceBlocking: a blocking query on web is woken by a change
// to web and by nothing else (not by db, other nodes or other checks).
func TestHealthServiceBlocking(t *testing.T) {
	store := &viewCountingStore{memStore: newMemStore(t)}
	cfg := DefaultConfig()
	srv := httptest.NewServer(New(cfg, Deps{Store: store, Cluster: fakeCluster{store.memStore}}))
	t.Cleanup(srv.Close)
	ta := &testAPI{t: t, store: store.memStore, srv: srv}
	seedHealthCatalog(t, catalogTestClient(t, ta))
	c := catalogTestClient(t, ta)

	for _, passing := range []bool{false, true} {
		t.Run(fmt.Sprintf("passing=%v", passing), func(t *testing.T) {
			_, meta, err := c.Health().Service("web", "", passing, nil)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				ids []string
				idx uint64
				err error
			}
			done := make(chan result, 1)
			before := store.views.Load()
			go func() {
				es, m, err := c.Health().Service("web", "", passing, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
				r := result{err: err}
				if err == nil {
					r.ids, r.idx = healthEntryIDs(es), m.LastIndex
				}
				done <- r
			}()
			healthWaitFor(t, "the blocking query's first read", func() bool { return store.views.Load() == before+1 })

			apply := func(cmd catalog.Command) catalog.Result {
				t.Helper()
				res, err := store.Apply(t.Context(), cmd)
				if err != nil {
					t.Fatalf("apply %T: %v", cmd, err)
				}
				return res
			}
			// Changes that cannot alter web's answer.
			db := apply(&catalog.RegisterRequest{Node: catalog.Node{Node: "n1"}, SkipNodeUpdate: true,
				Service: &catalog.Service{ID: "db-1", Service: "db", Port: int(5000 + meta.LastIndex)}})
			apply(&catalog.RegisterRequest{Node: catalog.Node{Node: "other", Address: "10.9.9.9"},
				Checks: []*catalog.Check{{CheckID: "serfHealth", Status: catalog.HealthCritical}}})
			if db.Index <= meta.LastIndex {
				t.Fatalf("db change at %d, not after %d", db.Index, meta.LastIndex)
			}
			// Give a wrong wake-up time to show: it would re-read the catalog.
			deadline := time.After(100 * time.Millisecond)
		quiet:
			for {
				select {
				case r := <-done:
					t.Fatalf("blocking query on web returned after a db change: %+v", r)
				case <-deadline:
					break quiet
				default:
					if n := store.views.Load(); n != before+1 {
						t.Fatalf("blocking query on web re-read the catalog %d times after changes to others", n-before-1)
					}
					time.Sleep(time.Millisecond)
				}
			}

			// A change to web wakes it, with web's new index.
			res := apply(&catalog.CheckStatusRequest{Updates: []catalog.CheckUpdate{{Node: "n2", CheckID: "service:web-2", Status: web2Status(passing)}}})
			select {
			case r := <-done:
				if r.err != nil || r.idx != res.Index {
					t.Fatalf("woken with index %d, %v; want %d", r.idx, r.err, res.Index)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("blocking query on web not woken by a change to web")
			}
		})
	}
}

// web2Status returns a status for web-2's check that differs between the two
// subtests, so each applies a real change.
func web2Status(passing bool) string {
	if passing {
		return catalog.HealthWarning
	}
	return catalog.HealthPassing
}

// TestHealthServiceCacheFollowsChanges: every change to a check, node-level
// or not, shows in the next answer and its index, with and without
// ?passing, although the answers before it were cached.
func TestHealthServiceCacheFollowsChanges(t *testing.T) {
	ta := newTestAPI(t)
	c := catalogTestClient(t, ta)
	seedHealthCatalog(t, c)
	get := func(t *testing.T, passing bool) ([]string, uint64) {
		t.Helper()
		es, meta, err := c.Health().Service("web", "", passing, nil)
		if err != nil {
			t.Fatal(err)
		}
		return healthEntryIDs(es), meta.LastIndex
	}
	steps := []struct {
		name                string
		node, check, status string
		wantPassing         []string
	}{
		{"service check goes critical", "n1", "service:web-1", catalog.HealthCritical, []string{}},
		{"and back", "n1", "service:web-1", catalog.HealthPassing, []string{"n1/web-1"}},
		{"warning service check passes", "n2", "service:web-2", catalog.HealthPassing, []string{"n1/web-1", "n2/web-2"}},
		{"critical node check passes", "n3", "serfHealth", catalog.HealthPassing, []string{"n1/web-1", "n2/web-2", "n3/web-3"}},
		{"node check warns", "n1", "serfHealth", catalog.HealthWarning, []string{"n2/web-2", "n3/web-3"}},
	}
	get(t, true) // warm the cache
	get(t, false)
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			get(t, true) // cached at the old index
			res, err := ta.store.Apply(t.Context(), &catalog.CheckStatusRequest{Updates: []catalog.CheckUpdate{{Node: s.node, CheckID: s.check, Status: s.status}}})
			if err != nil {
				t.Fatal(err)
			}
			ids, idx := get(t, true)
			if !slices.Equal(ids, s.wantPassing) || idx != res.Index {
				t.Fatalf("passing = %v at %d, want %v at %d", ids, idx, s.wantPassing, res.Index)
			}
			es, _, err := c.Health().Service("web", "", false, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				for _, chk := range e.Checks {
					if chk.Node == s.node && chk.CheckID == s.check && chk.Status != s.status {
						t.Errorf("%s/%s status = %s, want %s", chk.Node, chk.CheckID, chk.Status, s.status)
					}
				}
			}
		})
	}
}

// TestHealthServiceCacheConcurrent reads web while its check flips, and
// checks every answer against the index it reports: the check's status in
// the body must be the one the last write at or before that index set.
func TestHealthServiceCacheConcurrent(t *testing.T) {
	ta := newTestAPI(t)
	seedHealthCatalog(t, catalogTestClient(t, ta))
	_, hdr, _ := ta.do("GET", "/v1/health/service/web", "")
	seedIdx, _ := strconv.ParseUint(hdr.Get("X-Consul-Index"), 10, 64)

	var mu sync.Mutex
	statusAt := map[uint64]string{seedIdx: catalog.HealthPassing} // write index → web-1's check status
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		defer close(stop)
		for i := range 60 {
			st := []string{catalog.HealthCritical, catalog.HealthPassing, catalog.HealthWarning}[i%3]
			res, err := ta.store.Apply(t.Context(), &catalog.CheckStatusRequest{Updates: []catalog.CheckUpdate{{Node: "n1", CheckID: "service:web-1", Status: st}}})
			if err != nil {
				t.Errorf("apply: %v", err)
				return
			}
			mu.Lock()
			statusAt[res.Index] = st
			mu.Unlock()
		}
	}()

	var obsMu sync.Mutex
	var observed []webObservation
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			passing := r%2 == 1
			path := "/v1/health/service/web"
			if passing {
				path += "?passing"
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				o, err := observeWeb1(ta.srv.URL+path, passing)
				if err != nil {
					t.Errorf("GET %s: %v", path, err)
					return
				}
				obsMu.Lock()
				observed = append(observed, o)
				obsMu.Unlock()
			}
		}()
	}
	writer.Wait()
	readers.Wait()

	writes := make([]uint64, 0, len(statusAt))
	for idx := range statusAt {
		writes = append(writes, idx)
	}
	slices.Sort(writes)
	for _, o := range observed {
		i, found := slices.BinarySearch(writes, o.index)
		if !found {
			t.Errorf("answer reports index %d, which no write to web produced", o.index)
			continue
		}
		want := statusAt[writes[i]]
		if o.passing && want != catalog.HealthPassing {
			want = ""
		}
		if o.status != want {
			t.Errorf("answer at index %d (passing=%v) shows %q, want %q", o.index, o.passing, o.status, want)
		}
	}
	if len(observed) == 0 {
		t.Fatal("no reads")
	}
}

// webObservation is one answer of health/service/web as
// TestHealthServiceCacheConcurrent checks it.
type webObservation struct {
	passing bool
	index   uint64
	status  string // web-1's check status in the body; "" when web-1 is absent
}

// observeWeb1 reads health/service/web and returns its index and web-1's
// service check status.
func observeWeb1(url string, passing bool) (webObservation, error) {
	o := webObservation{passing: passing}
	resp, err := http.Get(url)
	if err != nil {
		return o, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return o, err
	}
	if o.index, err = strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64); err != nil {
		return o, err
	}
	var es []*api.ServiceEntry
	if err := json.Unmarshal(body, &es); err != nil {
		return o, fmt.Errorf("%w: %s", err, body)
	}
	for _, e := range es {
		for _, c := range e.Checks {
			if c.CheckID == "service:web-1" {
				o.status = c.Status
			}
		}
	}
	return o, nil
}
