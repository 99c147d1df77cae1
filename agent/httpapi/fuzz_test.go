package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/agent/local"
	"github.com/beacon-sd/beacon/catalog"
)

// Native fuzz tests of every /v1 request-body parser: catalog register and
// deregister, agent service and check register, check update, txn, session
// create, and a KV put's query. Each target drives the real handler in
// process (API.ServeHTTP into a recorder, no socket) and checks what every
// answer must satisfy:
//
//   - no panic: the API turns one into a 500 "internal error: …";
//   - the status is 200, 400, 404, 405, 409 or 413, or a 500 whose body is
//     one the target names (Consul answers "No path to datacenter" with a
//     500 too);
//   - a 400 names the problem (a non-empty body);
//   - anything but a 200 leaves the catalog and the local state unchanged;
//   - after a 200 the write reads back: it is where the target expects it,
//     and the list endpoints answer 200 with JSON that consul/api's types
//     decode.
//
// A target builds its API once per fuzzing process and puts it back to a
// baseline after every input that changed it, so inputs meet the same
// entities (the indexes move on). `make fuzz` runs every target.

// The baseline's node and session.
const (
	fuzzNode      = "node1"
	fuzzNodeID    = "6f3f4c52-0000-4000-8000-000000000001"
	fuzzSessionID = "0b5e1d6a-0000-4000-8000-000000000001"
)

// fuzzReopenEvery is how many resets a store serves before a fresh one
// replaces it. Badger keeps every version of a key in its memtable and the
// catalog's prefix scans walk them, so each reset slows the inputs after
// it; a fresh store now and then keeps an input near its cost on a new one
// (under 1 ms for a write with its reads and reset, 20 µs for a rejected
// body).
const fuzzReopenEvery = 128

// fuzzAPI is the API one fuzz target drives, over a memStore; with agent
// set, with the agent handler over a started local state.
type fuzzAPI struct {
	agent bool
	store *memStore
	api   *API
	local *local.State
	// At the baseline: the catalog's table indexes and the local state's
	// change channel (an input that leaves both changed nothing), and
	// baselineMarks and localBaseline, which tell what to write again.
	base      [5]uint64
	changed   <-chan struct{}
	marks     [2]string
	localBase []any
	resets    int
}

func newFuzzAPI(f *testing.F, agent bool) *fuzzAPI {
	fa := &fuzzAPI{agent: agent}
	fa.open(f)
	f.Cleanup(fa.close)
	return fa
}

// open builds the store, the API and the baseline.
func (fa *fuzzAPI) open(t testing.TB) {
	t.Helper()
	opts := catalog.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.Badger.MemTableSize = 1 << 20              // opened often: a small arena
	opts.Events.MaxAge = 100 * 365 * 24 * time.Hour // memStore's clock runs a second per apply
	s, err := catalog.Open(opts)
	if err != nil {
		t.Fatalf("catalog.Open: %v", err)
	}
	fa.store = &memStore{s: s, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg := DefaultConfig()
	cfg.NodeName = fuzzNode
	deps := Deps{Store: fa.store, Cluster: fakeCluster{fa.store}}
	if fa.agent {
		lcfg := local.DefaultConfig()
		lcfg.Node = catalog.Node{ID: fuzzNodeID, Node: fuzzNode, Address: "10.0.0.1", Datacenter: "dc1"}
		// An HTTP or TCP check an input registers probes the network, first
		// at a random point of its interval: with a day's minimum, hardly
		// ever before the reset removes the check.
		lcfg.MinCheckInterval = 24 * time.Hour
		if fa.local, err = local.New(lcfg, agentCatalog{fa.store}, nil); err != nil {
			t.Fatalf("local.New: %v", err)
		}
		fa.local.Start()
		acfg := DefaultAgentConfig()
		acfg.NodeName, acfg.NodeID, acfg.Server = fuzzNode, fuzzNodeID, true
		deps.Agent = NewAgentHandler(acfg, fa.local, nil, nil)
	}
	fa.api = New(cfg, deps)
	fa.resets = 0
	fa.seed(t)
}

func (fa *fuzzAPI) close() {
	if fa.local != nil {
		fa.local.Close()
	}
	fa.store.s.Close()
}

// seed writes the baseline. The catalog's: node1 with its liveness check
// and a service web with a check, a session on node1 (no lock delay, so a
// key it held is free at once) and the key "existing". The agent's: the
// service web, the TTL check hb and the TCP check port, synced.
func (fa *fuzzAPI) seed(t testing.TB) {
	t.Helper()
	if st := fa.local; fa.agent {
		err := errors.Join(
			st.AddService(catalog.Service{ID: "web", Service: "web", Tags: []string{"v1"}, Port: 80}, nil, false),
			st.AddCheck(catalog.Check{CheckID: "hb", Name: "heartbeat", Definition: catalog.CheckDefinition{TTL: time.Hour}}),
			st.AddCheck(catalog.Check{CheckID: "port", Name: "port", ServiceID: "web", Definition: catalog.CheckDefinition{TCP: "127.0.0.1:1", Interval: 10 * time.Second}}),
			st.SyncChanges(context.Background()))
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
		fa.changed, fa.localBase = st.Changed(), fa.localBaseline()
	} else {
		node, key := fuzzBaseline()
		fa.apply(t, append(node, key...)...)
	}
	fa.base, fa.marks = fa.tableIndexes(), fa.baselineMarks()
}

// fuzzBaseline is the catalog baseline's commands: node1's and the key's.
func fuzzBaseline() (node, key []catalog.Command) {
	return []catalog.Command{
		&catalog.RegisterRequest{
			Node:    catalog.Node{ID: fuzzNodeID, Node: fuzzNode, Address: "10.0.0.1", Datacenter: "dc1", Meta: map[string]string{"rack": "r1"}},
			Service: &catalog.Service{ID: "web", Service: "web", Tags: []string{"v1"}, Port: 80, Weights: catalog.Weights{Passing: 1, Warning: 1}},
			Checks: []*catalog.Check{
				{CheckID: "serfHealth", Name: "Serf Health Status", Status: catalog.HealthPassing},
				{CheckID: "web-check", Name: "web", Status: catalog.HealthPassing, ServiceID: "web", Type: "http",
					Definition: catalog.CheckDefinition{HTTP: "http://10.0.0.1/health", Interval: 10 * time.Second}},
			},
		},
		&catalog.SessionRequest{Op: catalog.SessionCreate, Session: catalog.Session{
			ID: fuzzSessionID, Node: fuzzNode, Behavior: catalog.SessionRelease, NodeChecks: []string{"serfHealth"},
		}},
	}, []catalog.Command{&catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: "existing", Value: []byte("old")}}}
}

