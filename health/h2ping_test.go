package health

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/nettest"
)

// h2cServer serves cleartext HTTP/2 (prior knowledge) on loopback.
func h2cServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String()
}

func TestH2Ping(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.EnableHTTP2 = true
	tlsSrv.TLS = selfSignedTLS(t)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case's handshake error
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	tlsAddr := tlsSrv.Listener.Addr().String()
	h1 := httptest.NewServer(http.NotFoundHandler()) // HTTP/1.1 only
	defer h1.Close()
	h1Addr := h1.Listener.Addr().String()
	h2c := h2cServer(t)
	downAddr := nettest.RefusingAddr(t)

	tests := []struct {
		name         string
		addr         string
		useTLS, skip bool
		wantStatus   string
		wantOutput   string // prefix
	}{
		{name: "tls", addr: tlsAddr, useTLS: true, skip: true, wantStatus: catalog.HealthPassing, wantOutput: "HTTP2 ping was successful"},
		{name: "tls untrusted certificate", addr: tlsAddr, useTLS: true, wantStatus: catalog.HealthCritical, wantOutput: "Failed to dial to " + tlsAddr + ": tls: "},
		{name: "h2c", addr: h2c, wantStatus: catalog.HealthPassing, wantOutput: "HTTP2 ping was successful"},
		{name: "h2c to an HTTP/1.1 server", addr: h1Addr, wantStatus: catalog.HealthCritical, wantOutput: "HTTP2 ping failed: "},
		{name: "down", addr: downAddr, wantStatus: catalog.HealthCritical, wantOutput: "Failed to dial to " + downAddr + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := &H2Ping{CheckID: "h", Address: tt.addr, UseTLS: tt.useTLS, TLSSkipVerify: tt.skip,
				Interval: 10 * time.Millisecond, Timeout: 5 * time.Second, Notify: rec.notify}
			c.Start()
			defer c.Stop()
			got := rec.waitReport(t)
			if got.status != tt.wantStatus || !strings.HasPrefix(got.output, tt.wantOutput) {
				t.Fatalf("report = %+v, want %q with output starting %q", got, tt.wantStatus, tt.wantOutput)
			}
		})
	}
}
