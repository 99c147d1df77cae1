package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/catalog"
)

func TestAgentSelfAndMembers(t *testing.T) {
	at := newAgentTest(t)
	self, err := at.client.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	cfg := self["Config"]
	for k, want := range map[string]any{"Datacenter": "dc1", "NodeName": "node1", "NodeID": "6f3f4c52-0000-4000-8000-000000000001", "Server": true, "Version": "0.1.0", "Revision": "abc123"} {
		if cfg[k] != want {
			t.Errorf("Config[%q] = %v, want %v", k, cfg[k], want)
		}
	}
	if self["Member"]["Name"] != "node1" || self["Meta"]["rack"] != "r1" {
		t.Errorf("Member/Meta = %v / %v", self["Member"], self["Meta"])
	}
	if name, err := at.client.Agent().NodeName(); err != nil || name != "node1" {
		t.Errorf("NodeName = %q, %v", name, err)
	}
	members, err := at.client.Agent().Members(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 2 || members[0].Name != "node1" || members[0].Addr != "10.0.0.1" || members[0].Port != 8301 ||
		members[0].Status != 1 || !members[0].IsConsulServer() || members[1].Status != 4 || members[1].Tags["role"] != "node" {
		t.Fatalf("members = %+v %+v", members[0], members[1])
	}
}

func TestAgentMembershipWrites(t *testing.T) {
	at := newAgentTest(t)
	a := at.client.Agent()
	if err := a.Join("10.0.0.9:8301", false); err != nil {
		t.Fatal(err)
	}
	if err := a.ForceLeave("node2"); err != nil {
		t.Fatal(err)
	}
	if err := a.Leave(); err != nil {
		t.Fatal(err)
	}
	want := []string{"join 10.0.0.9:8301", "force-leave node2", "leave"}
	if got := at.members.recorded(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
	at.members.fail(fmt.Errorf("no route to 10.0.0.9"))
	code, _, body := at.do("PUT", "/v1/agent/join/10.0.0.9", "")
	wantStatus(t, code, body, 500, "no route to 10.0.0.9")
}

func TestAgentMetricsDelegated(t *testing.T) {
	at := newAgentTest(t)
	code, _, body := at.do("GET", "/v1/agent/metrics?format=prometheus", "")
	wantStatus(t, code, body, 200, "metrics format=prometheus")
}

func TestAgentMetricsWithoutHandler(t *testing.T) {
	h := NewAgentHandler(DefaultAgentConfig(), newAgentTest(t).local, nil, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, _ := consul.NewClient(&consul.Config{Address: srv.URL})
	if _, err := c.Agent().Metrics(); err != nil {
		t.Fatalf("Metrics: %v", err)
	}
	if err := c.Agent().Join("x", false); statusErr(err) != 500 {
		t.Fatalf("Join without membership = %v, want a 500", err)
	}
	m, err := c.Agent().Members(false)
	if err != nil || len(m) != 1 {
		t.Fatalf("Members without membership = %v, %v; want this agent", m, err)
	}
}

func TestAgentRouting(t *testing.T) {
	at := newAgentTest(t)
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/agent/nope", 404},
		{"GET", "/v1/agent/check/nope/x", 404},
		{"POST", "/v1/agent/self", 405},
		{"GET", "/v1/agent/leave", 405},
		{"DELETE", "/v1/agent/service/register", 405},
		{"PUT", "/v1/agent/services", 405},
		{"GET", "/v1/agent/check/pass/x", 405},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			if code, _, body := at.do(tt.method, tt.path, ""); code != tt.want {
				t.Fatalf("%s %s = %d %q, want %d", tt.method, tt.path, code, body, tt.want)
			}
		})
	}
}