// apply commits cmds as consecutive log entries in one batch (one Badger
// transaction, where memStore.Apply costs one each).
func (fa *fuzzAPI) apply(t testing.TB, cmds ...catalog.Command) {
	t.Helper()
	m := fa.store
	m.mu.Lock()
	defer m.mu.Unlock()
	entries := make([]catalog.Entry, len(cmds))
	for i, cmd := range cmds {
		data, err := catalog.Encode(cmd)
		if err != nil {
			t.Fatalf("encode %T: %v", cmd, err)
		}
		m.idx++
		m.now = m.now.Add(time.Second)
		entries[i] = catalog.Entry{Index: m.idx, Time: m.now, Data: data}
	}
	res, err := m.s.ApplyBatch(entries)
	for i := 0; err == nil && i < len(res); i++ {
		err = res[i].Err
	}
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// tableIndexes is the catalog's version: the index of each table.
func (fa *fuzzAPI) tableIndexes() [5]uint64 {
	var out [5]uint64
	fa.store.View(func(tx *catalog.ReadTx) error {
		for i, table := range []string{catalog.TableNodes, catalog.TableServices, catalog.TableChecks, catalog.TableKV, catalog.TableSessions} {
			out[i] = tx.TableIndex(table)
		}
		return nil
	})
	return out
}

// reset puts the API back to the baseline if the input changed anything:
// what it added goes, and the part of the baseline it touched (node1 with
// its entities, the key, or the local state's entries) is written again.
// Every fuzzReopenEvery resets, a fresh store replaces the old one instead.
func (fa *fuzzAPI) reset(t testing.TB) {
	t.Helper()
	select {
	case <-fa.changed:
	default:
		if fa.tableIndexes() == fa.base {
			return
		}
	}
	if fa.resets++; fa.resets >= fuzzReopenEvery {
		fa.close()
		fa.open(t)
		return
	}
	if fa.agent {
		fa.resetLocal(t)
		return
	}
	// Most inputs add a node or a key and leave the baseline's alone: then
	// only what they added goes. Rewriting node1 costs more.
	marks := fa.baselineMarks()
	keepNode, keepKey := marks[0] == fa.marks[0], marks[1] == fa.marks[1]
	var nodes []*catalog.Node
	var keys []string
	fa.store.View(func(tx *catalog.ReadTx) error {
		nodes, _ = tx.Nodes()
		keys, _ = tx.KVKeys("", "")
		return nil
	})
	var cmds []catalog.Command
	for _, n := range nodes {
		if !keepNode || n.Node != fuzzNode {
			cmds = append(cmds, &catalog.DeregisterRequest{Node: n.Node})
		}
	}
	for _, k := range keys {
		if !keepKey || k != "existing" {
			cmds = append(cmds, &catalog.KVRequest{Op: catalog.KVDelete, Entry: catalog.KVEntry{Key: k}})
		}
	}
	node, key := fuzzBaseline()
	if !keepNode {
		cmds = append(cmds, node...)
	}
	if !keepKey {
		cmds = append(cmds, key...)
	}
	fa.apply(t, cmds...)
	fa.base, fa.marks = fa.tableIndexes(), fa.baselineMarks()
}

// baselineMarks name node1's entities and the key "existing" with their
// ModifyIndex: each stays the same as long as no input touched them.
func (fa *fuzzAPI) baselineMarks() (marks [2]string) {
	var b strings.Builder
	fa.store.View(func(tx *catalog.ReadTx) error {
		if e, _ := tx.KV("existing"); e != nil {
			marks[1] = fmt.Sprintf("%d %s", e.ModifyIndex, e.Session)
		}
		n, svcs, _ := tx.NodeServices(fuzzNode)
		checks, _ := tx.NodeChecks(fuzzNode)
		sessions, _ := tx.NodeSessions(fuzzNode)
		if n == nil {
			return nil
		}
		fmt.Fprintf(&b, "%d", n.ModifyIndex)
		for _, s := range svcs {
			fmt.Fprintf(&b, " s:%s@%d", s.ID, s.ModifyIndex)
		}
		for _, c := range checks {
			fmt.Fprintf(&b, " c:%s@%d", c.CheckID, c.ModifyIndex)
		}
		for _, s := range sessions {
			fmt.Fprintf(&b, " S:%s@%d", s.ID, s.ModifyIndex)
		}
		marks[0] = b.String()
		return nil
	})
	return marks
}

// resetLocal removes the services and checks an input added, and when it
// changed the baseline's, those too, then waits for the catalog to follow
// before the baseline is added again. (local.State loses a check re-added
// while a round still deregisters it: the new entry inherits the old one's
// catalog copy, the next round sends only a status update, which the
// catalog skips for a check it no longer has, and the check is missing
// until the next full sync.)
func (fa *fuzzAPI) resetLocal(t testing.TB) {
	t.Helper()
	st := fa.local
	keep := reflect.DeepEqual(fa.localBaseline(), fa.localBase)
	for _, c := range st.Checks() {
		if keep && (c.CheckID == "hb" || c.CheckID == "port") {
			continue
		}
		if err := st.RemoveCheck(c.CheckID); err != nil {
			t.Fatalf("reset: remove check %q: %v", c.CheckID, err)
		}
	}
	for _, s := range st.Services() {
		if keep && s.ID == "web" {
			continue
		}
		if err := st.RemoveService(s.ID); err != nil {
			t.Fatalf("reset: remove service %q: %v", s.ID, err)
		}
	}
	if err := st.SyncChanges(context.Background()); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if !keep {
		fa.seed(t)
	}
	fa.changed, fa.base = st.Changed(), fa.tableIndexes()
}

// localBaseline is the local state's baseline entries as they are now.
func (fa *fuzzAPI) localBaseline() []any {
	return []any{fa.local.Service("web"), fa.local.Check("hb"), fa.local.Check("port")}
}

// serve sends one request through API.ServeHTTP. path and query are set
// as given, not parsed from a URL, so any key reaches the handler.
func (fa *fuzzAPI) serve(method, path, query string, body []byte) (int, string) {
	r := httptest.NewRequest(method, "/", bytes.NewReader(body))
	r.URL.Path, r.URL.RawQuery = path, query
	w := httptest.NewRecorder()
	fa.api.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// checkAnswer checks what every answer satisfies; ok500 are the 500
// bodies the target can justify. Only a 200 may change anything.
func (fa *fuzzAPI) checkAnswer(t *testing.T, code int, body string, ok500 ...string) {
	t.Helper()
	msg := strings.TrimSpace(body)
	switch code {
	case http.StatusOK:
		return
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusConflict, http.StatusRequestEntityTooLarge:
	case http.StatusBadRequest:
		if msg == "" {
			t.Fatal("400 with an empty body: it must name the problem")
		}
	case http.StatusInternalServerError:
		if strings.HasPrefix(msg, "internal error:") {
			t.Fatalf("the handler panicked: %s", msg)
		}
		if !slices.Contains(ok500, msg) {
			t.Fatalf("unexpected 500 %q", msg)
		}
	default:
		t.Fatalf("status %d %.300q: not one a write answers", code, body)
	}
	select {
	case <-fa.changed:
		t.Fatalf("%d %.300q, yet the local state changed", code, body)
	default:
	}
	if fa.tableIndexes() != fa.base {
		t.Fatalf("%d %.300q, yet the catalog changed", code, body)
	}
}

// read GETs path?query and decodes a 200 into v, failing on anything but
// 200 and (when allow404) 404.
func (fa *fuzzAPI) read(t *testing.T, path, query string, allow404 bool, v any) {
	t.Helper()
	code, body := fa.serve(http.MethodGet, path, query, nil)
	switch {
	case code == http.StatusOK:
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("GET %s?%s after the write: %v in %.300q", path, query, err, body)
		}
	case code == http.StatusNotFound && allow404:
	default:
		t.Fatalf("GET %s?%s after the write = %d %.300q", path, query, code, body)
	}
}

// fuzzLists are the list endpoints a write can leave unreadable, with the
// consul/api type each decodes into.
var fuzzLists = map[string]func() any{
	"/v1/catalog/nodes":    func() any { return new([]*consul.Node) },
	"/v1/health/state/any": func() any { return new([]*consul.HealthCheck) },
	"/v1/session/list":     func() any { return new([]*consul.SessionEntry) },
	"/v1/agent/services":   func() any { return new(map[string]*consul.AgentService) },
	"/v1/agent/checks":     func() any { return new(map[string]*consul.AgentCheck) },
}

// readsBack reads each of the paths, of fuzzLists, after a 200. A target
// names the lists its write shows in, so an exec stays cheap.
func (fa *fuzzAPI) readsBack(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		fa.read(t, p, "", false, fuzzLists[p]())
	}
}

