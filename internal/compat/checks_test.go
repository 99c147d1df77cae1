package compat

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	hv1 "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/beacon-sd/beacon/agent"
	"github.com/beacon-sd/beacon/configs"
	"github.com/beacon-sd/beacon/internal/agenttest"
	"github.com/beacon-sd/beacon/internal/nettest"
)

// waitCheck waits until the agent reports check id with status and an
// output for which output returns true.
func waitCheck(t *testing.T, c *api.Client, id, status string, output func(string) bool) *api.AgentCheck {
	t.Helper()
	var got *api.AgentCheck
	agenttest.Eventually(t, 15*time.Second, func() error {
		checks, err := c.Agent().Checks()
		if err != nil {
			return err
		}
		got = checks[id]
		if got == nil || got.Status != status || !output(got.Output) {
			return fmt.Errorf("check %s = %+v, want %s", id, got, status)
		}
		return nil
	})
	return got
}

func is(want string) func(string) bool { return func(s string) bool { return s == want } }

// waitHealth waits until the catalog's checks of service name have status.
func waitHealth(t *testing.T, c *api.Client, name, status string) {
	t.Helper()
	agenttest.Eventually(t, 15*time.Second, func() error {
		checks, _, err := c.Health().Checks(name, nil)
		if err != nil {
			return err
		}
		if len(checks) == 0 || checks.AggregatedStatus() != status {
			return fmt.Errorf("catalog checks of %s = %+v, want %s", name, checks, status)
		}
		return nil
	})
}

// TestChecksGRPCAndAlias registers a gRPC check and an alias of it with
// consul/api and toggles the gRPC server between SERVING and NOT_SERVING.
func TestChecksGRPCAndAlias(t *testing.T) {
	t.Parallel()
	c := client(t, agenttest.Dev(t))
	waitRegistered(t, c, "dev")
	addr, hs := nettest.GRPCHealth(t)
	hs.SetServingStatus("web", hv1.HealthCheckResponse_SERVING)
	ag := c.Agent()
	if err := ag.ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 8080,
		Check: &api.AgentServiceCheck{GRPC: addr + "/web", Interval: "1s", Timeout: "2s"}}); err != nil {
		t.Fatal(err)
	}
	if err := ag.ServiceRegister(&api.AgentServiceRegistration{Name: "web-sidecar", Port: 9090,
		Check: &api.AgentServiceCheck{AliasService: "web"}}); err != nil {
		t.Fatal(err)
	}
	grpcOK := "gRPC check " + addr + "/web: success"
	grpcDown := "gRPC " + addr + "/web serving status: NOT_SERVING"
	steps := []struct {
		name        string
		status      hv1.HealthCheckResponse_ServingStatus
		want        string
		grpcOutput  string
		aliasOutput string
	}{
		{"serving", hv1.HealthCheckResponse_SERVING, api.HealthPassing, grpcOK, "All checks passing."},
		{"not serving", hv1.HealthCheckResponse_NOT_SERVING, api.HealthCritical, grpcDown, `Aliased check "Service 'web' check" failing: ` + grpcDown},
		{"serving again", hv1.HealthCheckResponse_SERVING, api.HealthPassing, grpcOK, "All checks passing."},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			hs.SetServingStatus("web", st.status)
			g := waitCheck(t, c, "service:web", st.want, is(st.grpcOutput))
			a := waitCheck(t, c, "service:web-sidecar", st.want, is(st.aliasOutput))
			if g.Type != "grpc" || a.Type != "alias" {
				t.Fatalf("types = %q, %q; want grpc, alias", g.Type, a.Type)
			}
			waitHealth(t, c, "web", st.want)
			waitHealth(t, c, "web-sidecar", st.want)
		})
	}
	t.Run("passing filter follows the alias", func(t *testing.T) {
		hs.SetServingStatus("web", hv1.HealthCheckResponse_NOT_SERVING)
		waitHealth(t, c, "web-sidecar", api.HealthCritical)
		entries, _, err := c.Health().Service("web-sidecar", "", true, nil)
		if err != nil || len(entries) != 0 {
			t.Fatalf("passing web-sidecar instances = %+v, %v; want none", entries, err)
		}
	})
	t.Run("alias of a missing service", func(t *testing.T) {
		if err := ag.CheckRegister(&api.AgentCheckRegistration{Name: "ghost", AgentServiceCheck: api.AgentServiceCheck{AliasService: "nope"}}); err != nil {
			t.Fatal(err)
		}
		waitCheck(t, c, "ghost", api.HealthCritical, is("Service nope could not be found on node dev"))
	})
	t.Run("alias of a node", func(t *testing.T) {
		if err := ag.CheckRegister(&api.AgentCheckRegistration{Name: "dev-node", AgentServiceCheck: api.AgentServiceCheck{AliasNode: "dev"}}); err != nil {
			t.Fatal(err)
		}
		// The dev node's own checks: serfHealth passing and the critical
		// ghost alias above; this check leaves itself out.
		waitCheck(t, c, "dev-node", api.HealthCritical, is(`Aliased check "ghost" failing: Service nope could not be found on node dev`))
		if err := ag.CheckDeregister("ghost"); err != nil {
			t.Fatal(err)
		}
		waitCheck(t, c, "dev-node", api.HealthPassing, is("All checks passing."))
	})
}

