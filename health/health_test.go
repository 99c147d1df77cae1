package health

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/nettest"
)

type report struct{ checkID, status, output string }

// recorder collects reports; tests poll it with a deadline.
type recorder struct {
	mu      sync.Mutex
	reports []report
}

func (r *recorder) notify(checkID, status, output string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, report{checkID, status, output})
}

func (r *recorder) all() []report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]report(nil), r.reports...)
}

// stopWithin calls c.Stop and fails unless it returns within d.
func stopWithin(t *testing.T, c interface{ Stop() }, d time.Duration, failure string) {
	t.Helper()
	stopped := make(chan struct{})
	go func() {
		c.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(d):
		t.Fatal(failure)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitReport waits for the first report and returns it.
func (r *recorder) waitReport(t *testing.T) report {
	t.Helper()
	waitFor(t, "a report", func() bool { return len(r.all()) > 0 })
	return r.all()[0]
}

func TestTTLExpires(t *testing.T) {
	rec := &recorder{}
	c := &TTL{CheckID: "t", TTL: 20 * time.Millisecond, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	got := rec.waitReport(t)
	want := report{"t", catalog.HealthCritical, TTLExpiredOutput}
	if got != want {
		t.Fatalf("report = %+v, want %+v", got, want)
	}
	if !c.Expired() {
		t.Fatal("Expired() = false after the report")
	}
}

func TestTTLExtendKeepsItAlive(t *testing.T) {
	rec := &recorder{}
	c := &TTL{CheckID: "t", TTL: 300 * time.Millisecond, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	start := time.Now()
	for time.Since(start) < 600*time.Millisecond {
		exp := c.Extend()
		if !exp.After(time.Now()) {
			t.Fatalf("Extend returned a past expiry %v", exp)
		}
		time.Sleep(10 * time.Millisecond) // drives the heartbeats; not a wait for a condition
	}
	if r := rec.all(); len(r) != 0 {
		t.Fatalf("reports while extended: %+v", r)
	}
	// Left alone, it expires.
	rec.waitReport(t)
}

func TestTTLStartUntil(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Duration // relative to now
	}{
		{name: "already expired", expires: -time.Second},
		{name: "expires soon", expires: 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := &TTL{CheckID: "t", TTL: time.Hour, Notify: rec.notify}
			c.StartUntil(time.Now().Add(tt.expires))
			defer c.Stop()
			if got := rec.waitReport(t); got.status != catalog.HealthCritical {
				t.Fatalf("status = %q, want critical", got.status)
			}
		})
	}
}

func TestTTLStopReportsNothing(t *testing.T) {
	rec := &recorder{}
	c := &TTL{CheckID: "t", TTL: 20 * time.Millisecond, Notify: rec.notify}
	c.Start()
	c.Stop()
	c.Extend() // a stopped TTL stays disarmed
	time.Sleep(60 * time.Millisecond)
	if r := rec.all(); len(r) != 0 {
		t.Fatalf("reports after Stop: %+v", r)
	}
}

func TestHTTPStatuses(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		body       string
		hang       bool
		wantStatus string
		wantOutput string // substring
	}{
		{name: "200 passing", code: 200, body: "ok", wantStatus: catalog.HealthPassing, wantOutput: ": 200 OK Output: ok"},
		{name: "204 passing", code: 204, wantStatus: catalog.HealthPassing, wantOutput: "204 No Content"},
		{name: "429 warning", code: 429, body: "slow down", wantStatus: catalog.HealthWarning, wantOutput: "429 Too Many Requests Output: slow down"},
		{name: "500 critical", code: 500, body: "boom", wantStatus: catalog.HealthCritical, wantOutput: "500 Internal Server Error Output: boom"},
		{name: "404 critical", code: 404, wantStatus: catalog.HealthCritical, wantOutput: "404 Not Found"},
		{name: "timeout critical", hang: true, wantStatus: catalog.HealthCritical, wantOutput: "Client.Timeout exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.hang {
					<-r.Context().Done()
					return
				}
				w.WriteHeader(tt.code)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			rec := &recorder{}
			c := &HTTP{CheckID: "h", URL: srv.URL + "/health", Interval: 10 * time.Millisecond, Timeout: 100 * time.Millisecond, Notify: rec.notify}
			c.Start()
			defer c.Stop()
			got := rec.waitReport(t)
			if got.checkID != "h" || got.status != tt.wantStatus || !strings.Contains(got.output, tt.wantOutput) {
				t.Fatalf("report = %+v, want status %q and output containing %q", got, tt.wantStatus, tt.wantOutput)
			}
			if !tt.hang && !strings.HasPrefix(got.output, "HTTP GET "+srv.URL+"/health: ") {
				t.Fatalf("output %q does not start with the request line", got.output)
			}
		})
	}
}