func TestAgentServiceRegisterShapes(t *testing.T) {
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer probe.Close()
	at := newAgentTest(t)
	a := at.client.Agent()
	reg := &consul.AgentServiceRegistration{
		ID: "web-1", Name: "web", Address: "10.0.0.5", Port: 8080, Meta: map[string]string{"version": "1"},
		Checks: consul.AgentServiceChecks{
			{TTL: "30s", Notes: "heartbeat"},
			{HTTP: probe.URL, Interval: "10s", Timeout: "2s", DeregisterCriticalServiceAfter: "90s", Header: map[string][]string{"X": {"y"}}},
		},
	}
	if err := a.ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	// The handler waited for the sync: the catalog already has it.
	if svc := at.catalogService("web-1"); svc == nil || svc.Port != 8080 {
		t.Fatalf("catalog service after register = %+v", svc)
	}
	svcs, err := a.Services()
	if err != nil {
		t.Fatal(err)
	}
	want := &consul.AgentService{
		ID: "web-1", Service: "web", Tags: []string{}, Meta: map[string]string{"version": "1"}, Port: 8080,
		Address: "10.0.0.5", Weights: consul.AgentWeights{Passing: 1, Warning: 1}, Datacenter: "dc1",
	}
	if got := svcs["web-1"]; !reflect.DeepEqual(got, want) || len(svcs) != 1 {
		t.Fatalf("Services()[web-1] =\n %+v\nwant\n %+v", got, want)
	}
	one, _, err := a.Service("web-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if one.ContentHash == "" || one.ID != "web-1" {
		t.Fatalf("Service(web-1) = %+v, want a content hash", one)
	}
	checks, err := a.Checks()
	if err != nil {
		t.Fatal(err)
	}
	ttl, http1 := checks["service:web-1:1"], checks["service:web-1:2"]
	if ttl == nil || http1 == nil || len(checks) != 2 {
		t.Fatalf("checks = %v", checks)
	}
	if ttl.Name != "Service 'web' check" || ttl.Status != "critical" || ttl.Notes != "heartbeat" || ttl.Type != "ttl" ||
		ttl.ServiceID != "web-1" || ttl.ServiceName != "web" || ttl.Node != "node1" {
		t.Fatalf("TTL check = %+v", ttl)
	}
	d := http1.Definition
	if http1.Type != "http" || d.HTTP != probe.URL || d.IntervalDuration != 10*time.Second || d.TimeoutDuration != 2*time.Second ||
		d.DeregisterCriticalServiceAfterDuration != 90*time.Second || d.Header["X"][0] != "y" {
		t.Fatalf("HTTP check = %+v", http1)
	}
}

func TestAgentServiceRegisterSnakeCase(t *testing.T) {
	at := newAgentTest(t)
	body := `{"name":"web","id":"w1","port":80,"enable_tag_override":true,"meta":{"a_b":"c"},
	  "weights":{"passing":3,"warning":2},
	  "check":{"ttl":"10s","deregister_critical_service_after":"30s","status":"passing","check_id":"hb"},
	  "checks":[{"tcp":"127.0.0.1:1","interval":"1h","timeout":"1s","success_before_passing":2,"failures_before_critical":3,"failures_before_warning":1},
	            {"http":"https://127.0.0.1:1/","interval":"1h","tls_skip_verify":true,"method":"HEAD"}]}`
	code, _, resp := at.do("PUT", "/v1/agent/service/register", body)
	wantStatus(t, code, resp, 200, "")
	svc := at.local.Service("w1")
	if svc == nil || !svc.EnableTagOverride || svc.Meta["a_b"] != "c" || svc.Weights != (catalog.Weights{Passing: 3, Warning: 2}) {
		t.Fatalf("service = %+v", svc)
	}
	hb := at.local.Check("hb")
	if hb == nil || hb.Status != "passing" || hb.Definition.TTL != 10*time.Second || hb.Definition.DeregisterCriticalServiceAfter != time.Minute {
		t.Fatalf("TTL check = %+v (DeregisterCriticalServiceAfter is raised to 1m)", hb)
	}
	tcp := at.local.Check("service:w1:2").Definition
	if tcp.TCP != "127.0.0.1:1" || tcp.SuccessBeforePassing != 2 || tcp.FailuresBeforeCritical != 3 || tcp.FailuresBeforeWarning != 1 {
		t.Fatalf("TCP check = %+v", tcp)
	}
	h := at.local.Check("service:w1:3").Definition
	if !h.TLSSkipVerify || h.Method != "HEAD" {
		t.Fatalf("HTTP check = %+v", h)
	}
}

