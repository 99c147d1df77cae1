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

	// mu guards group, conns and ports.
	mu    sync.Mutex
	group map[string]int // server address → partition group (0 by default)
	conns map[*faultConn]struct{}
	ports map[string]*heldPort // Reserve'd address → its listener

	accepting sync.WaitGroup // one accept loop per held port
}

// NewFaultNetwork returns a network with every server connected.
func NewFaultNetwork() *FaultNetwork {
	return &FaultNetwork{group: make(map[string]int), conns: make(map[*faultConn]struct{}), ports: make(map[string]*heldPort)}
}

// Reserve binds a loopback port and holds it until Close. A server
// that Listens on the returned address gets connections from it, and
// one that stops and starts again on the same address finds it still
// bound: closing and re-binding a port between a kill and a restart
// would let another process on the machine take it in the gap. While
// no server listens, incoming connections are closed at once, as a
// dead server's would be refused.
func (f *FaultNetwork) Reserve() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	p := &heldPort{ln: ln}
	addr := ln.Addr().String()
	f.mu.Lock()
	f.ports[addr] = p
	f.mu.Unlock()
	f.accepting.Add(1)
	go func() {
		defer f.accepting.Done()
		p.serve()
	}()
	return addr, nil
}

// Close releases every reserved port; call it once the servers have
// stopped.
func (f *FaultNetwork) Close() {
	f.mu.Lock()
	ports := f.ports
	f.ports = make(map[string]*heldPort)
	f.mu.Unlock()
	for _, p := range ports {
		_ = p.ln.Close()
	}
	f.accepting.Wait()
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

// Listen attaches to the port Reserve holds for addr, or binds addr
// itself when it was not reserved.
func (n *nodeNet) Listen(addr string) (net.Listener, error) {
	n.f.mu.Lock()
	p := n.f.ports[addr]
	n.f.mu.Unlock()
	if p == nil {
		return n.f.base.Listen(addr)
	}
	return p.attach()
}

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

// heldPort is a reserved listener; at most one server is attached to it
// at a time.
type heldPort struct {
	ln net.Listener

	mu      sync.Mutex
	current *portListener // nil while no server listens
}

func (p *heldPort) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			p.mu.Lock()
			cur := p.current
			p.mu.Unlock()
			if cur != nil {
				_ = cur.Close()
			}
			return
		}
		p.mu.Lock()
		cur := p.current
		p.mu.Unlock()
		if cur == nil || !cur.deliver(c) {
			_ = c.Close()
		}
	}
}

func (p *heldPort) attach() (net.Listener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != nil {
		return nil, fmt.Errorf("listen %s: %w", p.ln.Addr(), syscall.EADDRINUSE)
	}
	p.current = &portListener{port: p, conns: make(chan net.Conn), done: make(chan struct{})}
	return p.current, nil
}

// portListener is one server's view of a held port.
type portListener struct {
	port  *heldPort
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// deliver hands c to the server's Accept; false once the listener is
// closed.
func (l *portListener) deliver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *portListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close detaches the server; the port stays bound.
func (l *portListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.port.mu.Lock()
		if l.port.current == l {
			l.port.current = nil
		}
		l.port.mu.Unlock()
	})
	return nil
}

func (l *portListener) Addr() net.Addr { return l.port.ln.Addr() }
