package local

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

func TestAddServiceDefaults(t *testing.T) {
	httpCheck := catalog.Check{Definition: catalog.CheckDefinition{HTTP: "http://127.0.0.1:1/health", Interval: time.Hour}}
	tests := []struct {
		name       string
		svc        catalog.Service
		checks     []catalog.Check
		wantID     string
		wantChecks map[string]catalog.Check // ID → Name, Status, Type, ServiceID checked
	}{
		{
			name:   "ID defaults to the name, no checks",
			svc:    catalog.Service{Service: "web", Port: 80},
			wantID: "web", wantChecks: map[string]catalog.Check{},
		},
		{
			name:   "one check is service:<ID>",
			svc:    catalog.Service{ID: "web-1", Service: "web"},
			checks: []catalog.Check{ttlCheck(time.Minute)},
			wantID: "web-1",
			wantChecks: map[string]catalog.Check{
				"service:web-1": {Name: "Service 'web' check", Status: "critical", Type: "ttl", ServiceID: "web-1"},
			},
		},
		{
			name:   "several checks are numbered from 1",
			svc:    catalog.Service{ID: "web-1", Service: "web"},
			checks: []catalog.Check{ttlCheck(time.Minute), httpCheck},
			wantID: "web-1",
			wantChecks: map[string]catalog.Check{
				"service:web-1:1": {Name: "Service 'web' check", Status: "critical", Type: "ttl", ServiceID: "web-1"},
				"service:web-1:2": {Name: "Service 'web' check", Status: "critical", Type: "http", ServiceID: "web-1"},
			},
		},
		{
			name: "given ID, name and status are kept",
			svc:  catalog.Service{Service: "db"},
			checks: []catalog.Check{{CheckID: "db-alive", Name: "alive", Status: "passing",
				Definition: catalog.CheckDefinition{TCP: "127.0.0.1:1", Interval: time.Hour}}},
			wantID: "db",
			wantChecks: map[string]catalog.Check{
				"db-alive": {Name: "alive", Status: "passing", Type: "tcp", ServiceID: "db"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, testConfig(""), newFakeCatalog(t))
			if err := s.AddService(tt.svc, tt.checks, false); err != nil {
				t.Fatalf("AddService: %v", err)
			}
			got := s.Service(tt.wantID)
			if got == nil {
				t.Fatalf("service %q not registered; have %v", tt.wantID, s.Services())
			}
			if got.Node != "node1" || got.Weights != (catalog.Weights{Passing: 1, Warning: 1}) {
				t.Fatalf("service = %+v, want Node node1 and weights {1 1}", got)
			}
			checks := s.Checks()
			if len(checks) != len(tt.wantChecks) {
				t.Fatalf("checks = %d, want %d", len(checks), len(tt.wantChecks))
			}
			for _, c := range checks {
				w, ok := tt.wantChecks[c.CheckID]
				if !ok {
					t.Fatalf("unexpected check %q", c.CheckID)
				}
				if c.Name != w.Name || c.Status != w.Status || c.Type != w.Type || c.ServiceID != w.ServiceID ||
					c.ServiceName != tt.svc.Service || c.Node != "node1" {
					t.Fatalf("check %q = %+v, want %+v", c.CheckID, c, w)
				}
			}
		})
	}
}