// fuzzPlainName matches the names a read can put in a path as is (others
// are cleaned or split by the mux, which is not what is under test).
var fuzzPlainName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// readService reads a service's instances, when its name fits in a path.
func (fa *fuzzAPI) readService(t *testing.T, name string) {
	t.Helper()
	if fuzzPlainName.MatchString(name) {
		var instances []*consul.CatalogService
		fa.read(t, "/v1/catalog/service/"+name, "", false, &instances)
	}
}

// fuzzSeed is a body for f.Add, and why it is there.
type fuzzSeed struct{ why, body string }

func fuzzAddBodies(f *testing.F, seeds []fuzzSeed) {
	for _, s := range seeds {
		f.Add(s.body)
	}
}

// fuzzDecode decodes the body of a write answered 200 into v, the
// handler's own type, for the reads that follow.
func fuzzDecode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("a 200 for a body that does not decode: %v", err)
	}
}

// inCatalog reports whether node holds the service (checkID "") or the
// check (serviceID ""), or with neither, exists.
func (fa *fuzzAPI) inCatalog(node, serviceID, checkID string) bool {
	n, svcs, checks, _ := agentCatalog{fa.store}.NodeState(context.Background(), node)
	switch {
	case serviceID != "":
		return slices.ContainsFunc(svcs, func(s *catalog.Service) bool { return s.ID == serviceID })
	case checkID != "":
		return slices.ContainsFunc(checks, func(c *catalog.Check) bool { return c.CheckID == checkID })
	}
	return n != nil
}