func TestHTTPRequestShape(t *testing.T) {
	type seen struct{ method, host, header, body, ua string }
	got := make(chan seen, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		select {
		case got <- seen{r.Method, r.Host, r.Header.Get("X-Probe"), string(b[:n]), r.UserAgent()}:
		default:
		}
	}))
	defer srv.Close()
	rec := &recorder{}
	c := &HTTP{
		CheckID: "h", URL: srv.URL, Method: "POST", Body: `{"ping":1}`,
		Header:   map[string][]string{"X-Probe": {"yes"}, "Host": {"svc.example"}},
		Interval: 10 * time.Millisecond, Notify: rec.notify,
	}
	c.Start()
	defer c.Stop()
	select {
	case s := <-got:
		want := seen{"POST", "svc.example", "yes", `{"ping":1}`, "Consul Health Check"}
		if s != want {
			t.Fatalf("request = %+v, want %+v", s, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no probe arrived")
	}
}

func TestHTTPOutputTruncated(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("é", 10_000))
	}))
	defer srv.Close()
	rec := &recorder{}
	c := &HTTP{CheckID: "h", URL: srv.URL, Interval: 10 * time.Millisecond, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	got := rec.waitReport(t)
	if len(got.output) > catalog.MaxCheckOutput || len(got.output) < catalog.MaxCheckOutput-8 {
		t.Fatalf("output is %d bytes, want just under %d", len(got.output), catalog.MaxCheckOutput)
	}
	if !strings.HasSuffix(got.output, "é") {
		t.Fatalf("output cut inside a rune: ...%q", got.output[len(got.output)-4:])
	}
}

// TestHTTPReportsOnlyChanges: a check that stays passing with the same
// output reports once, however often it runs; a change is reported.
func TestHTTPReportsOnlyChanges(t *testing.T) {
	var hits atomic.Int64
	var code atomic.Int64
	code.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(int(code.Load()))
	}))
	defer srv.Close()
	rec := &recorder{}
	c := &HTTP{CheckID: "h", URL: srv.URL, Interval: 5 * time.Millisecond, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	waitFor(t, "5 probes", func() bool { return hits.Load() >= 5 })
	if r := rec.all(); len(r) != 1 || r[0].status != catalog.HealthPassing {
		t.Fatalf("reports after 5 identical probes = %+v, want one passing", r)
	}
	code.Store(500)
	waitFor(t, "the critical report", func() bool { return len(rec.all()) == 2 })
	if r := rec.all()[1]; r.status != catalog.HealthCritical {
		t.Fatalf("second report = %+v, want critical", r)
	}
}

func TestHTTPStopEndsProbing(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := &HTTP{CheckID: "h", URL: srv.URL, Interval: 5 * time.Millisecond, Notify: (&recorder{}).notify}
	c.Start()
	waitFor(t, "a probe", func() bool { return hits.Load() >= 1 })
	c.Stop()
	c.Stop() // idempotent
	n := hits.Load()
	time.Sleep(30 * time.Millisecond)
	if hits.Load() != n {
		t.Fatalf("probes continued after Stop: %d → %d", n, hits.Load())
	}
}

func TestTCP(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			conn, err := up.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	downAddr := nettest.RefusingAddr(t)

	tests := []struct {
		name       string
		addr       string
		wantStatus string
		wantOutput string
	}{
		{name: "up", addr: up.Addr().String(), wantStatus: catalog.HealthPassing, wantOutput: "TCP connect " + up.Addr().String() + ": Success"},
		{name: "down", addr: downAddr, wantStatus: catalog.HealthCritical, wantOutput: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := &TCP{CheckID: "c", Address: tt.addr, Interval: 10 * time.Millisecond, Timeout: time.Second, Notify: rec.notify}
			c.Start()
			defer c.Stop()
			got := rec.waitReport(t)
			if got.status != tt.wantStatus || !strings.Contains(got.output, tt.wantOutput) {
				t.Fatalf("report = %+v, want %q containing %q", got, tt.wantStatus, tt.wantOutput)
			}
		})
	}
}