func TestAgentServiceRegisterRejects(t *testing.T) {
	at := newAgentTest(t)
	meta := make([]string, 65)
	for i := range meta {
		meta[i] = fmt.Sprintf(`"k%d":"v"`, i)
	}
	tests := []struct {
		name string
		body string
		code int
		msg  string // exact, or prefix when it ends with "…"
	}{
		{"no name", `{"ID":"x"}`, 400, "Missing service name"},
		{"any address", `{"Name":"web","Address":"0.0.0.0"}`, 400, "Invalid service address"},
		{"any IPv6 address", `{"Name":"web","Address":"::"}`, 400, "Invalid service address"},
		{"bad meta key", `{"Name":"web","Meta":{"a b":"c"}}`, 400, `Invalid Service Meta: Key contains invalid characters: "a b"`},
		{"too much meta", `{"Name":"web","Meta":{` + strings.Join(meta, ",") + `}}`, 400, "Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs"},
		{"long meta value", `{"Name":"web","Meta":{"k":"` + strings.Repeat("v", 513) + `"}}`, 400, "Invalid Service Meta: Value is too long (limit: 512 characters)"},
		{"zero passing weight", `{"Name":"web","Weights":{"Passing":0,"Warning":1}}`, 400, "Invalid Weights: Passing must be greater than 0"},
		{"udp check without port", `{"Name":"web","Check":{"UDP":"x","Interval":"10s"}}`, 400, `Invalid check: UDP must be host:port, got "x"`},
		{"grpc check without port", `{"Name":"web","Checks":[{"GRPC":"x/svc","Interval":"10s"}]}`, 400, `Invalid check: GRPC must be host:port or host:port/service, got "x/svc"`},
		{"alias check with TTL", `{"Name":"web","Check":{"AliasService":"db","TTL":"10s"}}`, 400, "Invalid check: TTL must be not be set for Alias checks"},
		{"docker check", `{"Name":"web","Check":{"DockerContainerID":"abc","ScriptArgs":["x"],"Interval":"10s"}}`, 400, "check type docker is not supported yet"},
		{"script check", `{"Name":"web","Check":{"script_args":["/bin/true"],"Interval":"10s"}}`, 400, "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' to true"},
		{"bad status", `{"Name":"web","Check":{"TTL":"10s","Status":"fine"}}`, 400, "Status for checks must 'passing', 'warning', 'critical'"},
		{"http without interval", `{"Name":"web","Check":{"HTTP":"http://x/"}}`, 400, "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks"},
		{"bad duration", `{"Name":"web","Check":{"TTL":"soon"}}`, 400, `Request decode failed: invalid duration "soon"`},
		{"bad JSON", `{"Name":`, 400, "Request decode failed: …"},
		{"connect proxy", `{"Name":"web","Kind":"connect-proxy"}`, 400, `Service kind "connect-proxy" is not supported yet`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := at.do("PUT", "/v1/agent/service/register", tt.body)
			body = strings.TrimSuffix(body, "\n")
			if prefix, ok := strings.CutSuffix(tt.msg, "…"); ok {
				if code != tt.code || !strings.HasPrefix(body, prefix) {
					t.Fatalf("got %d %q, want %d %q…", code, body, tt.code, prefix)
				}
				return
			}
			wantStatus(t, code, body, tt.code, tt.msg)
		})
	}
	if n := len(at.local.Services()); n != 0 {
		t.Fatalf("%d services registered by rejected requests", n)
	}
}

func TestAgentReplaceExistingChecks(t *testing.T) {
	at := newAgentTest(t)
	a := at.client.Agent()
	reg := &consul.AgentServiceRegistration{Name: "web", Checks: consul.AgentServiceChecks{
		{CheckID: "a", TTL: "1m"}, {CheckID: "b", TTL: "1m"},
	}}
	if err := a.ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	reg.Checks = reg.Checks[:1]
	if err := a.ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	if checks, _ := a.Checks(); len(checks) != 2 {
		t.Fatalf("without the flag: %d checks, want 2", len(checks))
	}
	if err := a.ServiceRegisterOpts(reg, consul.ServiceRegisterOpts{ReplaceExistingChecks: true}); err != nil {
		t.Fatal(err)
	}
	checks, _ := a.Checks()
	if len(checks) != 1 || checks["a"] == nil {
		t.Fatalf("with replace-existing-checks: %v, want only a", checks)
	}
	if at.catalogCheck("b") != nil {
		t.Fatal("the replaced check is still in the catalog")
	}
}

