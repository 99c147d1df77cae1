package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// UDP sends an empty datagram to Address every Interval and waits up to
// Timeout for anything back, as Consul's CheckUDP does. UDP has no
// connection to refuse, so only an error is critical — typically
// "connection refused", the kernel's report of an ICMP port unreachable
// answering the datagram. A reply is passing, and so is silence until
// Timeout: a UDP service need not answer an empty datagram.
//
// Fields must be set before Start and not changed after.
type UDP struct {
	CheckID  string
	Address  string // host:port
	Interval time.Duration
	Timeout  time.Duration // bounds the wait for a reply; default DefaultTimeout
	Thresholds
	Notify Notify

	prober // provides Stop
}

// Start begins probing. Calling Start twice without Stop is a no-op.
func (c *UDP) Start() {
	timeout := timeoutOr(c.Timeout, DefaultTimeout)
	c.begin(c.CheckID, c.Interval, c.Thresholds, c.Notify, func(ctx context.Context) (string, string) {
		return c.probe(ctx, timeout)
	})
}

func (c *UDP) probe(ctx context.Context, timeout time.Duration) (string, string) {
	success := fmt.Sprintf("UDP connect %s: Success", c.Address)
	dialer := &net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "udp", c.Address)
	if err != nil {
		if isTimeout(err) {
			return catalog.HealthPassing, success // as Consul: a slow resolver is no failure
		}
		return catalog.HealthCritical, err.Error()
	}
	defer conn.Close()
	// Stop (ctx) interrupts the wait for a reply as the deadline does.
	unhook := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer unhook()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return catalog.HealthCritical, err.Error()
	}
	if _, err := conn.Write(nil); err != nil {
		return catalog.HealthCritical, stableError(err)
	}
	if _, err := conn.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
		return catalog.HealthCritical, stableError(err)
	}
	return catalog.HealthPassing, success
}

// stableError is err's text without the probe's own (ephemeral) address,
// so that a check failing the same way reports the same output.
func stableError(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Source != nil {
		c := *oe
		c.Source = nil
		return c.Error()
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
