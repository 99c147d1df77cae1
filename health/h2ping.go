package health

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"golang.org/x/net/http2"

	"github.com/beacon-sd/beacon/catalog"
)

// H2Ping opens an HTTP/2 connection to Address every Interval and sends a
// PING frame, as Consul's CheckH2PING does: a PING acknowledged within
// Timeout is passing, anything else critical. With UseTLS (Consul's
// default) the connection is TLS with ALPN "h2"; without, it is cleartext
// HTTP/2 (h2c, prior knowledge).
//
// Fields must be set before Start and not changed after.
type H2Ping struct {
	CheckID       string
	Address       string // host:port
	UseTLS        bool
	TLSSkipVerify bool // with UseTLS: accept any server certificate
	Interval      time.Duration
	Timeout       time.Duration // default DefaultTimeout
	Thresholds
	Notify Notify

	prober // provides Stop
}

// Start begins probing. Calling Start twice without Stop is a no-op.
func (c *H2Ping) Start() {
	timeout := timeoutOr(c.Timeout, DefaultTimeout)
	c.begin(c.CheckID, c.Interval, c.Thresholds, c.Notify, func(ctx context.Context) (string, string) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return c.probe(ctx)
	})
}

func (c *H2Ping) probe(ctx context.Context) (string, string) {
	var conn net.Conn
	var err error
	tr := &http2.Transport{}
	if c.UseTLS {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: c.TLSSkipVerify, NextProtos: []string{http2.NextProtoTLS}}
		conn, err = (&tls.Dialer{Config: tr.TLSClientConfig}).DialContext(ctx, "tcp", c.Address)
	} else {
		tr.AllowHTTP = true
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", c.Address)
	}
	if err != nil {
		return catalog.HealthCritical, fmt.Sprintf("Failed to dial to %s: %s", c.Address, err)
	}
	defer conn.Close()
	// The connection's writes and reads end with the probe, too.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	unhook := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer unhook()
	cc, err := tr.NewClientConn(conn)
	if err != nil {
		return catalog.HealthCritical, fmt.Sprintf("Failed to create client connection %s", err)
	}
	defer cc.Close()
	if err := cc.Ping(ctx); err != nil {
		return catalog.HealthCritical, fmt.Sprintf("HTTP2 ping failed: %s", err)
	}
	return catalog.HealthPassing, "HTTP2 ping was successful"
}