func TestAddServiceRejects(t *testing.T) {
	meta := map[string]string{}
	for i := range 65 {
		meta[fmt.Sprintf("k%d", i)] = "v"
	}
	chk := func(d catalog.CheckDefinition) []catalog.Check { return []catalog.Check{{Definition: d}} }
	tests := []struct {
		name    string
		script  bool
		svc     catalog.Service
		checks  []catalog.Check
		wantMsg string
	}{
		{name: "no name", svc: catalog.Service{ID: "x"}, wantMsg: "Missing service name"},
		{name: "any IPv4 address", svc: catalog.Service{Service: "web", Address: "0.0.0.0"}, wantMsg: "Invalid service address"},
		{name: "any IPv6 address", svc: catalog.Service{Service: "web", Address: "::"}, wantMsg: "Invalid service address"},
		{name: "bad meta key", svc: catalog.Service{Service: "web", Meta: map[string]string{"a b": "v"}}, wantMsg: "key must match"},
		{name: "too much meta", svc: catalog.Service{Service: "web", Meta: meta}, wantMsg: "at most 64 pairs"},
		{name: "alias without a source", svc: catalog.Service{Service: "web"}, checks: chk(catalog.CheckDefinition{AliasService: "db"}), wantMsg: "alias checks are not available on this agent"},
		{name: "script disabled", svc: catalog.Service{Service: "web"}, checks: chk(catalog.CheckDefinition{Args: []string{"true"}, Interval: time.Second}), wantMsg: "Scripts are disabled on this agent"},
		{name: "http without interval", svc: catalog.Service{Service: "web"}, checks: chk(catalog.CheckDefinition{HTTP: "http://x/"}), wantMsg: "Interval must be > 0"},
		{name: "ttl with interval", svc: catalog.Service{Service: "web"}, checks: chk(catalog.CheckDefinition{TTL: time.Second, Interval: time.Second}), wantMsg: "Interval and TTL cannot both be specified"},
		{name: "two kinds", svc: catalog.Service{Service: "web"}, checks: chk(catalog.CheckDefinition{TTL: time.Second, TCP: "x:1"}), wantMsg: "a check has one kind"},
		{name: "no kind", svc: catalog.Service{Service: "web"}, checks: chk(catalog.CheckDefinition{}), wantMsg: "TTL must be > 0"},
		{name: "bad status", svc: catalog.Service{Service: "web"}, checks: []catalog.Check{{Status: "fine", Definition: catalog.CheckDefinition{TTL: time.Second}}}, wantMsg: "Invalid check status: 'fine'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("")
			cfg.EnableScriptChecks = tt.script
			s := newState(t, cfg, newFakeCatalog(t))
			err := s.AddService(tt.svc, tt.checks, false)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("AddService error = %v, want ErrInvalid containing %q", err, tt.wantMsg)
			}
			if len(s.Services()) != 0 || len(s.Checks()) != 0 {
				t.Fatal("a rejected registration left state behind")
			}
		})
	}
}