func FuzzCatalogRegisterBody(f *testing.F) {
	fuzzAddBodies(f, []fuzzSeed{
		{"consul/api's raw register, from TestCatalogRegisterDeregister", `{"Node":"n4","Address":"10.0.0.4","Service":{"Service":"web","Port":80},"Check":{"Name":"alive","Status":"passing","ServiceID":"web"}}`},
		{"every field api.CatalogRegistration writes", `{"ID":"7d2e9c1a-0000-4000-8000-000000000005","Node":"n5","Address":"10.0.0.5","Datacenter":"dc1",
			"TaggedAddresses":{"lan":"10.0.0.5","wan":"198.51.100.5"},"NodeMeta":{"rack":"r2"},
			"Service":{"ID":"db-1","Service":"db","Tags":["primary"],"Address":"10.0.0.5","Port":5432,"Meta":{"version":"15"},"Weights":{"Passing":3,"Warning":1},"EnableTagOverride":true},
			"Checks":[{"CheckID":"db-port","Name":"db port","Status":"warning","ServiceID":"db-1","Definition":{"TCP":"10.0.0.5:5432","Interval":"10s","Timeout":"1s"}}],
			"SkipNodeUpdate":false}`},
		{"durations as nanoseconds", `{"Node":"n6","Address":"10.0.0.6","Check":{"CheckID":"c","Status":"passing","Definition":{"HTTP":"http://10.0.0.6/","Interval":10000000000,"DeregisterCriticalServiceAfter":"1m"}}}`},
		{"a service on the baseline node, node left as is", `{"Node":"node1","SkipNodeUpdate":true,"Service":{"Service":"api","Port":8080}}`},
		{"a check on the baseline's service", `{"Node":"node1","Address":"10.0.0.1","Check":{"CheckID":"web-extra","Status":"passing","ServiceID":"web"}}`},
		{"invalid weights fall back to 1/1", `{"Node":"n7","Address":"10.0.0.7","Service":{"Service":"w","Weights":{"Passing":0,"Warning":-1}}}`},
		{"a duration past int64, converted as Consul does (the catalog runs no checks)", `{"Node":"n9","Address":"1.2.3.4","Check":{"CheckID":"c","Definition":{"TTL":1e300}}}`},
		{"null members", `{"Node":"n8","Address":"10.0.0.8","Service":null,"Check":null,"Checks":[null],"NodeMeta":null}`},
		// Malformed: each a 400 naming the problem (or Consul's 500).
		{"truncated", `{"Node":`},
		{"wrong type", `{"Node": 7}`},
		{"bad duration", `{"Node":"n9","Address":"1.2.3.4","Check":{"CheckID":"c","Definition":{"Interval":"soon"}}}`},
		{"empty body", ``},
		{"null body", `null`},
		{"not an object", `[1,2]`},
		{"two values", `{"Node":"n9","Address":"1.2.3.4"} {}`},
		{"missing node", `{"Address":"10.0.0.9"}`},
		{"missing address", `{"Node":"n9"}`},
		{"service ID without name", `{"Node":"n9","Address":"1.2.3.4","Service":{"ID":"x"}}`},
		{"unroutable service address", `{"Node":"n9","Address":"1.2.3.4","Service":{"Service":"x","Address":"0.0.0.0"}}`},
		{"port out of range", `{"Node":"n9","Address":"1.2.3.4","Service":{"Service":"x","Port":70000}}`},
		{"bad check status", `{"Node":"n9","Address":"1.2.3.4","Check":{"CheckID":"c","Status":"fine"}}`},
		{"check on an unknown service", `{"Node":"node1","Address":"10.0.0.1","Check":{"CheckID":"c","ServiceID":"nope"}}`},
		{"check of another node", `{"Node":"n9","Address":"1.2.3.4","Check":{"Node":"n10","CheckID":"c"}}`},
		{"bad meta key", `{"Node":"n9","Address":"1.2.3.4","NodeMeta":{"a b":"c"}}`},
		{"slash in the node name", `{"Node":"a/b","Address":"1.2.3.4"}`},
		{"control character", `{"Node":"n\u0000","Address":"1.2.3.4"}`},
		{"other datacenter: Consul's 500", `{"Node":"n9","Address":"1.2.3.4","Datacenter":"dc9"}`},
	})
	fa := newFuzzAPI(f, false)
	f.Fuzz(func(t *testing.T, body string) {
		defer fa.reset(t)
		code, resp := fa.serve(http.MethodPut, "/v1/catalog/register", "", []byte(body))
		fa.checkAnswer(t, code, resp, errNoPathToDC.Error())
		if code != http.StatusOK {
			return
		}
		if strings.TrimSpace(resp) != "true" {
			t.Fatalf("200 %q, want true", resp)
		}
		var b registerBody
		fuzzDecode(t, body, &b)
		if !fa.inCatalog(b.Node, "", "") {
			t.Fatalf("node %q not in the catalog after a 200", b.Node)
		}
		if s := b.Service; s != nil && s.Service != "" {
			if !fa.inCatalog(b.Node, cmp.Or(s.ID, s.Service), "") {
				t.Fatalf("service %q not in the catalog after a 200", cmp.Or(s.ID, s.Service))
			}
			fa.readService(t, s.Service)
		}
		fa.readsBack(t, "/v1/catalog/nodes", "/v1/health/state/any")
	})
}