func TestAgentServiceDeregister(t *testing.T) {
	at := newAgentTest(t)
	a := at.client.Agent()
	if err := a.ServiceRegister(&consul.AgentServiceRegistration{Name: "web", Check: &consul.AgentServiceCheck{TTL: "1m"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.ServiceDeregister("web"); err != nil {
		t.Fatal(err)
	}
	if checks, _ := a.Checks(); len(checks) != 0 {
		t.Fatalf("checks after deregistration: %v", checks)
	}
	if at.catalogService("web") != nil {
		t.Fatal("the service is still in the catalog")
	}
	code, _, body := at.do("PUT", "/v1/agent/service/deregister/web", "")
	wantStatus(t, code, body, 404, `Unknown service ID "web". Ensure that the service ID is passed, not the service name.`)
	code, _, body = at.do("GET", "/v1/agent/service/web", "")
	wantStatus(t, code, body, 404, "unknown service ID: web")
}

func TestAgentTTLUpdates(t *testing.T) {
	at := newAgentTest(t)
	a := at.client.Agent()
	if err := a.CheckRegister(&consul.AgentCheckRegistration{Name: "hb", AgentServiceCheck: consul.AgentServiceCheck{TTL: "1m"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.CheckRegister(&consul.AgentCheckRegistration{ID: "port", Name: "port", AgentServiceCheck: consul.AgentServiceCheck{TCP: "127.0.0.1:1", Interval: "1h"}}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		do         func() error
		wantStatus string
		wantOutput string
	}{
		{"pass", func() error { return a.PassTTL("hb", "all good") }, "passing", "all good"},
		{"warn", func() error { return a.WarnTTL("hb", "slow") }, "warning", "slow"},
		{"fail", func() error { return a.FailTTL("hb", "") }, "critical", ""},
		{"update", func() error { return a.UpdateTTL("hb", "back", consul.HealthPassing) }, "passing", "back"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			checks, _ := a.Checks()
			if c := checks["hb"]; c.Status != st.wantStatus || c.Output != st.wantOutput {
				t.Fatalf("check = %s %q, want %s %q", c.Status, c.Output, st.wantStatus, st.wantOutput)
			}
			if c := at.catalogCheck("hb"); c.Status != st.wantStatus {
				t.Fatalf("catalog check status = %s, want %s", c.Status, st.wantStatus)
			}
		})
	}
	errs := []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"unknown check", "PUT", "/v1/agent/check/pass/nope", "", 404, `Unknown check ID "nope". Ensure that the check ID is passed, not the check name.`},
		{"unknown check update", "PUT", "/v1/agent/check/update/nope", `{"Status":"passing"}`, 404, `Unknown check ID "nope". Ensure that the check ID is passed, not the check name.`},
		{"not a TTL check", "PUT", "/v1/agent/check/fail/port", "", 500, `CheckID "port" does not have associated TTL`},
		{"bad status", "PUT", "/v1/agent/check/update/hb", `{"Status":"fine","Output":"x"}`, 400, "Invalid check status: 'fine'"},
		{"empty status", "PUT", "/v1/agent/check/update/hb", `{"Output":"x"}`, 400, "Invalid check status: ''"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := at.do(tt.method, tt.path, tt.body)
			wantStatus(t, code, body, tt.code, tt.msg)
		})
	}
}

func TestAgentCheckRegisterDeregister(t *testing.T) {
	at := newAgentTest(t)
	a := at.client.Agent()
	if err := a.ServiceRegister(&consul.AgentServiceRegistration{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if err := a.CheckRegister(&consul.AgentCheckRegistration{Name: "web-extra", ServiceID: "web", AgentServiceCheck: consul.AgentServiceCheck{TTL: "1m", Status: "passing"}}); err != nil {
		t.Fatal(err)
	}
	checks, _ := a.Checks()
	if c := checks["web-extra"]; c == nil || c.ServiceName != "web" || c.Status != "passing" {
		t.Fatalf("check = %+v", c)
	}
	tests := []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"unknown service", "PUT", "/v1/agent/check/register", `{"Name":"x","ServiceID":"nope","TTL":"1m"}`, 404, `ServiceID "nope" does not exist`},
		{"no name", "PUT", "/v1/agent/check/register", `{"TTL":"1m"}`, 400, "Missing check name"},
		{"bad status", "PUT", "/v1/agent/check/register", `{"Name":"x","TTL":"1m","Status":"ok"}`, 400, "Bad check status"},
		{"no kind", "PUT", "/v1/agent/check/register", `{"Name":"x"}`, 400, "Invalid check: TTL must be > 0 for TTL checks"},
		{"h2ping cleartext", "PUT", "/v1/agent/check/register", `{"Name":"x","H2PING":"x:1","Interval":"10s","H2PingUseTLS":false}`, 400, "Invalid check: H2PingUseTLS false (cleartext HTTP/2) is not supported yet"},
		{"deregister", "PUT", "/v1/agent/check/deregister/web-extra", "", 200, ""},
		{"deregister again", "PUT", "/v1/agent/check/deregister/web-extra", "", 404, `Unknown check ID "web-extra". Ensure that the check ID is passed, not the check name.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := at.do(tt.method, tt.path, tt.body)
			wantStatus(t, code, body, tt.code, tt.msg)
		})
	}
}

func TestAgentMaintenance(t *testing.T) {
	at := newAgentTest(t)
	a := at.client.Agent()
	if err := a.ServiceRegister(&consul.AgentServiceRegistration{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if err := a.EnableServiceMaintenance("web", "deploying"); err != nil {
		t.Fatal(err)
	}
	if err := a.EnableNodeMaintenance(""); err != nil {
		t.Fatal(err)
	}
	checks, _ := a.Checks()
	sm, nm := checks["_service_maintenance:web"], checks["_node_maintenance"]
	if sm == nil || sm.Status != "critical" || sm.Notes != "deploying" || sm.ServiceID != "web" {
		t.Fatalf("service maintenance check = %+v", sm)
	}
	if nm == nil || nm.Notes != "Maintenance mode is enabled for this node, but no reason was provided. This is a default message." {
		t.Fatalf("node maintenance check = %+v", nm)
	}
	if at.catalogCheck("_node_maintenance") == nil {
		t.Fatal("node maintenance not in the catalog")
	}
	if err := a.DisableServiceMaintenance("web"); err != nil {
		t.Fatal(err)
	}
	if err := a.DisableNodeMaintenance(); err != nil {
		t.Fatal(err)
	}
	if checks, _ := a.Checks(); len(checks) != 0 {
		t.Fatalf("checks after disabling: %v", checks)
	}
	tests := []struct {
		name, path string
		code       int
		msg        string
	}{
		{"unknown service", "/v1/agent/service/maintenance/nope?enable=true", 404, `No service registered with ID "nope"`},
		{"no enable", "/v1/agent/service/maintenance/web", 400, "Missing value for enable"},
		{"bad enable", "/v1/agent/service/maintenance/web?enable=maybe", 400, `Invalid value for enable: "maybe"`},
		{"no service ID", "/v1/agent/service/maintenance/?enable=true", 400, "Missing service ID"},
		{"node, no enable", "/v1/agent/maintenance", 400, "Missing value for enable"},
		{"node, bad enable", "/v1/agent/maintenance?enable=2", 400, `Invalid value for enable: "2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := at.do("PUT", tt.path, "")
			wantStatus(t, code, body, tt.code, tt.msg)
		})
	}
}

func TestAgentHealthService(t *testing.T) {
	at := newAgentTest(t)
	a := at.client.Agent()
	for _, id := range []string{"web-1", "web-2"} {
		if err := a.ServiceRegister(&consul.AgentServiceRegistration{ID: id, Name: "web", Check: &consul.AgentServiceCheck{TTL: "1m", Status: "passing"}}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name       string
		do         func() error
		wantID     string // aggregated status of web-1
		wantName   string // worst of both
		wantIDCode int
	}{
		{"all passing", func() error { return nil }, "passing", "passing", 200},
		{"web-2 warning", func() error { return a.WarnTTL("service:web-2", "") }, "passing", "warning", 200},
		{"web-1 critical", func() error { return a.FailTTL("service:web-1", "") }, "critical", "critical", 503},
		{"node maintenance", func() error {
			if err := a.PassTTL("service:web-1", ""); err != nil {
				return err
			}
			return a.EnableNodeMaintenance("")
		}, "maintenance", "maintenance", 503},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			status, info, err := a.AgentHealthServiceByID("web-1")
			if err != nil {
				t.Fatal(err)
			}
			if info.AggregatedStatus != st.wantID || info.Service.ID != "web-1" || len(info.Checks) == 0 {
				t.Fatalf("by ID: %s %+v, want %s", status, info, st.wantID)
			}
			_, infos, err := a.AgentHealthServiceByName("web")
			if err != nil {
				t.Fatal(err)
			}
			if len(infos) != 2 {
				t.Fatalf("by name: %d instances", len(infos))
			}
			code, _, body := at.do("GET", "/v1/agent/health/service/id/web-1?format=text", "")
			if code != st.wantIDCode || body != st.wantID {
				t.Fatalf("by ID, text: %d %q, want %d %q", code, body, st.wantIDCode, st.wantID)
			}
			_, _, body = at.do("GET", "/v1/agent/health/service/name/web?format=text", "")
			if body != st.wantName {
				t.Fatalf("by name, text: %q, want %q", body, st.wantName)
			}
		})
	}
	if s, info, err := a.AgentHealthServiceByID("nope"); err != nil || s != "critical" || info != nil {
		t.Fatalf("unknown ID: %q %+v %v", s, info, err)
	}
	if s, infos, err := a.AgentHealthServiceByName("nope"); err != nil || s != "critical" || len(infos) != 0 {
		t.Fatalf("unknown name: %q %+v %v", s, infos, err)
	}
	code, _, body := at.do("GET", "/v1/agent/health/service/id/nope?format=text", "")
	wantStatus(t, code, body, 404, "ServiceId nope not found")
	code, _, body = at.do("GET", "/v1/agent/health/service/name/nope?format=text", "")
	wantStatus(t, code, body, 404, "ServiceName nope Not Found")
	code, _, body = at.do("GET", "/v1/agent/health/service/id/nope", "")
	wantStatus(t, code, body, 404, `{"AggregatedStatus":"critical","Service":null,"Checks":null}`)
}