// TestThresholds feeds results to the reporter and checks what it reports.
func TestThresholds(t *testing.T) {
	const (
		P = catalog.HealthPassing
		W = catalog.HealthWarning
		C = catalog.HealthCritical
	)
	tests := []struct {
		name    string
		th      Thresholds
		results []string
		want    []string // reported statuses, in order
	}{
		{name: "no thresholds", results: []string{P, P, C, C, P}, want: []string{P, C, P}},
		{name: "success before passing", th: Thresholds{SuccessBeforePassing: 3}, results: []string{P, P, C, P, P, P, P}, want: []string{C, P}},
		{name: "failures before critical", th: Thresholds{FailuresBeforeCritical: 3}, results: []string{P, C, C, P, C, C, C, C}, want: []string{P, C}},
		{name: "warning first", th: Thresholds{FailuresBeforeWarning: 1, FailuresBeforeCritical: 3}, results: []string{P, C, C, C, P}, want: []string{P, W, C, P}},
		{name: "warning result counts as success", th: Thresholds{SuccessBeforePassing: 2}, results: []string{W, W, P}, want: []string{W, P}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			r := &reporter{checkID: "x", thresholds: tt.th, notify: rec.notify}
			for _, s := range tt.results {
				r.result(s, "out")
			}
			var got []string
			for _, rep := range rec.all() {
				got = append(got, rep.status)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("reported %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHTTPThresholds(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(500)
	}))
	defer srv.Close()
	rec := &recorder{}
	c := &HTTP{CheckID: "h", URL: srv.URL, Interval: 5 * time.Millisecond, Thresholds: Thresholds{FailuresBeforeCritical: 3}, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	got := rec.waitReport(t)
	if got.status != catalog.HealthCritical || hits.Load() < 3 {
		t.Fatalf("report %+v after %d probes, want critical after at least 3", got, hits.Load())
	}
}

func TestAggregatedStatus(t *testing.T) {
	chk := func(id, status string) *catalog.Check { return &catalog.Check{CheckID: id, Status: status} }
	tests := []struct {
		name   string
		checks []*catalog.Check
		want   string
	}{
		{name: "none", want: catalog.HealthPassing},
		{name: "all passing", checks: []*catalog.Check{chk("a", "passing"), chk("b", "passing")}, want: "passing"},
		{name: "worst wins", checks: []*catalog.Check{chk("a", "passing"), chk("b", "warning"), chk("c", "critical")}, want: "critical"},
		{name: "warning", checks: []*catalog.Check{chk("a", "passing"), chk("b", "warning")}, want: "warning"},
		{name: "node maintenance", checks: []*catalog.Check{chk("a", "passing"), chk(NodeMaintenanceID, "critical")}, want: "maintenance"},
		{name: "service maintenance", checks: []*catalog.Check{chk(ServiceMaintenancePrefix+"web", "critical")}, want: "maintenance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AggregatedStatus(tt.checks); got != tt.want {
				t.Fatalf("AggregatedStatus = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestType(t *testing.T) {
	tests := []struct {
		def  catalog.CheckDefinition
		want string
	}{
		{catalog.CheckDefinition{TTL: time.Second}, TypeTTL},
		{catalog.CheckDefinition{HTTP: "http://x", Interval: time.Second}, TypeHTTP},
		{catalog.CheckDefinition{TCP: "x:1"}, TypeTCP},
		{catalog.CheckDefinition{Args: []string{"true"}}, TypeScript},
		{catalog.CheckDefinition{AliasService: "web"}, TypeAlias},
		{catalog.CheckDefinition{}, ""},
	}
	for _, tt := range tests {
		if got := Type(tt.def); got != tt.want {
			t.Errorf("Type(%+v) = %q, want %q", tt.def, got, tt.want)
		}
	}
}