func FuzzCatalogDeregisterBody(f *testing.F) {
	fuzzAddBodies(f, []fuzzSeed{
		{"a service (api.CatalogDeregistration)", `{"Node":"node1","Datacenter":"dc1","ServiceID":"web"}`},
		{"a check", `{"Node":"node1","CheckID":"web-check"}`},
		{"the node, its services, checks and sessions", `{"Node":"node1"}`},
		{"something missing is no error", `{"Node":"nope","ServiceID":"x"}`},
		// Malformed.
		{"service and check", `{"Node":"node1","ServiceID":"web","CheckID":"web-check"}`},
		{"no node", `{"ServiceID":"web"}`},
		{"empty object", `{}`},
		{"truncated", `{"Node":`},
		{"not an object", `["node1"]`},
		{"other datacenter: Consul's 500", `{"Node":"node1","Datacenter":"dc9"}`},
	})
	fa := newFuzzAPI(f, false)
	f.Fuzz(func(t *testing.T, body string) {
		defer fa.reset(t)
		code, resp := fa.serve(http.MethodPut, "/v1/catalog/deregister", "", []byte(body))
		fa.checkAnswer(t, code, resp, errNoPathToDC.Error())
		if code != http.StatusOK {
			return
		}
		var b deregisterBody
		fuzzDecode(t, body, &b)
		if fa.inCatalog(b.Node, b.ServiceID, b.CheckID) {
			t.Fatalf("%+v still in the catalog after a 200", b)
		}
		fa.readsBack(t, "/v1/catalog/nodes", "/v1/health/state/any", "/v1/session/list")
	})
}

func FuzzAgentServiceRegisterBody(f *testing.F) {
	seeds := []struct {
		why     string
		body    string
		replace bool // ?replace-existing-checks
	}{
		{"consul/api's registration, from TestAgentServiceRegisterShapes", `{"ID":"web-1","Name":"web","Address":"10.0.0.5","Port":8080,"Meta":{"version":"1"},
			"Checks":[{"TTL":"30s","Notes":"heartbeat"},{"HTTP":"http://127.0.0.1:1/","Interval":"10s","Timeout":"2s","DeregisterCriticalServiceAfter":"90s","Header":{"X":["y"]}}]}`, false},
		{"snake_case keys, from TestAgentServiceRegisterSnakeCase", `{"name":"web","id":"w1","port":80,"enable_tag_override":true,"meta":{"a_b":"c"},
			"weights":{"passing":3,"warning":2},
			"check":{"ttl":"10s","deregister_critical_service_after":"30s","status":"passing","check_id":"hb2"},
			"checks":[{"tcp":"127.0.0.1:1","interval":"1h","timeout":"1s","success_before_passing":2,"failures_before_critical":3,"failures_before_warning":1},
			          {"http":"https://127.0.0.1:1/","interval":"1h","tls_skip_verify":true,"method":"HEAD"}]}`, false},
		{"re-register the baseline's service, dropping its checks", `{"Name":"web","Tags":["v2"],"Port":81,"Check":{"CheckID":"hb3","TTL":"1m"}}`, true},
		{"durations as nanoseconds, an empty Check", `{"Name":"db","Check":{},"Checks":[{"TTL":60000000000}]}`, false},
		{"Connect without a sidecar", `{"Name":"api","Connect":{"Native":true,"SidecarService":null}}`, false},
		{"one key in two spellings: the one without underscores wins", `{"Name":"web","ID":"a","I_D":"b","_I_D":"c"}`, false},
		// Malformed, from TestAgentServiceRegisterRejects and beyond.
		{"no name", `{"ID":"x"}`, false},
		{"any address", `{"Name":"web","Address":"0.0.0.0"}`, false},
		{"bad meta key", `{"Name":"web","Meta":{"a b":"c"}}`, false},
		{"reserved meta prefix", `{"Name":"web","Meta":{"consul-x":"c"}}`, false},
		{"zero passing weight", `{"Name":"web","Weights":{"Passing":0,"Warning":1}}`, false},
		{"negative port", `{"Name":"web","Port":-1}`, false},
		{"udp check", `{"Name":"web","Check":{"UDP":"x:1","Interval":"10s"}}`, false},
		{"script check", `{"Name":"web","Check":{"script_args":["/bin/true"],"Interval":"10s"}}`, false},
		{"bad status", `{"Name":"web","Check":{"TTL":"10s","Status":"fine"}}`, false},
		{"http without interval", `{"Name":"web","Check":{"HTTP":"http://x/"}}`, false},
		{"two kinds", `{"Name":"web","Check":{"TTL":"10s","TCP":"x:1","Interval":"10s"}}`, false},
		{"reserved check ID", `{"Name":"web","Check":{"CheckID":"serfHealth","TTL":"10s"}}`, false},
		{"bad duration", `{"Name":"web","Check":{"TTL":"soon"}}`, false},
		{"duration of the wrong type", `{"Name":"web","Check":{"TTL":true}}`, false},
		{"a check that is not an object", `{"Name":"web","Checks":[7]}`, false},
		{"bad JSON", `{"Name":`, false},
		{"empty body", ``, false},
		{"connect proxy", `{"Name":"web","Kind":"connect-proxy"}`, false},
		{"sidecar", `{"Name":"web","Connect":{"SidecarService":{}}}`, false},
	}
	for _, s := range seeds {
		f.Add(s.body, s.replace)
	}
	fa := newFuzzAPI(f, true)
	f.Fuzz(func(t *testing.T, body string, replace bool) {
		query := ""
		if replace {
			query = "replace-existing-checks"
		}
		defer fa.reset(t)
		code, resp := fa.serve(http.MethodPut, "/v1/agent/service/register", query, []byte(body))
		fa.checkAnswer(t, code, resp)
		if code != http.StatusOK {
			return
		}
		var b agentServiceBody
		fuzzDecode(t, body, &b)
		id := cmp.Or(b.ID, b.Name)
		if fa.local.Service(id) == nil {
			t.Fatalf("service %q not registered after a 200", id)
		}
		if !fa.inCatalog(fuzzNode, id, "") {
			t.Fatalf("service %q not in the catalog after a 200", id)
		}
		fa.readsBack(t, "/v1/agent/services", "/v1/agent/checks")
	})
}