func TestAgentServiceHashBlocking(t *testing.T) {
	at := newAgentTest(t)
	a := at.client.Agent()
	if err := a.ServiceRegister(&consul.AgentServiceRegistration{Name: "web", Port: 80}); err != nil {
		t.Fatal(err)
	}
	svc, _, err := a.Service("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Unchanged: the query times out with the same hash.
	start := time.Now()
	again, _, err := a.Service("web", &consul.QueryOptions{WaitHash: svc.ContentHash, WaitTime: 50 * time.Millisecond})
	if err != nil || again.ContentHash != svc.ContentHash || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("blocking on an unchanged service: %+v %v after %s", again, err, time.Since(start))
	}
	// A change wakes it.
	done := make(chan *consul.AgentService, 1)
	go func() {
		s, _, _ := a.Service("web", &consul.QueryOptions{WaitHash: svc.ContentHash, WaitTime: time.Minute})
		done <- s
	}()
	time.Sleep(20 * time.Millisecond) // let the query block; the result is checked either way
	if err := a.ServiceRegister(&consul.AgentServiceRegistration{Name: "web", Port: 81}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-done:
		if s == nil || s.Port != 81 || s.ContentHash == svc.ContentHash {
			t.Fatalf("woken with %+v", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocking query was not woken by the change")
	}
}
