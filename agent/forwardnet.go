package agent

import (
	"context"
	"net"
	"time"

	"github.com/beacon-sd/beacon/raftstore"
)

// forwardNet dials the servers a client agent forwards requests to. Its
// connections notice a server that stopped answering even when the
// forwarding deadline is far off, as it is for a blocking query: data the
// server does not acknowledge within forwardUserTimeout fails the
// connection (TCP_USER_TIMEOUT, on Linux), and keepalive probes, sent once
// a connection has been quiet for forwardKeepAliveIdle, count as such
// data. A live server's kernel acknowledges both however busy beacon is.
type forwardNet struct{ raftstore.TCP }

const (
	forwardUserTimeout   = 5 * time.Second
	forwardKeepAliveIdle = 10 * time.Second
)

// Dial implements raftstore.Network.
func (forwardNet) Dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: forwardKeepAliveIdle, Interval: forwardUserTimeout / 2, Count: 3},
		Control:         setUserTimeout(forwardUserTimeout),
	}
	return d.DialContext(ctx, "tcp", addr)
}