// TestChecksH2PingOverTLS: an H2PING check registered with consul/api
// (which leaves H2PingUseTLS out: true by default) pings over TLS.
func TestChecksH2PingOverTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	c := client(t, agenttest.Dev(t))
	err := c.Agent().CheckRegister(&api.AgentCheckRegistration{Name: "h2", AgentServiceCheck: api.AgentServiceCheck{
		H2PING: srv.Listener.Addr().String(), TLSSkipVerify: true, Interval: "1s",
	}})
	if err != nil {
		t.Fatal(err)
	}
	chk := waitCheck(t, c, "h2", api.HealthPassing, is("HTTP2 ping was successful"))
	if chk.Type != "h2ping" {
		t.Fatalf("type = %q, want h2ping", chk.Type)
	}
}

// TestChecksFromConfigFile: script and alias checks defined in a config
// file run like registered ones; a script check without
// enable_script_checks stops the agent from starting.
func TestChecksFromConfigFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "checks.hcl")
	err := os.WriteFile(file, []byte(`
service {
  name = "db"
  check {
    id       = "db-script"
    name     = "db script"
    args     = ["sh", "-c", "echo db is fine"]
    interval = "1s"
  }
}
check {
  id            = "db-alias"
  name          = "db alias"
  alias_service = "db"
}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, agenttest.Dev(t, "-enable-script-checks", "-config-file", file))
	s := waitCheck(t, c, "db-script", api.HealthPassing, is("db is fine\n"))
	if s.Type != "script" || s.ServiceID != "db" {
		t.Fatalf("script check = %+v", s)
	}
	waitCheck(t, c, "db-alias", api.HealthPassing, is("All checks passing."))

	t.Run("scripts disabled", func(t *testing.T) {
		cfg, err := configs.Load([]string{"-dev", "-node", "noscripts", "-http-port", "0", "-server-port", "0", "-dns-port", "-1", "-config-file", file}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(cfg, nil)
		if err == nil {
			agenttest.Stop(a)
			t.Fatal("the agent started with a script check and scripts disabled")
		}
		if want := "Scripts are disabled on this agent"; !strings.Contains(err.Error(), want) {
			t.Fatalf("error = %v, want it to contain %q", err, want)
		}
	})
}

// TestChecksAliasOnClientAgent: a client agent's alias check follows a
// service on another node through a server (blocking reads over the
// server port).
func TestChecksAliasOnClientAgent(t *testing.T) {
	t.Parallel()
	servers := agenttest.Cluster(t, 1)
	sc := client(t, servers[0])
	waitRegistered(t, sc, "s1")
	if err := sc.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "api", Check: &api.AgentServiceCheck{TTL: "1m"}}); err != nil {
		t.Fatal(err)
	}
	cc := client(t, agenttest.Client(t, "c1", servers...))
	err := cc.Agent().CheckRegister(&api.AgentCheckRegistration{Name: "api on s1", AgentServiceCheck: api.AgentServiceCheck{AliasNode: "s1", AliasService: "api"}})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		update func() error
		want   string
		output func(string) bool
	}{
		{"passing", func() error { return sc.Agent().PassTTL("service:api", "ok") }, api.HealthPassing, is("All checks passing.")},
		{"failing", func() error { return sc.Agent().FailTTL("service:api", "oom") }, api.HealthCritical,
			func(s string) bool { return strings.HasSuffix(s, "failing: oom") }},
		{"deregistered", func() error { return sc.Agent().ServiceDeregister("api") }, api.HealthCritical, is("Service api could not be found on node s1")},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.update(); err != nil {
				t.Fatal(err)
			}
			waitCheck(t, cc, "api on s1", st.want, st.output)
		})
	}
}
