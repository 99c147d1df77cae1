package health

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/nettest"
)

// waitLast waits until the latest report has status and returns it.
func (r *recorder) waitLast(t *testing.T, status string) report {
	t.Helper()
	var last report
	waitFor(t, "a "+status+" report", func() bool {
		all := r.all()
		if len(all) == 0 {
			return false
		}
		last = all[len(all)-1]
		return last.status == status
	})
	return last
}

// statuses lists the reported statuses in order.
func (r *recorder) statuses() []string {
	var out []string
	for _, rep := range r.all() {
		out = append(out, rep.status)
	}
	return out
}

// selfSignedTLS returns a server TLS config with a certificate for
// 127.0.0.1 that no client trusts.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "beacon test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestUDP(t *testing.T) {
	echo, _ := nettest.UDPServer(t, true)
	silent, _ := nettest.UDPServer(t, false)
	closed := nettest.RefusingUDPAddr(t)
	tests := []struct {
		name       string
		addr       string
		wantStatus string
		wantOutput string
	}{
		{name: "echo server answers", addr: echo, wantStatus: catalog.HealthPassing, wantOutput: "UDP connect " + echo + ": Success"},
		{name: "silent server times out", addr: silent, wantStatus: catalog.HealthPassing, wantOutput: "UDP connect " + silent + ": Success"},
		{name: "closed port is refused", addr: closed, wantStatus: catalog.HealthCritical, wantOutput: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := &UDP{CheckID: "u", Address: tt.addr, Interval: 10 * time.Millisecond, Timeout: 50 * time.Millisecond, Notify: rec.notify}
			c.Start()
			defer c.Stop()
			got := rec.waitReport(t)
			if got.checkID != "u" || got.status != tt.wantStatus || !strings.Contains(got.output, tt.wantOutput) {
				t.Fatalf("report = %+v, want %q containing %q", got, tt.wantStatus, tt.wantOutput)
			}
		})
	}
}

// TestUDPThresholds: a refused port goes warning, then critical, as the
// thresholds say.
func TestUDPThresholds(t *testing.T) {
	rec := &recorder{}
	c := &UDP{CheckID: "u", Address: nettest.RefusingUDPAddr(t), Interval: 5 * time.Millisecond, Timeout: time.Second,
		Thresholds: Thresholds{FailuresBeforeWarning: 1, FailuresBeforeCritical: 3}, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	rec.waitLast(t, catalog.HealthCritical)
	if got := fmt.Sprint(rec.statuses()); got != "[warning critical]" {
		t.Fatalf("reported %s, want [warning critical]", got)
	}
}

// TestUDPStopInterruptsTheWait: Stop does not wait for the read timeout.
func TestUDPStopInterruptsTheWait(t *testing.T) {
	addr, received := nettest.UDPServer(t, false)
	rec := &recorder{}
	c := &UDP{CheckID: "u", Address: addr, Interval: time.Millisecond, Timeout: time.Minute, Notify: rec.notify}
	c.Start()
	waitFor(t, "a datagram", func() bool { return received.Load() > 0 })
	stopWithin(t, c, 5*time.Second, "Stop waited for the one-minute read timeout")
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("reports after an interrupted probe: %+v", got)
	}
}
