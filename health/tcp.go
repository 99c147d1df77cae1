package health

import (
	"context"
	"fmt"
	"net"
	"sync"
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

	mu   sync.Mutex // guards loop
	loop *loop
}

// Start begins probing. Calling Start twice without Stop is a no-op.
func (c *TCP) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loop != nil {
		return
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: timeout}
	rep := &reporter{checkID: c.CheckID, thresholds: c.Thresholds, notify: c.Notify}
	c.loop = startLoop(c.Interval, func(ctx context.Context) (string, string) {
		conn, err := dialer.DialContext(ctx, "tcp", c.Address)
		if err != nil {
			return catalog.HealthCritical, err.Error()
		}
		conn.Close()
		return catalog.HealthPassing, fmt.Sprintf("TCP connect %s: Success", c.Address)
	}, rep)
}

// Stop ends probing and waits for a probe in progress to be abandoned; no
// report is made after Stop returns. It must not be called from Notify.
func (c *TCP) Stop() {
	c.mu.Lock()
	l := c.loop
	c.mu.Unlock()
	l.stop()
}
