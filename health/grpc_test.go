package health

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	hv1 "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/nettest"
)

func TestGRPC(t *testing.T) {
	addr, hs := nettest.GRPCHealth(t)
	hs.SetServingStatus("", hv1.HealthCheckResponse_SERVING)
	hs.SetServingStatus("api", hv1.HealthCheckResponse_SERVING)
	hs.SetServingStatus("batch", hv1.HealthCheckResponse_NOT_SERVING)
	tlsAddr, tlsHS := nettest.GRPCHealth(t, grpc.Creds(credentials.NewTLS(selfSignedTLS(t))))
	tlsHS.SetServingStatus("", hv1.HealthCheckResponse_SERVING)
	downAddr := nettest.RefusingAddr(t)

	tests := []struct {
		name         string
		target       string
		useTLS, skip bool
		wantStatus   string
		wantOutput   string // exact, or contained when it ends with "…"
	}{
		{name: "server serving", target: addr, wantStatus: catalog.HealthPassing, wantOutput: "gRPC check " + addr + ": success"},
		{name: "service serving", target: addr + "/api", wantStatus: catalog.HealthPassing, wantOutput: "gRPC check " + addr + "/api: success"},
		{name: "service not serving", target: addr + "/batch", wantStatus: catalog.HealthCritical, wantOutput: "gRPC " + addr + "/batch serving status: NOT_SERVING"},
		{name: "unknown service", target: addr + "/nope", wantStatus: catalog.HealthCritical, wantOutput: "code = NotFound…"},
		{name: "server down", target: downAddr, wantStatus: catalog.HealthCritical, wantOutput: "code = Unavailable…"},
		{name: "tls skip verify", target: tlsAddr, useTLS: true, skip: true, wantStatus: catalog.HealthPassing, wantOutput: "gRPC check " + tlsAddr + ": success"},
		{name: "tls untrusted certificate", target: tlsAddr, useTLS: true, wantStatus: catalog.HealthCritical, wantOutput: "certificate…"},
		{name: "plaintext to a tls server", target: tlsAddr, wantStatus: catalog.HealthCritical, wantOutput: "code = Unavailable…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := &GRPC{CheckID: "g", Target: tt.target, UseTLS: tt.useTLS, TLSSkipVerify: tt.skip,
				Interval: 10 * time.Millisecond, Timeout: 5 * time.Second, Notify: rec.notify}
			c.Start()
			defer c.Stop()
			got := rec.waitReport(t)
			ok := got.output == tt.wantOutput
			if want, contains := strings.CutSuffix(tt.wantOutput, "…"); contains {
				ok = strings.Contains(got.output, want)
			}
			if got.status != tt.wantStatus || !ok {
				t.Fatalf("report = %+v, want %q with output %q", got, tt.wantStatus, tt.wantOutput)
			}
		})
	}
}

// TestGRPCFollowsServingStatus toggles a service between SERVING and
// NOT_SERVING and sees each change reported.
func TestGRPCFollowsServingStatus(t *testing.T) {
	addr, hs := nettest.GRPCHealth(t)
	hs.SetServingStatus("web", hv1.HealthCheckResponse_SERVING)
	rec := &recorder{}
	c := &GRPC{CheckID: "g", Target: addr + "/web", Interval: 5 * time.Millisecond, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	rec.waitLast(t, catalog.HealthPassing)
	hs.SetServingStatus("web", hv1.HealthCheckResponse_NOT_SERVING)
	rec.waitLast(t, catalog.HealthCritical)
	hs.SetServingStatus("web", hv1.HealthCheckResponse_SERVING)
	rec.waitLast(t, catalog.HealthPassing)
	if got := fmt.Sprint(rec.statuses()); got != "[passing critical passing]" {
		t.Fatalf("reported %s, want one report per change", got)
	}
}

// TestGRPCThresholds: NOT_SERVING must repeat before it is reported.
func TestGRPCThresholds(t *testing.T) {
	addr, hs := nettest.GRPCHealth(t)
	hs.SetServingStatus("web", hv1.HealthCheckResponse_NOT_SERVING)
	rec := &recorder{}
	c := &GRPC{CheckID: "g", Target: addr + "/web", Interval: 5 * time.Millisecond,
		Thresholds: Thresholds{FailuresBeforeWarning: 2, FailuresBeforeCritical: 4}, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	rec.waitLast(t, catalog.HealthCritical)
	if got := fmt.Sprint(rec.statuses()); got != "[warning critical]" {
		t.Fatalf("reported %s, want [warning critical]", got)
	}
}