func FuzzAgentCheckRegisterBody(f *testing.F) {
	fuzzAddBodies(f, []fuzzSeed{
		{"consul/api's AgentCheckRegistration, from TestAgentCheckRegisterDeregister", `{"Name":"web-extra","ServiceID":"web","TTL":"1m","Status":"passing"}`},
		{"an HTTP check with every option", `{"ID":"mem","Name":"mem","Notes":"n","HTTP":"http://127.0.0.1:1/health","Method":"HEAD","Header":{"X":["y"]},"Body":"b",
			"TLSSkipVerify":true,"Interval":"10s","Timeout":"1s","DeregisterCriticalServiceAfter":"90s","SuccessBeforePassing":2,"FailuresBeforeWarning":1,"FailuresBeforeCritical":3}`},
		{"snake_case TCP check of a service", `{"name":"port2","check_id":"p2","tcp":"127.0.0.1:1","interval":"10s","service_id":"web","deregister_critical_service_after":"90s"}`},
		{"replace the baseline's TTL check", `{"Name":"heartbeat","CheckID":"hb","TTL":"30s"}`},
		{"TTL in nanoseconds", `{"Name":"n","TTL":30000000000}`},
		// Malformed, from TestAgentCheckRegisterDeregister and beyond.
		{"unknown service", `{"Name":"x","ServiceID":"nope","TTL":"1m"}`},
		{"no name", `{"TTL":"1m"}`},
		{"bad status", `{"Name":"x","TTL":"1m","Status":"ok"}`},
		{"no kind", `{"Name":"x"}`},
		{"TLS options", `{"Name":"x","TCP":"x:1","Interval":"10s","TCPUseTLS":true}`},
		{"TTL with an interval", `{"Name":"x","TTL":"1m","Interval":"10s"}`},
		{"negative threshold", `{"Name":"x","TTL":"1m","FailuresBeforeCritical":-1}`},
		{"TCP without a port", `{"Name":"x","TCP":"host","Interval":"10s"}`},
		{"HTTP that is not a URL", `{"Name":"x","HTTP":"ftp://x/","Interval":"10s"}`},
		{"reserved ID", `{"Name":"x","CheckID":"serfHealth","TTL":"1m"}`},
		{"bad JSON", `{"Name":"x",`},
		{"not an object", `"x"`},
		{"empty body", ``},
	})
	fa := newFuzzAPI(f, true)
	f.Fuzz(func(t *testing.T, body string) {
		defer fa.reset(t)
		code, resp := fa.serve(http.MethodPut, "/v1/agent/check/register", "", []byte(body))
		fa.checkAnswer(t, code, resp)
		if code != http.StatusOK {
			return
		}
		var b agentCheckBody
		fuzzDecode(t, body, &b)
		id := cmp.Or(cmp.Or(b.CheckID, b.ID), b.Name)
		if fa.local.Check(id) == nil {
			t.Fatalf("check %q not registered after a 200", id)
		}
		if !fa.inCatalog(fuzzNode, "", id) {
			t.Fatalf("check %q not in the catalog after a 200", id)
		}
		fa.readsBack(t, "/v1/agent/services", "/v1/agent/checks")
	})
}

// fuzzUpdateIDs are the checks an update names: the baseline's TTL check,
// its TCP check (not a TTL check: Consul's 500) and one that is absent.
var fuzzUpdateIDs = []string{"hb", "port", "nope"}

func FuzzAgentCheckUpdateBody(f *testing.F) {
	seeds := []struct {
		why  string
		id   uint8 // index in fuzzUpdateIDs
		body string
	}{
		{"consul/api's UpdateTTL", 0, `{"Status":"passing","Output":"back"}`},
		{"warning without output", 0, `{"Status":"warning"}`},
		{"critical with a long output (truncated)", 0, `{"Status":"critical","Output":"` + strings.Repeat("x", 5000) + `"}`},
		{"not a TTL check: Consul's 500", 1, `{"Status":"passing"}`},
		{"unknown check", 2, `{"Status":"passing"}`},
		// Malformed, from TestAgentTTLUpdates.
		{"bad status", 0, `{"Status":"fine","Output":"x"}`},
		{"empty status", 0, `{"Output":"x"}`},
		{"status of the wrong type", 0, `{"Status":1}`},
		{"bad JSON", 0, `{"Status":`},
		{"empty body", 0, ``},
	}
	for _, s := range seeds {
		f.Add(s.id, s.body)
	}
	fa := newFuzzAPI(f, true)
	notTTL := `CheckID "port" does not have associated TTL`
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		id := fuzzUpdateIDs[int(which)%len(fuzzUpdateIDs)]
		defer fa.reset(t)
		code, resp := fa.serve(http.MethodPut, "/v1/agent/check/update/"+id, "", []byte(body))
		fa.checkAnswer(t, code, resp, notTTL)
		if code != http.StatusOK {
			return
		}
		var b struct{ Status, Output string }
		fuzzDecode(t, body, &b)
		if c := fa.local.Check(id); c == nil || c.Status != b.Status {
			t.Fatalf("check %q = %+v after a 200, want status %q", id, c, b.Status)
		}
		_, _, checks, _ := agentCatalog{fa.store}.NodeState(context.Background(), fuzzNode)
		if i := slices.IndexFunc(checks, func(c *catalog.Check) bool { return c.CheckID == id }); i < 0 || checks[i].Status != b.Status {
			t.Fatalf("catalog's check %q after a 200 is not %q", id, b.Status)
		}
		fa.readsBack(t, "/v1/agent/services", "/v1/agent/checks")
	})
}

