package testcluster

import (
	"context"
	"fmt"
	"net"
	"sync"
	"syscall"

	"github.com/beacon-sd/beacon/raftstore"
)

// FaultNetwork is a raftstore.Network over real loopback TCP that can cut
// servers off from each other: Partition puts addresses in groups, refuses
// new connections between groups and closes the open ones.
type FaultNetwork struct {
	base raftstore.TCP

	// mu guards group and conns.
	mu    sync.Mutex
	group map[string]int // server address → partition group (0 by default)
	conns map[*faultConn]struct{}
}

// NewFaultNetwork returns a network with every server connected.
func NewFaultNetwork() *FaultNetwork {
	return &FaultNetwork{group: make(map[string]int), conns: make(map[*faultConn]struct{})}
}

// For returns the Network the server listening on self uses.
func (f *FaultNetwork) For(self string) raftstore.Network { return &nodeNet{f: f, self: self} }

// Partition moves the given server addresses into a group of their own:
// they can reach each other but not the rest, and the rest cannot reach
// them.
func (f *FaultNetwork) Partition(addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.group = make(map[string]int)
	for _, a := range addrs {
		f.group[a] = 1
	}
	for c := range f.conns {
		if f.blockedLocked(c.from, c.to) {
			_ = c.Conn.Close()
			delete(f.conns, c)
		}
	}
}

// Heal reconnects every server.
func (f *FaultNetwork) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.group = make(map[string]int)
}

func (f *FaultNetwork) blockedLocked(from, to string) bool {
	return f.group[from] != f.group[to]
}

type nodeNet struct {
	f    *FaultNetwork
	self string
}

func (n *nodeNet) Listen(addr string) (net.Listener, error) { return n.f.base.Listen(addr) }

func (n *nodeNet) Dial(ctx context.Context, addr string) (net.Conn, error) {
	n.f.mu.Lock()
	blocked := n.f.blockedLocked(n.self, addr)
	n.f.mu.Unlock()
	if blocked {
		return nil, fmt.Errorf("dial %s from %s: partitioned: %w", addr, n.self, syscall.ECONNREFUSED)
	}
	c, err := n.f.base.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	fc := &faultConn{Conn: c, f: n.f, from: n.self, to: addr}
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	if n.f.blockedLocked(n.self, addr) { // partitioned while dialling
		_ = c.Close()
		return nil, fmt.Errorf("dial %s from %s: partitioned: %w", addr, n.self, syscall.ECONNREFUSED)
	}
	n.f.conns[fc] = struct{}{}
	return fc, nil
}

// faultConn is a dialled connection the network can cut.
type faultConn struct {
	net.Conn
	f        *FaultNetwork
	from, to string
}

func (c *faultConn) Close() error {
	c.f.mu.Lock()
	delete(c.f.conns, c)
	c.f.mu.Unlock()
	return c.Conn.Close()
}