func TestClampsShortDurations(t *testing.T) {
	cfg := testConfig("")
	cfg.MinCheckInterval = time.Second
	s := newState(t, cfg, newFakeCatalog(t))
	err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{{Definition: catalog.CheckDefinition{
		TCP: "127.0.0.1:1", Interval: time.Millisecond, DeregisterCriticalServiceAfter: time.Second,
	}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	d := s.Check("service:web").Definition
	if d.Interval != time.Second || d.DeregisterCriticalServiceAfter != time.Minute {
		t.Fatalf("interval %s, deregister after %s; want 1s and 1m", d.Interval, d.DeregisterCriticalServiceAfter)
	}
}

func TestReplaceExistingChecks(t *testing.T) {
	two := []catalog.Check{{CheckID: "a", Definition: catalog.CheckDefinition{TTL: time.Minute}}, {CheckID: "b", Definition: catalog.CheckDefinition{TTL: time.Minute}}}
	one := two[:1]
	tests := []struct {
		name    string
		replace bool
		want    []string
	}{
		{name: "kept without the flag", replace: false, want: []string{"a", "b"}},
		{name: "removed with the flag", replace: true, want: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, testConfig(""), newFakeCatalog(t))
			svc := catalog.Service{Service: "web"}
			if err := s.AddService(svc, two, false); err != nil {
				t.Fatal(err)
			}
			if err := s.EnableServiceMaintenance("web", ""); err != nil {
				t.Fatal(err)
			}
			if err := s.AddService(svc, one, tt.replace); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range s.Checks() {
				if !health.IsMaintenance(c.CheckID) {
					got = append(got, c.CheckID)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("checks = %v, want %v", got, tt.want)
			}
			if s.Check(health.ServiceMaintenancePrefix+"web") == nil {
				t.Fatal("re-registering dropped the maintenance check")
			}
		})
	}
}

func TestReregisterKeepsCheckState(t *testing.T) {
	s := newState(t, testConfig(""), newFakeCatalog(t))
	svc := catalog.Service{Service: "web"}
	checks := []catalog.Check{ttlCheck(time.Minute)}
	if err := s.AddService(svc, checks, false); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateTTL("service:web", "passing", "ok"); err != nil {
		t.Fatal(err)
	}
	svc.Tags = []string{"v2"}
	if err := s.AddService(svc, checks, true); err != nil {
		t.Fatal(err)
	}
	c := s.Check("service:web")
	if c.Status != "passing" || c.Output != "ok" || len(c.ServiceTags) != 1 {
		t.Fatalf("check after re-registration = %+v, want passing/ok with the new tags", c)
	}
}

func TestRemoveService(t *testing.T) {
	s := newState(t, testConfig(""), newFakeCatalog(t))
	if err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{ttlCheck(time.Minute)}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCheck(catalog.Check{Name: "disk", Definition: catalog.CheckDefinition{TTL: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveService("web"); err != nil {
		t.Fatal(err)
	}
	if s.Service("web") != nil || s.Check("service:web") != nil {
		t.Fatal("service or its check still registered")
	}
	if s.Check("disk") == nil {
		t.Fatal("the node check went with the service")
	}
	if err := s.RemoveService("web"); !errors.Is(err, ErrUnknownService) {
		t.Fatalf("second RemoveService = %v, want ErrUnknownService", err)
	}
	if err := s.RemoveCheck("nope"); !errors.Is(err, ErrUnknownCheck) {
		t.Fatalf("RemoveCheck(unknown) = %v, want ErrUnknownCheck", err)
	}
}

func TestAddCheck(t *testing.T) {
	tests := []struct {
		name    string
		check   catalog.Check
		wantID  string
		wantErr error
	}{
		{name: "ID defaults to the name", check: catalog.Check{Name: "mem", Definition: catalog.CheckDefinition{TTL: time.Minute}}, wantID: "mem"},
		{name: "service check", check: catalog.Check{Name: "x", CheckID: "web-x", ServiceID: "web", Definition: catalog.CheckDefinition{TTL: time.Minute}}, wantID: "web-x"},
		{name: "unknown service", check: catalog.Check{Name: "x", ServiceID: "nope", Definition: catalog.CheckDefinition{TTL: time.Minute}}, wantErr: ErrUnknownService},
		{name: "no name", check: catalog.Check{CheckID: "x", Definition: catalog.CheckDefinition{TTL: time.Minute}}, wantErr: ErrInvalid},
		{name: "reserved ID", check: catalog.Check{Name: "x", CheckID: health.NodeLivenessID, Definition: catalog.CheckDefinition{TTL: time.Minute}}, wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, testConfig(""), newFakeCatalog(t))
			if err := s.AddService(catalog.Service{Service: "web"}, nil, false); err != nil {
				t.Fatal(err)
			}
			err := s.AddCheck(tt.check)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("AddCheck = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := s.Check(tt.wantID); c == nil || c.Status != "critical" {
				t.Fatalf("check %q = %+v, want it registered critical", tt.wantID, c)
			}
		})
	}
}

func TestUpdateTTL(t *testing.T) {
	s := newState(t, testConfig(""), newFakeCatalog(t))
	if err := s.AddCheck(catalog.Check{Name: "ttl", Definition: catalog.CheckDefinition{TTL: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCheck(catalog.Check{Name: "tcp", Definition: catalog.CheckDefinition{TCP: "127.0.0.1:1", Interval: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", catalog.MaxCheckOutput+100)
	tests := []struct {
		name       string
		id, status string
		output     string
		wantErr    error
		wantOutput string
	}{
		{name: "pass", id: "ttl", status: "passing", output: "ok", wantOutput: "ok"},
		{name: "warn", id: "ttl", status: "warning", output: "hmm", wantOutput: "hmm"},
		{name: "output truncated", id: "ttl", status: "critical", output: long, wantOutput: long[:catalog.MaxCheckOutput]},
		{name: "unknown check", id: "nope", status: "passing", wantErr: ErrUnknownCheck},
		{name: "not a TTL check", id: "tcp", status: "passing", wantErr: ErrNotTTL},
		{name: "bad status", id: "ttl", status: "fine", wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.UpdateTTL(tt.id, tt.status, tt.output)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("UpdateTTL = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := s.Check(tt.id); c.Status != tt.status || c.Output != tt.wantOutput {
				t.Fatalf("check = %s/%.20q, want %s/%.20q", c.Status, c.Output, tt.status, tt.wantOutput)
			}
		})
	}
}

func TestTTLExpiryMakesCheckCritical(t *testing.T) {
	s := newState(t, testConfig(""), newFakeCatalog(t))
	if err := s.AddCheck(catalog.Check{Name: "ttl", Status: "passing", Definition: catalog.CheckDefinition{TTL: 20 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the TTL to expire", func() bool {
		c := s.Check("ttl")
		return c.Status == "critical" && c.Output == health.TTLExpiredOutput
	})
}

func TestMaintenance(t *testing.T) {
	s := newState(t, testConfig(""), newFakeCatalog(t))
	if err := s.AddService(catalog.Service{Service: "web"}, nil, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		do        func() error
		wantErr   error
		checkID   string
		wantNotes string // "" → check absent
	}{
		{name: "node, default reason", do: func() error { return s.EnableNodeMaintenance("") }, checkID: health.NodeMaintenanceID, wantNotes: DefaultNodeMaintenanceReason},
		{name: "node, enabling twice keeps the first reason", do: func() error { return s.EnableNodeMaintenance("other") }, checkID: health.NodeMaintenanceID, wantNotes: DefaultNodeMaintenanceReason},
		{name: "node, disable", do: s.DisableNodeMaintenance, checkID: health.NodeMaintenanceID},
		{name: "node, disable again", do: s.DisableNodeMaintenance, checkID: health.NodeMaintenanceID},
		{name: "node, reason", do: func() error { return s.EnableNodeMaintenance("reboot") }, checkID: health.NodeMaintenanceID, wantNotes: "reboot"},
		{name: "service, default reason", do: func() error { return s.EnableServiceMaintenance("web", "") }, checkID: "_service_maintenance:web", wantNotes: DefaultServiceMaintenanceReason},
		{name: "service, disable", do: func() error { return s.DisableServiceMaintenance("web") }, checkID: "_service_maintenance:web"},
		{name: "service, reason", do: func() error { return s.EnableServiceMaintenance("web", "deploy") }, checkID: "_service_maintenance:web", wantNotes: "deploy"},
		{name: "unknown service", do: func() error { return s.EnableServiceMaintenance("nope", "") }, wantErr: ErrUnknownService},
		{name: "unknown service, disable", do: func() error { return s.DisableServiceMaintenance("nope") }, wantErr: ErrUnknownService},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := s.Check(tt.checkID)
			if tt.wantNotes == "" {
				if c != nil {
					t.Fatalf("check %q still registered", tt.checkID)
				}
				return
			}
			if c == nil || c.Notes != tt.wantNotes || c.Status != "critical" || c.Type != "" {
				t.Fatalf("check %q = %+v, want critical with notes %q", tt.checkID, c, tt.wantNotes)
			}
		})
	}
	if c := s.Check("_service_maintenance:web"); c.ServiceID != "web" || c.Name != "Service Maintenance Mode" {
		t.Fatalf("service maintenance check = %+v", c)
	}
	if c := s.Check(health.NodeMaintenanceID); c.ServiceID != "" || c.Name != "Node Maintenance Mode" {
		t.Fatalf("node maintenance check = %+v", c)
	}
	if err := s.RemoveService("web"); err != nil {
		t.Fatal(err)
	}
	if s.Check("_service_maintenance:web") != nil {
		t.Fatal("the service's maintenance check outlived it")
	}
}

func TestChangedWakesWatchers(t *testing.T) {
	s := newState(t, testConfig(""), newFakeCatalog(t))
	ch := s.Changed()
	if err := s.AddService(catalog.Service{Service: "web"}, nil, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("Changed not closed by a registration")
	}
}