func FuzzTxnBody(f *testing.F) {
	fuzzAddBodies(f, []fuzzSeed{
		{"KV set and get, from TestTxnWireFormat", `[{"KV":{"Verb":"set","Key":"k","Value":"aGVsbG8=","Flags":7}},{"KV":{"Verb":"get","Key":"k"}}]`},
		{"every KV verb on the baseline", `[{"KV":{"Verb":"check-not-exists","Key":"n"}},{"KV":{"Verb":"cas","Key":"n","Value":"eA==","Index":0}},
			{"KV":{"Verb":"lock","Key":"l","Value":"bWU=","Session":"` + fuzzSessionID + `"}},{"KV":{"Verb":"check-session","Key":"l","Session":"` + fuzzSessionID + `"}},
			{"KV":{"Verb":"unlock","Key":"l","Session":"` + fuzzSessionID + `"}},{"KV":{"Verb":"get-tree","Key":""}},{"KV":{"Verb":"delete","Key":"existing"}},
			{"KV":{"Verb":"delete-tree","Key":"l"}}]`},
		{"catalog set, from TestTxnCatalog", `[{"Node":{"Verb":"set","Node":{"Node":"n1","Address":"10.0.0.9","Meta":{"rack":"r1"}}}},
			{"Service":{"Verb":"set","Node":"n1","Service":{"ID":"web-1","Service":"web","Tags":["v1"],"Port":8080,"Address":"10.0.0.9"}}},
			{"Check":{"Verb":"set","Check":{"Node":"n1","CheckID":"web-http","Name":"http","Status":"passing","ServiceID":"web-1",
			 "Definition":{"HTTP":"http://10.0.0.9:8080/","Interval":"10s","Timeout":"2s","IntervalDuration":10000000000}}}}]`},
		{"catalog get and delete on the baseline", `[{"Node":{"Verb":"get","Node":{"Node":"node1"}}},{"Service":{"Verb":"get","Node":"node1","Service":{"ID":"web"}}},
			{"Check":{"Verb":"get","Check":{"Node":"node1","CheckID":"web-check"}}},{"Service":{"Verb":"delete","Node":"node1","Service":{"ID":"web"}}}]`},
		{"legacy duration fields", `[{"Check":{"Verb":"set","Check":{"Node":"node1","CheckID":"c","Status":"passing","Definition":{"TCP":"x:1","IntervalDuration":"10s","TimeoutDuration":1000000000,"DeregisterCriticalServiceAfterDuration":"1m"}}}}]`},
		{"no operations", `[]`},
		// Rolled back: 409.
		{"stale cas", `[{"KV":{"Verb":"set","Key":"rolled-back"}},{"KV":{"Verb":"cas","Key":"existing","Index":99}}]`},
		{"stale delete-cas", `[{"KV":{"Verb":"delete-cas","Key":"existing","Index":1}}]`},
		{"stale node cas", `[{"Node":{"Verb":"cas","Node":{"Node":"node1","ModifyIndex":999}}}]`},
		{"empty op", `[{}]`},
		{"two members in an op", `[{"KV":{"Verb":"get","Key":"existing"},"Node":{"Verb":"get","Node":{"Node":"node1"}}}]`},
		{"unknown verb", `[{"KV":{"Verb":"frobnicate","Key":"e"}}]`},
		{"lock without a session", `[{"KV":{"Verb":"lock","Key":"f"}}]`},
		{"lock with an unknown session", `[{"KV":{"Verb":"lock","Key":"f","Session":"nope"}}]`},
		{"check of a missing node", `[{"Check":{"Verb":"set","Check":{"Node":"ghost","CheckID":"c","Status":"passing"}}}]`},
		// Malformed: 400.
		{"bad json", `[{"KV":`},
		{"bad base64", `[{"KV":{"Verb":"set","Key":"k","Value":"%%%"}}]`},
		{"not a list", `{"KV":{}}`},
		{"bad duration", `[{"Check":{"Verb":"set","Check":{"Node":"node1","CheckID":"c","Definition":{"Interval":"soon"}}}}]`},
		{"negative index", `[{"KV":{"Verb":"cas","Key":"k","Index":-1}}]`},
		{"empty body", ``},
	})
	fa := newFuzzAPI(f, false)
	f.Fuzz(func(t *testing.T, body string) {
		defer fa.reset(t)
		code, resp := fa.serve(http.MethodPut, "/v1/txn", "", []byte(body))
		fa.checkAnswer(t, code, resp)
		if code != http.StatusOK && code != http.StatusConflict {
			return
		}
		var out consul.TxnResponse
		if err := json.Unmarshal([]byte(resp), &out); err != nil {
			t.Fatalf("%d answer does not decode into consul/api's TxnResponse: %v in %.300q", code, err, resp)
		}
		if (code == http.StatusOK) != (len(out.Errors) == 0) {
			t.Fatalf("%d with errors %+v", code, out.Errors)
		}
		if code == http.StatusConflict {
			return // checkAnswer found the catalog unchanged
		}
		fa.readsBack(t, "/v1/catalog/nodes", "/v1/health/state/any")
		var pairs []*consul.KVPair
		fa.read(t, "/v1/kv/", "recurse", true, &pairs)
	})
}

