package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/beacon-sd/beacon/agent/httpapi"
)

// connLimitListener refuses a client's connection beyond max concurrent
// ones from its IP (Consul's http_max_conns_per_client), answering 429 on
// the raw connection so the client sees why.
type connLimitListener struct {
	net.Listener
	max int

	// mu guards open.
	mu   sync.Mutex
	open map[string]int
}

func limitConns(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	return &connLimitListener{Listener: ln, max: max, open: make(map[string]int)}
}

const tooManyConns = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 44\r\nConnection: close\r\n\r\ntoo many open connections from this client\r\n"

func (l *connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr())
		l.mu.Lock()
		if l.open[ip] >= l.max {
			l.mu.Unlock()
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte(tooManyConns))
			_ = c.Close()
			continue
		}
		l.open[ip]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, l: l, ip: ip}, nil
	}
}

type limitedConn struct {
	net.Conn
	l    *connLimitListener
	ip   string
	once sync.Once
}

// NetConn returns the wrapped connection.
func (c *limitedConn) NetConn() net.Conn { return c.Conn }

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		if c.l.open[c.ip]--; c.l.open[c.ip] <= 0 {
			delete(c.l.open, c.ip)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// rateLimiter answers 429 to a client IP that exceeds its request rate.
// Limiters idle for a minute are dropped.
type rateLimiter struct {
	next  http.Handler
	rate  rate.Limit
	burst int

	// mu guards clients.
	mu      sync.Mutex
	clients map[string]*clientLimiter
	sweep   time.Time
}

type clientLimiter struct {
	lim  *rate.Limiter
	seen time.Time
}

func limitRate(next http.Handler, perSecond float64, burst int) http.Handler {
	if perSecond <= 0 {
		return next
	}
	if burst <= 0 {
		burst = max(1, int(perSecond))
	}
	return &rateLimiter{next: next, rate: rate.Limit(perSecond), burst: burst, clients: make(map[string]*clientLimiter), sweep: time.Now()}
}

func (rl *rateLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	now := time.Now()
	rl.mu.Lock()
	cl := rl.clients[ip]
	if cl == nil {
		cl = &clientLimiter{lim: rate.NewLimiter(rl.rate, rl.burst)}
		rl.clients[ip] = cl
	}
	cl.seen = now
	if now.Sub(rl.sweep) > time.Minute {
		for k, c := range rl.clients {
			if now.Sub(c.seen) > time.Minute {
				delete(rl.clients, k)
			}
		}
		rl.sweep = now
	}
	ok := cl.lim.AllowN(now, 1)
	rl.mu.Unlock()
	if !ok {
		w.Header().Set("Retry-After", "1")
		httpapi.WriteText(w, http.StatusTooManyRequests, "rate limit exceeded: too many requests from "+ip)
		return
	}
	rl.next.ServeHTTP(w, r)
}

// endBlockingOnStop ends hash-blocking queries (?hash= on
// /v1/agent/service/:id) when stop ends. They wait for a change for up to
// ten minutes, so a shutdown that let them finish would always take its
// whole grace period whenever a watcher is connected; other requests keep
// the grace period Shutdown gives them. (Index-blocking queries end
// through httpapi.Deps.Stop, which costs nothing per request.) The query
// test is a substring check, as it runs on every request: a false
// positive only costs a context.
func endBlockingOnStop(stop context.Context, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.RawQuery; strings.Contains(q, "hash=") {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			defer context.AfterFunc(stop, cancel)()
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}

// returnListener is an HTTP listener that also yields connections handed
// back after a parked blocking query answered (httpapi.ConnReturner), so
// the server reads their next request.
type returnListener struct {
	net.Listener
	returned chan net.Conn
	accepted chan acceptResult
	closed   chan struct{}
	once     sync.Once
}

type acceptResult struct {
	c   net.Conn
	err error
}

func newReturnListener(ln net.Listener) *returnListener {
	l := &returnListener{Listener: ln, returned: make(chan net.Conn, 1024), accepted: make(chan acceptResult), closed: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *returnListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.closed:
			if c != nil {
				_ = c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

func (l *returnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.returned:
		return c, nil
	case r := <-l.accepted:
		return r.c, r.err
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *returnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// give queues a connection for Accept without blocking the caller.
func (l *returnListener) give(c net.Conn) {
	select {
	case l.returned <- c:
	case <-l.closed:
		_ = c.Close()
	default:
		go func() {
			select {
			case l.returned <- c:
			case <-l.closed:
				_ = c.Close()
			}
		}()
	}
}

// connReturner routes a connection back to the listener that accepted it.
type connReturner struct {
	mu        sync.Mutex
	listeners []*returnListener
}

func (r *connReturner) add(l *returnListener) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listeners = append(r.listeners, l)
}

// Return implements httpapi.ConnReturner. The listener is the one on the
// connection's local port whose address is the connection's, or a
// wildcard (0.0.0.0, ::): a listener on a wildcard address accepts
// connections whose local address is a specific one.
func (r *connReturner) Return(c net.Conn) {
	local, _ := c.LocalAddr().(*net.TCPAddr)
	r.mu.Lock()
	var to *returnListener
	for _, l := range r.listeners {
		la, ok := l.Addr().(*net.TCPAddr)
		if ok && local != nil && la.Port == local.Port && (la.IP.IsUnspecified() || la.IP.Equal(local.IP)) {
			to = l
			break
		}
	}
	r.mu.Unlock()
	if to == nil {
		_ = c.Close()
		return
	}
	to.give(c)
}
