package nettest

import (
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	hv1 "google.golang.org/grpc/health/grpc_health_v1"
)

// GRPCHealth serves the gRPC health-checking protocol on loopback until
// the test ends; the test sets statuses on the returned server. Options
// such as grpc.Creds make it a TLS server.
func GRPCHealth(t testing.TB, opts ...grpc.ServerOption) (addr string, hs *grpchealth.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := grpc.NewServer(opts...)
	hs = grpchealth.NewServer()
	hv1.RegisterHealthServer(srv, hs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return ln.Addr().String(), hs
}

// UDPServer listens on loopback until the test ends; with echo it
// answers every datagram with its contents, else it stays silent. It
// counts the datagrams it receives.
func UDPServer(t testing.TB, echo bool) (addr string, received *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	received = &atomic.Int64{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			received.Add(1)
			if echo {
				_, _ = pc.WriteTo(buf[:n], from)
			}
		}
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		<-done
	})
	return pc.LocalAddr().String(), received
}
