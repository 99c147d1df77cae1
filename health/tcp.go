package health

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// TCP connects to Address every Interval: a connection made within
// Timeout is passing, anything else critical.
//
// Fields must be set before Start and not changed after.
type TCP struct {
	CheckID  string
	Address  string // host:port
	Interval time.Duration
	Timeout  time.Duration // default DefaultTimeout
	Thresholds
	Notify Notify

	prober // provides Stop
}

// Start begins probing. Calling Start twice without Stop is a no-op.
func (c *TCP) Start() {
	timeout := timeoutOr(c.Timeout, DefaultTimeout)
	dialer := &net.Dialer{Timeout: timeout}
	c.begin(c.CheckID, c.Interval, c.Thresholds, c.Notify, func(ctx context.Context) (string, string) {
		conn, err := dialer.DialContext(ctx, "tcp", c.Address)
		if err != nil {
			return catalog.HealthCritical, err.Error()
		}
		conn.Close()
		return catalog.HealthPassing, fmt.Sprintf("TCP connect %s: Success", c.Address)
	})
}
