package local

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	hv1 "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
	"github.com/beacon-sd/beacon/internal/nettest"
)

// storeAliasSource is a health.AliasSource over a fakeCatalog's store,
// blocking on its watch hub as the agent's own source does.
type storeAliasSource struct{ cat *fakeCatalog }

func (s storeAliasSource) NodeHealth(ctx context.Context, node string, minIndex uint64) (health.NodeHealth, uint64, error) {
	keys := []catalog.WatchKey{catalog.TableWatch(catalog.TableNodes), catalog.TableWatch(catalog.TableServices), catalog.TableWatch(catalog.TableChecks)}
	for {
		w := s.cat.s.Hub().Watch(keys...)
		var nh health.NodeHealth
		var idx uint64
		err := s.cat.s.View(func(tx *catalog.ReadTx) error {
			n, svcs, sidx := tx.NodeServices(node)
			checks, cidx := tx.NodeChecks(node)
			nh.Found, nh.Checks, idx = n != nil, checks, max(sidx, cidx)
			for _, svc := range svcs {
				nh.ServiceIDs = append(nh.ServiceIDs, svc.ID)
			}
			return nil
		})
		if err != nil || minIndex == 0 || idx > minIndex {
			w.Stop()
			return nh, idx, err
		}
		select {
		case <-w.C():
			w.Stop()
		case <-ctx.Done():
			w.Stop()
			return nh, idx, ctx.Err()
		}
	}
}

// nullAliasSource blocks until ctx ends: for registrations that never
// need an answer.
type nullAliasSource struct{}

func (nullAliasSource) NodeHealth(ctx context.Context, _ string, _ uint64) (health.NodeHealth, uint64, error) {
	<-ctx.Done()
	return health.NodeHealth{}, 0, ctx.Err()
}

// TestRegisterCheckKinds: UDP, gRPC, H2PING, script and alias checks are
// accepted or rejected with Consul's messages, and a short interval is
// raised to MinCheckInterval.
func TestRegisterCheckKinds(t *testing.T) {
	def := func(d catalog.CheckDefinition) catalog.Check { return catalog.Check{Name: "c", Definition: d} }
	tests := []struct {
		name         string
		noScripts    bool
		noAlias      bool
		check        catalog.Check
		wantType     string        // accepted with this type
		wantInterval time.Duration // and this interval
		wantMsg      string        // or rejected with a message containing this
	}{
		{name: "udp", check: def(catalog.CheckDefinition{UDP: "127.0.0.1:53", Interval: time.Hour}), wantType: "udp", wantInterval: time.Hour},
		{name: "udp interval raised", check: def(catalog.CheckDefinition{UDP: "127.0.0.1:53", Interval: time.Millisecond}), wantType: "udp", wantInterval: time.Second},
		{name: "udp without interval", check: def(catalog.CheckDefinition{UDP: "127.0.0.1:53"}), wantMsg: "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks"},
		{name: "udp without port", check: def(catalog.CheckDefinition{UDP: "127.0.0.1", Interval: time.Hour}), wantMsg: `Invalid check: UDP must be host:port, got "127.0.0.1"`},
		{name: "grpc", check: def(catalog.CheckDefinition{GRPC: "127.0.0.1:9090", GRPCUseTLS: true, Interval: time.Hour}), wantType: "grpc", wantInterval: time.Hour},
		{name: "grpc service", check: def(catalog.CheckDefinition{GRPC: "localhost:9090/pkg.Svc", Interval: time.Millisecond}), wantType: "grpc", wantInterval: time.Second},
		{name: "grpc without interval", check: def(catalog.CheckDefinition{GRPC: "127.0.0.1:9090"}), wantMsg: "Interval must be > 0"},
		{name: "grpc without port", check: def(catalog.CheckDefinition{GRPC: "localhost/pkg.Svc", Interval: time.Hour}), wantMsg: `Invalid check: GRPC must be host:port or host:port/service, got "localhost/pkg.Svc"`},
		{name: "h2ping", check: def(catalog.CheckDefinition{H2PING: "127.0.0.1:443", Interval: time.Hour}), wantType: "h2ping", wantInterval: time.Hour},
		{name: "h2ping without port", check: def(catalog.CheckDefinition{H2PING: "x", Interval: time.Hour}), wantMsg: `Invalid check: H2PING must be host:port, got "x"`},
		{name: "script", check: def(catalog.CheckDefinition{Args: []string{"/bin/true"}, Interval: time.Millisecond}), wantType: "script", wantInterval: time.Second},
		{name: "script disabled", noScripts: true, check: def(catalog.CheckDefinition{Args: []string{"/bin/true"}, Interval: time.Hour}), wantMsg: "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' to true"},
		{name: "script without interval", check: def(catalog.CheckDefinition{Args: []string{"/bin/true"}}), wantMsg: "Interval must be > 0"},
		{name: "alias of a service", check: def(catalog.CheckDefinition{AliasService: "web"}), wantType: "alias"},
		{name: "alias of a node", check: def(catalog.CheckDefinition{AliasNode: "node2"}), wantType: "alias"},
		{name: "alias ignores interval", check: def(catalog.CheckDefinition{AliasService: "web", Interval: time.Millisecond}), wantType: "alias", wantInterval: time.Millisecond},
		{name: "alias with ttl", check: def(catalog.CheckDefinition{AliasService: "web", TTL: time.Minute}), wantMsg: "Invalid check: TTL must be not be set for Alias checks"},
		{name: "alias with http", check: def(catalog.CheckDefinition{AliasService: "web", HTTP: "http://x/", Interval: time.Second}), wantMsg: "Invalid check: Interval cannot be set for Alias checks"},
		{name: "alias without a source", noAlias: true, check: def(catalog.CheckDefinition{AliasService: "web"}), wantMsg: "Invalid check: alias checks are not available on this agent"},
		{name: "udp and grpc", check: def(catalog.CheckDefinition{UDP: "x:1", GRPC: "x:1", Interval: time.Hour}), wantMsg: "Invalid check: a check has one kind, got udp and grpc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("")
			cfg.MinCheckInterval = time.Second
			cfg.EnableScriptChecks = !tt.noScripts
			if !tt.noAlias {
				cfg.AliasSource = nullAliasSource{}
			}
			s := newState(t, cfg, newFakeCatalog(t))
			err := s.AddCheck(tt.check)
			if tt.wantMsg != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("AddCheck error = %v, want ErrInvalid containing %q", err, tt.wantMsg)
				}
				if len(s.Checks()) != 0 {
					t.Fatal("a rejected check was registered")
				}
				return
			}
			if err != nil {
				t.Fatalf("AddCheck: %v", err)
			}
			c := s.Check("c")
			if c == nil || c.Type != tt.wantType || c.Definition.Interval != tt.wantInterval || c.Status != catalog.HealthCritical {
				t.Fatalf("check = %+v, want type %q, interval %s, critical", c, tt.wantType, tt.wantInterval)
			}
		})
	}
}

