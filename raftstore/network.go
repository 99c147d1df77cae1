package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Network is how servers reach each other. TCP is the default; a TLS
// implementation (or a test's fault-injecting one) wraps both sides
// without touching the callers. Implementations must be safe for
// concurrent use.
type Network interface {
	// Listen opens the server's listener on addr.
	Listen(addr string) (net.Listener, error)
	// Dial connects to another server's listener.
	Dial(ctx context.Context, addr string) (net.Conn, error)
}

// TCP is the plain-TCP Network.
type TCP struct{}

// Listen implements Network.
func (TCP) Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// Dial implements Network.
func (TCP) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// The first byte a dialer writes on a connection says which protocol
// follows, so Raft and RPC share one port (Consul's 8300).
const (
	protoRaft byte = 'R'
	protoRPC  byte = 'C'
	// ProtoHTTP carries the HTTP API: client agents forward requests to a
	// server over its server port (see DialHTTP).
	ProtoHTTP byte = 'H'
)

var errMuxClosed = errors.New("raftstore: listener closed")

// mux accepts connections on one listener and hands each to the Raft
// stream layer or the RPC server by its first byte.
type mux struct {
	ln      net.Listener
	net     Network
	log     *slog.Logger
	raftCh  chan net.Conn
	httpCh  chan net.Conn
	rpcConn func(net.Conn)

	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup

	// mu guards conns: every accepted connection still open. Raft's
	// transport does not close the connections it accepted when it shuts
	// down, so the mux closes them all in Close.
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newMux(ln net.Listener, nw Network, rpcConn func(net.Conn), log *slog.Logger) *mux {
	return &mux{ln: ln, net: nw, log: log, raftCh: make(chan net.Conn, 16), httpCh: make(chan net.Conn), rpcConn: rpcConn, closed: make(chan struct{}), conns: make(map[net.Conn]struct{})}
}

// start begins accepting connections. The server calls it once raft and
// the RPC endpoint are ready to serve them; until then connections wait in
// the listen backlog.
func (m *mux) start() {
	m.wg.Add(1)
	go m.acceptLoop()
}

func (m *mux) acceptLoop() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			m.log.Error("accept failed", "error", err)
			return
		}
		m.mu.Lock()
		select {
		case <-m.closed:
			m.mu.Unlock()
			_ = c.Close()
			return
		default:
		}
		m.conns[c] = struct{}{}
		m.wg.Add(1)
		m.mu.Unlock()
		go m.route(&trackedConn{Conn: c, m: m})
	}
}

// trackedConn removes itself from the mux's set when closed.
type trackedConn struct {
	net.Conn
	m *mux
}

func (c *trackedConn) Close() error {
	c.m.mu.Lock()
	delete(c.m.conns, c.Conn)
	c.m.mu.Unlock()
	return c.Conn.Close()
}

// route reads the protocol byte (with a deadline, so a silent client cannot
// hold a goroutine) and dispatches the connection.
func (m *mux) route(c net.Conn) {
	defer m.wg.Done()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	switch b[0] {
	case protoRaft:
		select {
		case m.raftCh <- c:
		case <-m.closed:
			_ = c.Close()
		}
	case protoRPC:
		m.rpcConn(c)
	case ProtoHTTP:
		select {
		case m.httpCh <- c:
		case <-m.closed:
			_ = c.Close()
		case <-time.After(5 * time.Second): // no HTTP handler attached
			_ = c.Close()
		}
	default:
		m.log.Warn("connection with unknown protocol byte", "remote", c.RemoteAddr().String(), "byte", b[0])
		_ = c.Close()
	}
}

func (m *mux) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.mu.Lock()
		close(m.closed)
		for c := range m.conns {
			_ = c.Close()
		}
		m.mu.Unlock()
		err = m.ln.Close()
	})
	m.wg.Wait()
	return err
}

// dial connects to addr and announces proto.
func (m *mux) dial(ctx context.Context, addr string, proto byte) (net.Conn, error) {
	c, err := m.net.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetWriteDeadline(dl)
	}
	if _, err := c.Write([]byte{proto}); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("announce protocol to %s: %w", addr, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, nil
}

// raftLayer is the raft.StreamLayer over the mux.
type raftLayer struct {
	m         *mux
	advertise net.Addr
}

var _ raft.StreamLayer = (*raftLayer)(nil)

func (l *raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.m.raftCh:
		return c, nil
	case <-l.m.closed:
		return nil, errMuxClosed
	}
}

// Close is a no-op: the server closes the mux itself, after raft stops.
func (l *raftLayer) Close() error { return nil }

func (l *raftLayer) Addr() net.Addr { return l.advertise }

func (l *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return l.m.dial(ctx, string(addr), protoRaft)
}

// httpListener is the net.Listener an http.Server serves the mux's HTTP
// connections from.
type httpListener struct {
	m         *mux
	addr      net.Addr
	closeOnce sync.Once
	closed    chan struct{}
}

func newHTTPListener(m *mux) *httpListener {
	return &httpListener{m: m, addr: m.ln.Addr(), closed: make(chan struct{})}
}

func (l *httpListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.m.httpCh:
		return c, nil
	case <-l.m.closed:
		return nil, errMuxClosed
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close ends Accept; the mux's listener stays open.
func (l *httpListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *httpListener) Addr() net.Addr { return l.addr }

// DialHTTP connects to a server's server port for HTTP: the returned
// connection speaks HTTP/1.1 to that server's API handler. Client agents
// use it (as an http.Transport's DialContext) to forward requests.
func DialHTTP(ctx context.Context, nw Network, addr string) (net.Conn, error) {
	c, err := nw.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetWriteDeadline(dl)
	}
	if _, err := c.Write([]byte{ProtoHTTP}); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("announce protocol to %s: %w", addr, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, nil
}
