package local

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

func syncNow(t *testing.T, s *State) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.SyncChanges(ctx)
}

// commandsSince returns the commands applied after the first n, as text.
func commandsSince(f *fakeCatalog, n int) []string {
	var out []string
	for _, c := range f.commands()[n:] {
		switch c := c.(type) {
		case *catalog.RegisterRequest:
			s := "register"
			if c.Service != nil {
				s += " service " + c.Service.ID
			}
			for _, ch := range c.Checks {
				s += " check " + ch.CheckID
			}
			out = append(out, s)
		case *catalog.DeregisterRequest:
			out = append(out, fmt.Sprintf("deregister service %q check %q", c.ServiceID, c.CheckID))
		case *catalog.CheckStatusRequest:
			for _, u := range c.Updates {
				out = append(out, "status "+u.CheckID+" "+u.Status)
			}
		}
	}
	return out
}

func TestSyncRegistersEverything(t *testing.T) {
	cat := newFakeCatalog(t)
	s := newState(t, testConfig(""), cat)
	if err := s.AddService(catalog.Service{Service: "web", Port: 80, Tags: []string{"a"}}, []catalog.Check{ttlCheck(time.Hour)}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCheck(catalog.Check{Name: "disk", Definition: catalog.CheckDefinition{TTL: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	// Definitions with maps and thresholds must compare equal after the
	// catalog's round trip, or every full sync would rewrite them.
	if err := s.AddCheck(catalog.Check{Name: "api", Notes: "n", Definition: catalog.CheckDefinition{
		HTTP: "http://127.0.0.1:1/", Method: "POST", Header: map[string][]string{"X": {"1", "2"}, "Empty": {}}, Body: "{}",
		Interval: time.Hour, Timeout: time.Second, SuccessBeforePassing: 2, FailuresBeforeCritical: 3,
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCheck(catalog.Check{Name: "port", Definition: catalog.CheckDefinition{TCP: "127.0.0.1:1", Interval: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitSynced(t, s)
	node, svcs, checks, _ := cat.NodeState(context.Background(), "node1")
	if node == nil || !nodeEqual(*node, s.Node()) {
		t.Fatalf("catalog node = %+v, want %+v", node, s.Node())
	}
	if len(svcs) != 1 || !serviceEqual(*svcs[0], *s.Service("web")) {
		t.Fatalf("catalog services = %+v", svcs)
	}
	byID := map[string]*catalog.Check{}
	for _, c := range checks {
		byID[c.CheckID] = c
	}
	l := byID[health.NodeLivenessID]
	if l == nil || l.Name != "Node Liveness" || l.Status != "passing" || l.Output != "Agent alive and reachable" {
		t.Fatalf("liveness check = %+v", l)
	}
	if c := byID["service:web"]; c == nil || c.ServiceName != "web" || c.Type != "ttl" {
		t.Fatalf("service check in the catalog = %+v", c)
	}
	if byID["disk"] == nil || byID["api"] == nil || byID["port"] == nil || len(byID) != 5 {
		t.Fatalf("catalog checks = %v", byID)
	}
	// In sync: a full sync writes nothing.
	n := len(cat.commands())
	s.SyncFull()
	waitFor(t, "a full sync round", func() bool { return s.InSync() })
	if err := syncNow(t, s); err != nil {
		t.Fatal(err)
	}
	if got := commandsSince(cat, n); len(got) != 0 {
		t.Fatalf("a full sync of a synced state wrote %v", got)
	}
}

func TestSyncRemovesUnknownButKeepsLiveness(t *testing.T) {
	cat := newFakeCatalog(t)
	node := testConfig("").Node
	ghostSvc := &catalog.Service{ID: "ghost", Service: "ghost"}
	cat.mustWrite(&catalog.RegisterRequest{Node: node, Service: ghostSvc, Checks: []*catalog.Check{
		{CheckID: "ghost-check", Name: "g", Status: "passing", ServiceID: "ghost"},
		{CheckID: health.NodeLivenessID, Name: "Node Liveness", Status: "passing", Output: "Agent alive and reachable"},
		{CheckID: "stray", Name: "stray", Status: "critical"},
	}})
	s := newState(t, testConfig(""), cat)
	if err := s.AddService(catalog.Service{Service: "web"}, nil, false); err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitSynced(t, s)
	if cat.service("node1", "ghost") != nil || cat.check("node1", "ghost-check") != nil || cat.check("node1", "stray") != nil {
		t.Fatal("unknown catalog entries not removed")
	}
	if cat.check("node1", health.NodeLivenessID) == nil {
		t.Fatal("the liveness check was removed")
	}
	if cat.service("node1", "web") == nil {
		t.Fatal("local service not registered")
	}
	got := commandsSince(cat, 0)
	want := []string{`deregister service "" check "stray"`, `deregister service "ghost" check ""`, "register service web"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("commands = %q, want %q", got, want)
	}
}

func TestSyncRestoresLostEntries(t *testing.T) {
	cat := newFakeCatalog(t)
	s := newState(t, testConfig(""), cat)
	if err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{ttlCheck(time.Hour)}, false); err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitSynced(t, s)
	tests := []struct {
		name string
		lose catalog.Command
		back func() bool
	}{
		{"service", &catalog.DeregisterRequest{Node: "node1", ServiceID: "web"}, func() bool {
			return cat.service("node1", "web") != nil && cat.check("node1", "service:web") != nil
		}},
		{"check", &catalog.DeregisterRequest{Node: "node1", CheckID: "service:web"}, func() bool { return cat.check("node1", "service:web") != nil }},
		{"whole node", &catalog.DeregisterRequest{Node: "node1"}, func() bool {
			return cat.service("node1", "web") != nil && cat.check("node1", health.NodeLivenessID) != nil
		}},
		{"changed service", &catalog.RegisterRequest{Node: testConfig("").Node, Service: &catalog.Service{ID: "web", Service: "web", Port: 9999}}, func() bool {
			svc := cat.service("node1", "web")
			return svc != nil && svc.Port == 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat.mustWrite(tt.lose)
			s.SyncFull()
			waitFor(t, "the catalog to be restored", tt.back)
		})
	}
}

func TestStatusChangeSyncedAtOnce(t *testing.T) {
	cat := newFakeCatalog(t)
	s := newState(t, testConfig(""), cat)
	if err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{ttlCheck(time.Hour)}, false); err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitSynced(t, s)
	n := len(cat.commands())
	if err := s.UpdateTTL("service:web", "passing", "ok"); err != nil {
		t.Fatal(err)
	}
	if err := syncNow(t, s); err != nil {
		t.Fatal(err)
	}
	if got := commandsSince(cat, n); fmt.Sprint(got) != "[status service:web passing]" {
		t.Fatalf("commands after a status change = %q, want one status update", got)
	}
	if c := cat.check("node1", "service:web"); c.Status != "passing" || c.Output != "ok" {
		t.Fatalf("catalog check = %s %q", c.Status, c.Output)
	}
	// The same status and output again: nothing reaches the catalog.
	n = len(cat.commands())
	if err := s.UpdateTTL("service:web", "passing", "ok"); err != nil {
		t.Fatal(err)
	}
	if err := syncNow(t, s); err != nil {
		t.Fatal(err)
	}
	if got := commandsSince(cat, n); len(got) != 0 {
		t.Fatalf("an unchanged heartbeat wrote %q", got)
	}
}

// TestFirstOutputSyncedAtOnce: a check added without output (as an API
// registration leaves it, critical) whose first result keeps its status
// gets that result's output into the catalog at once; the next
// output-only change is deferred as usual.
func TestFirstOutputSyncedAtOnce(t *testing.T) {
	cat := newFakeCatalog(t)
	cfg := testConfig("")
	cfg.CheckUpdateInterval = time.Hour
	s := newState(t, cfg, cat)
	if err := s.AddCheck(catalog.Check{Name: "hb", Status: "critical", Definition: catalog.CheckDefinition{TTL: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitSynced(t, s)
	n := len(cat.commands())
	for _, out := range []string{"first", "second"} {
		if err := s.UpdateTTL("hb", "critical", out); err != nil {
			t.Fatal(err)
		}
		if err := syncNow(t, s); err != nil {
			t.Fatal(err)
		}
	}
	if c := cat.check("node1", "hb"); c.Status != "critical" || c.Output != "first" {
		t.Fatalf("catalog check = %s %q, want critical first", c.Status, c.Output)
	}
	if got := commandsSince(cat, n); fmt.Sprint(got) != "[status hb critical]" {
		t.Fatalf("commands = %q, want one status update", got)
	}
}

func TestOutputOnlyChangeDeferred(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		// wantLater: whether the deferred output reaches the catalog within the test
		wantLater bool
	}{
		{name: "synced after CheckUpdateInterval", interval: 50 * time.Millisecond, wantLater: true},
		{name: "held back, even by a full sync", interval: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := newFakeCatalog(t)
			cfg := testConfig("")
			cfg.CheckUpdateInterval = tt.interval
			s := newState(t, cfg, cat)
			if err := s.AddCheck(catalog.Check{Name: "hb", Status: "passing", Output: "v1", Definition: catalog.CheckDefinition{TTL: time.Hour}}); err != nil {
				t.Fatal(err)
			}
			s.Start()
			waitSynced(t, s)
			n := len(cat.commands())
			if err := s.UpdateTTL("hb", "passing", "v2"); err != nil {
				t.Fatal(err)
			}
			if err := syncNow(t, s); err != nil {
				t.Fatal(err)
			}
			if got := commandsSince(cat, n); len(got) != 0 {
				t.Fatalf("an output-only change was synced at once: %q", got)
			}
			if !tt.wantLater {
				s.SyncFull()
				if err := syncNow(t, s); err != nil {
					t.Fatal(err)
				}
				waitSynced(t, s)
				if c := cat.check("node1", "hb"); c.Output != "v1" {
					t.Fatalf("catalog output = %q, want v1 until the interval passes", c.Output)
				}
				// A status change carries the latest output at once.
				if err := s.UpdateTTL("hb", "warning", "v3"); err != nil {
					t.Fatal(err)
				}
				if err := syncNow(t, s); err != nil {
					t.Fatal(err)
				}
				if c := cat.check("node1", "hb"); c.Status != "warning" || c.Output != "v3" {
					t.Fatalf("catalog check = %s %q, want warning v3", c.Status, c.Output)
				}
				return
			}
			waitFor(t, "the deferred output", func() bool { return cat.check("node1", "hb").Output == "v2" })
			if got := commandsSince(cat, n); fmt.Sprint(got) != "[status hb passing]" {
				t.Fatalf("commands = %q, want one status update", got)
			}
		})
	}
}

func TestSyncRetriesAfterFailingApply(t *testing.T) {
	cat := newFakeCatalog(t)
	cat.down.Store(true)
	s := newState(t, testConfig(""), cat)
	s.Start()
	if err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{ttlCheck(time.Hour)}, false); err != nil {
		t.Fatal(err)
	}
	if err := syncNow(t, s); err == nil {
		t.Fatal("SyncChanges succeeded against an unreachable catalog")
	}
	if s.InSync() || s.Service("web") == nil {
		t.Fatal("a failed sync lost local state or claimed success")
	}
	if err := s.UpdateTTL("service:web", "passing", "up"); err != nil {
		t.Fatal(err)
	}
	cat.down.Store(false)
	waitSynced(t, s)
	if c := cat.check("node1", "service:web"); c == nil || c.Status != "passing" {
		t.Fatalf("catalog check after recovery = %+v", c)
	}
}

func TestDeregisterSyncedOnce(t *testing.T) {
	cat := newFakeCatalog(t)
	s := newState(t, testConfig(""), cat)
	if err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{ttlCheck(time.Hour), ttlCheck(time.Hour)}, false); err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitSynced(t, s)
	n := len(cat.commands())
	if err := s.RemoveService("web"); err != nil {
		t.Fatal(err)
	}
	if err := syncNow(t, s); err != nil {
		t.Fatal(err)
	}
	if got := commandsSince(cat, n); fmt.Sprint(got) != `[deregister service "web" check ""]` {
		t.Fatalf("commands = %q, want one service deregistration", got)
	}
	if cat.check("node1", "service:web:1") != nil {
		t.Fatal("the service's checks are still in the catalog")
	}
	waitSynced(t, s)
}

func TestHTTPCheckReachesCatalog(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "fine") }))
	defer srv.Close()
	cat := newFakeCatalog(t)
	s := newState(t, testConfig(""), cat)
	s.Start()
	err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{{Definition: catalog.CheckDefinition{HTTP: srv.URL, Interval: 10 * time.Millisecond}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the check to pass in the catalog", func() bool {
		c := cat.check("node1", "service:web")
		return c != nil && c.Status == "passing"
	})
}

func TestReapsServiceCriticalTooLong(t *testing.T) {
	cat := newFakeCatalog(t)
	cfg := testConfig("")
	cfg.MinDeregisterAfter = time.Millisecond
	cfg.ReapInterval = 5 * time.Millisecond
	s := newState(t, cfg, cat)
	s.Start()
	err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{{Definition: catalog.CheckDefinition{TTL: time.Hour, DeregisterCriticalServiceAfter: 20 * time.Millisecond}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddService(catalog.Service{Service: "db"}, []catalog.Check{{Status: "passing", Definition: catalog.CheckDefinition{TTL: time.Hour, DeregisterCriticalServiceAfter: 20 * time.Millisecond}}}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the critical service to be reaped", func() bool { return s.Service("web") == nil })
	if s.Service("db") == nil {
		t.Fatal("a passing service was reaped")
	}
	waitSynced(t, s)
	if cat.service("node1", "web") != nil {
		t.Fatal("the reaped service is still in the catalog")
	}
}

// TestSyncChangesBeforeStart: the agent starts anti-entropy only once it
// knows a leader; a write's SyncChanges made before then waits for Start,
// so when it returns the catalog has the write (Consul's handlers sync
// before answering).
func TestSyncChangesBeforeStart(t *testing.T) {
	cat := newFakeCatalog(t)
	s := newState(t, testConfig(""), cat)
	if err := s.AddService(catalog.Service{Service: "web", Port: 80}, nil, false); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- syncNow(t, s) }()
	select {
	case err := <-done:
		t.Fatalf("SyncChanges before Start returned (%v) with nothing synced", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.Start()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SyncChanges did not return after Start")
	}
	if cat.service("node1", "web") == nil {
		t.Fatal("SyncChanges returned before the service reached the catalog")
	}
	t.Run("ends with its context or Close", func(t *testing.T) {
		for name, end := range map[string]func(*State, context.CancelFunc){
			"context": func(_ *State, cancel context.CancelFunc) { cancel() },
			"close":   func(s *State, _ context.CancelFunc) { s.Close() },
		} {
			s := newState(t, testConfig(""), newFakeCatalog(t))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.SyncChanges(ctx) }()
			end(s, cancel)
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("%s: SyncChanges before Start = nil, want an error", name)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: SyncChanges before Start did not return", name)
			}
			cancel()
		}
	})
}

// A check removed and added again while its deregistration is on its way
// to the catalog ends up in the catalog: the new entry does not inherit
// the old one's catalog copy (which the deregistration is deleting).
func TestCheckReAddedDuringDeregistration(t *testing.T) {
	cat := newFakeCatalog(t)
	s := newState(t, testConfig(""), cat)
	c := ttlCheck(time.Hour)
	c.CheckID, c.Name, c.Status = "c1", "c1", catalog.HealthPassing
	if err := s.AddCheck(c); err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitSynced(t, s)
	readded := make(chan error, 1)
	cat.beforeApply = func(cmd catalog.Command) {
		if d, ok := cmd.(*catalog.DeregisterRequest); ok && d.CheckID == "c1" {
			cat.beforeApply = nil
			go func() { readded <- s.AddCheck(c) }()
			select {
			case err := <-readded:
				readded <- err
			case <-time.After(time.Second): // AddCheck waits for the round: fine too
			}
		}
	}
	if err := s.RemoveCheck("c1"); err != nil {
		t.Fatal(err)
	}
	if err := syncNow(t, s); err != nil {
		t.Fatal(err)
	}
	if err := <-readded; err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := syncNow(t, s); err != nil {
			t.Fatal(err)
		}
		if got := cat.check("node1", "c1"); got != nil && got.Status == catalog.HealthPassing {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the re-added check is missing from the catalog: %+v", cat.check("node1", "c1"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
