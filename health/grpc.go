package health

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	hv1 "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/beacon-sd/beacon/catalog"
)

// GRPC asks a server's gRPC health service (grpc.health.v1.Health/Check)
// every Interval, as Consul's CheckGRPC does: SERVING is passing; any
// other status, an error or no answer within Timeout is critical. Target
// is "host:port", which asks about the server as a whole (service ""), or
// "host:port/service". Each probe uses a fresh connection.
//
// Fields must be set before Start and not changed after.
type GRPC struct {
	CheckID       string
	Target        string // host:port or host:port/service
	UseTLS        bool
	TLSSkipVerify bool // with UseTLS: accept any server certificate
	Interval      time.Duration
	Timeout       time.Duration // default DefaultTimeout
	Thresholds
	Notify Notify

	prober // provides Stop
}

// Start begins probing. Calling Start twice without Stop is a no-op.
func (c *GRPC) Start() {
	timeout := timeoutOr(c.Timeout, DefaultTimeout)
	creds := insecure.NewCredentials()
	if c.UseTLS {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: c.TLSSkipVerify})
	}
	server, service, _ := strings.Cut(c.Target, "/")
	c.begin(c.CheckID, c.Interval, c.Thresholds, c.Notify, func(ctx context.Context) (string, string) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := c.probe(ctx, server, service, creds); err != nil {
			return catalog.HealthCritical, err.Error()
		}
		return catalog.HealthPassing, fmt.Sprintf("gRPC check %s: success", c.Target)
	})
}

// probe returns nil when the server reports service SERVING.
func (c *GRPC) probe(ctx context.Context, server, service string, creds credentials.TransportCredentials) error {
	// passthrough: the address is dialled as given, as Consul does, with
	// no resolver of its own.
	conn, err := grpc.NewClient("passthrough:///"+server, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := hv1.NewHealthClient(conn).Check(ctx, &hv1.HealthCheckRequest{Service: service})
	if err != nil {
		return err
	}
	if resp.GetStatus() != hv1.HealthCheckResponse_SERVING {
		return fmt.Errorf("gRPC %s serving status: %s", c.Target, resp.GetStatus())
	}
	return nil
}