// waitCheck waits until check id has status in the local state and in the
// catalog, and returns the local copy.
func waitCheck(t *testing.T, s *State, cat *fakeCatalog, id, status string) *catalog.Check {
	t.Helper()
	var c *catalog.Check
	waitFor(t, id+" "+status+" locally and in the catalog", func() bool {
		c = s.Check(id)
		cc := cat.check("node1", id)
		return c != nil && c.Status == status && cc != nil && cc.Status == status
	})
	return c
}

// TestNewRunnersReachCatalog runs each new kind against a real loopback
// target and sees its status in the local state and in the catalog.
func TestNewRunnersReachCatalog(t *testing.T) {
	udp, _ := nettest.UDPServer(t, true)
	grpcAddr, hs := nettest.GRPCHealth(t)
	hs.SetServingStatus("web", hv1.HealthCheckResponse_SERVING)
	tests := []struct {
		name       string
		def        catalog.CheckDefinition
		wantStatus string
		wantOutput string
	}{
		{name: "udp", def: catalog.CheckDefinition{UDP: udp}, wantStatus: catalog.HealthPassing, wantOutput: "UDP connect " + udp + ": Success"},
		{name: "grpc", def: catalog.CheckDefinition{GRPC: grpcAddr + "/web"}, wantStatus: catalog.HealthPassing, wantOutput: "gRPC check " + grpcAddr + "/web: success"},
		{name: "script warning", def: catalog.CheckDefinition{Args: []string{"sh", "-c", "echo disk 91%; exit 1"}}, wantStatus: catalog.HealthWarning, wantOutput: "disk 91%\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := newFakeCatalog(t)
			cfg := testConfig("")
			cfg.EnableScriptChecks = true
			s := newState(t, cfg, cat)
			s.Start()
			tt.def.Interval = 10 * time.Millisecond
			if err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{{Definition: tt.def}}, false); err != nil {
				t.Fatal(err)
			}
			c := waitCheck(t, s, cat, "service:web", tt.wantStatus)
			if c.Output != tt.wantOutput {
				t.Fatalf("output = %q, want %q", c.Output, tt.wantOutput)
			}
		})
	}
}