func FuzzSessionCreateBody(f *testing.F) {
	fuzzAddBodies(f, []fuzzSeed{
		{"consul/api's SessionEntry", `{"Name":"lock","Node":"node1","LockDelay":"15s","Behavior":"release","TTL":"30s","NodeChecks":["serfHealth"],"ServiceChecks":[{"ID":"web-check","Namespace":""}]}`},
		{"no body: every default", ``},
		{"lock delay in seconds, from TestSessionCreateDefaults", `{"LockDelay":5}`},
		{"lock delay in nanoseconds", `{"LockDelay":2000000000}`},
		{"lock delay in consul/api's milliseconds", `{"LockDelay":"30000ms"}`},
		{"null lock delay keeps the default", `{"LockDelay":null}`},
		{"behavior delete", `{"Behavior":"delete"}`},
		{"empty NodeChecks binds none", `{"NodeChecks":[]}`},
		{"legacy Checks add to the default", `{"Checks":["serfHealth","serfHealth"]}`},
		{"a TTL of zero is none", `{"TTL":"0s"}`},
		// Malformed, from TestSessionCreateDefaults.
		{"bad lock delay", `{"LockDelay":"soon"}`},
		{"lock delay over 60s", `{"LockDelay":"61s"}`},
		{"huge lock delay number", `{"LockDelay":1e30}`},
		{"lock delay of the wrong type", `{"LockDelay":[1]}`},
		{"bad ttl", `{"TTL":"x"}`},
		{"bad behavior", `{"Behavior":"explode"}`},
		{"bad json", `{"Name":`},
		{"unknown node", `{"Node":"ghost"}`},
		{"unknown check", `{"NodeChecks":["nope"]}`},
		{"empty service check ID", `{"ServiceChecks":[{"ID":""}]}`},
	})
	fa := newFuzzAPI(f, false)
	f.Fuzz(func(t *testing.T, body string) {
		defer fa.reset(t)
		code, resp := fa.serve(http.MethodPut, "/v1/session/create", "", []byte(body))
		fa.checkAnswer(t, code, resp)
		if code != http.StatusOK {
			return
		}
		var out struct{ ID string }
		if err := json.Unmarshal([]byte(resp), &out); err != nil || out.ID == "" {
			t.Fatalf("200 %q: want {\"ID\": …} (%v)", resp, err)
		}
		var info []*consul.SessionEntry
		fa.read(t, "/v1/session/info/"+out.ID, "", false, &info)
		if len(info) != 1 || info[0].ID != out.ID {
			t.Fatalf("session info of %s after a 200 = %+v", out.ID, info)
		}
		fa.readsBack(t, "/v1/session/list")
	})
}

func FuzzKVPutQuery(f *testing.F) {
	seeds := []struct {
		why        string
		key, query string
		value      []byte
	}{
		{"a set, from TestKV", "a/b", "", []byte("hello")},
		{"flags", "a/b", "flags=42", []byte("x")},
		{"cas 0 on a new key", "a/c", "cas=0", []byte("x")},
		{"cas 0 on an existing key: false", "existing", "cas=0", []byte("x")},
		{"cas with a wrong index: false", "existing", "cas=99", []byte("x")},
		{"acquire with the baseline's session", "lock", "acquire=" + fuzzSessionID, []byte("me")},
		{"release of a key not held: false", "existing", "release=" + fuzzSessionID, nil},
		{"the local datacenter", "a", "dc=dc1&flags=1", nil},
		{"an empty value", "empty", "", nil},
		{"a key with odd characters", "//a/./b/../ü", "", []byte("v")},
		// Malformed.
		{"bad cas", "a/b", "cas=x", []byte("x")},
		{"bad flags", "a/b", "flags=-1", []byte("x")},
		{"flags overflow", "a/b", "flags=18446744073709551616", nil},
		{"missing key name", "", "", []byte("x")},
		{"a key too long", strings.Repeat("k", 513), "", nil},
		{"a control character in the key", "a\x00b", "", nil},
		{"acquire with an unknown session", "l", "acquire=00000000-0000-0000-0000-000000000000", nil},
		{"acquire without a session", "l", "acquire", nil},
		{"a malformed query", "a", "%zz&cas=0;x", nil},
		{"other datacenter: Consul's 500", "a", "dc=dc9", nil},
	}
	for _, s := range seeds {
		f.Add(s.key, s.query, s.value)
	}
	fa := newFuzzAPI(f, false)
	f.Fuzz(func(t *testing.T, key, query string, value []byte) {
		defer fa.reset(t)
		code, resp := fa.serve(http.MethodPut, "/v1/kv/"+key, query, value)
		fa.checkAnswer(t, code, resp, errNoPathToDC.Error())
		if code != http.StatusOK {
			return
		}
		switch strings.TrimSpace(resp) {
		case "false":
			if fa.tableIndexes() != fa.base {
				t.Fatal("a put answered false changed the catalog")
			}
			return
		case "true":
		default:
			t.Fatalf("200 %q, want true or false", resp)
		}
		var pairs []*consul.KVPair
		fa.read(t, "/v1/kv/"+key, "", false, &pairs)
		q, _ := url.ParseQuery(query)
		flags, _ := strconv.ParseUint(q.Get("flags"), 10, 64)
		if len(pairs) != 1 || pairs[0].Key != key || !bytes.Equal(pairs[0].Value, value) || pairs[0].Flags != flags {
			t.Fatalf("after a true put of %q (flags %d): %s", value, flags, sessionJSONText(pairs))
		}
		if q.Has("acquire") && pairs[0].Session != q.Get("acquire") {
			t.Fatalf("acquired by %q, held by %q", q.Get("acquire"), pairs[0].Session)
		}
	})
}