// TestGRPCCheckFollowsServer: NOT_SERVING reaches the catalog as
// critical, SERVING again as passing.
func TestGRPCCheckFollowsServer(t *testing.T) {
	addr, hs := nettest.GRPCHealth(t)
	hs.SetServingStatus("", hv1.HealthCheckResponse_SERVING)
	cat := newFakeCatalog(t)
	s := newState(t, testConfig(""), cat)
	s.Start()
	if err := s.AddCheck(catalog.Check{Name: "grpc", Definition: catalog.CheckDefinition{GRPC: addr, Interval: 10 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	waitCheck(t, s, cat, "grpc", catalog.HealthPassing)
	hs.SetServingStatus("", hv1.HealthCheckResponse_NOT_SERVING)
	c := waitCheck(t, s, cat, "grpc", catalog.HealthCritical)
	if want := "gRPC " + addr + " serving status: NOT_SERVING"; c.Output != want {
		t.Fatalf("output = %q, want %q", c.Output, want)
	}
	hs.SetServingStatus("", hv1.HealthCheckResponse_SERVING)
	waitCheck(t, s, cat, "grpc", catalog.HealthPassing)
}

// TestScriptThresholdsApply: a failing script with thresholds goes
// warning before critical in the local state.
func TestScriptThresholdsApply(t *testing.T) {
	cfg := testConfig("")
	cfg.EnableScriptChecks = true
	s := newState(t, cfg, newFakeCatalog(t))
	err := s.AddCheck(catalog.Check{Name: "flaky", Status: catalog.HealthPassing, Definition: catalog.CheckDefinition{
		Args: []string{"sh", "-c", "exit 2"}, Interval: 100 * time.Millisecond, FailuresBeforeWarning: 1, FailuresBeforeCritical: 3,
	}})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	waitFor(t, "warning, then critical", func() bool {
		st := s.Check("flaky").Status
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		return st == catalog.HealthCritical
	})
	if strings.Join(seen, " ") != "passing warning critical" {
		t.Fatalf("statuses = %v, want passing warning critical", seen)
	}
}

// TestAliasCheckFollowsCatalog: an alias of a service on this node (no
// AliasNode) follows that service's TTL check through the catalog.
func TestAliasCheckFollowsCatalog(t *testing.T) {
	cat := newFakeCatalog(t)
	cfg := testConfig("")
	cfg.AliasSource = storeAliasSource{cat}
	s := newState(t, cfg, cat)
	s.Start()
	if err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{ttlCheck(time.Hour)}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.AddService(catalog.Service{Service: "web-proxy"}, []catalog.Check{{Definition: catalog.CheckDefinition{AliasService: "web"}}}, false); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		status     string
		wantStatus string
		wantOutput string
	}{
		{name: "critical at first", status: "", wantStatus: catalog.HealthCritical, wantOutput: `Aliased check "Service 'web' check" failing: `},
		{name: "passing", status: catalog.HealthPassing, wantStatus: catalog.HealthPassing, wantOutput: "All checks passing."},
		{name: "warning", status: catalog.HealthWarning, wantStatus: catalog.HealthWarning, wantOutput: `Aliased check "Service 'web' check" failing: heartbeat warning`},
		{name: "critical", status: catalog.HealthCritical, wantStatus: catalog.HealthCritical, wantOutput: `Aliased check "Service 'web' check" failing: heartbeat critical`},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.status != "" {
				if err := s.UpdateTTL("service:web", st.status, "heartbeat "+st.status); err != nil {
					t.Fatal(err)
				}
			}
			// The check starts critical with no output, and the catalog
			// may lag: wait for the alias's own verdict.
			waitFor(t, st.wantStatus+": "+st.wantOutput, func() bool {
				c := s.Check("service:web-proxy")
				return c.Status == st.wantStatus && c.Output == st.wantOutput
			})
			waitCheck(t, s, cat, "service:web-proxy", st.wantStatus)
		})
	}
	t.Run("aliased service deregistered", func(t *testing.T) {
		if err := s.RemoveService("web"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the alias to say the service is gone", func() bool {
			c := s.Check("service:web-proxy")
			return c.Output == "Service web could not be found on node node1"
		})
	})
}

// TestRestoredCheckNotAllowedAnyMore: a script check persisted while
// scripts were enabled does not run after a restart without them; it is
// critical with the reason.
func TestRestoredCheckNotAllowedAnyMore(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.EnableScriptChecks = true
	s1, err := New(cfg, newFakeCatalog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s1.AddCheck(catalog.Check{Name: "script", Status: catalog.HealthPassing, Definition: catalog.CheckDefinition{Args: []string{"/bin/true"}, Interval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	s1.Close()

	cfg.EnableScriptChecks = false
	s2 := newState(t, cfg, newFakeCatalog(t))
	c := s2.Check("script")
	if c == nil || c.Status != catalog.HealthCritical || !strings.HasPrefix(c.Output, "Scripts are disabled on this agent") {
		t.Fatalf("restored check = %+v, want critical because scripts are disabled", c)
	}
}
