package httpapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// Parking blocking queries.
//
// A blocking query that has to wait would hold its connection's goroutine
// (a stack of 8 KB or more) and net/http's per-request state for up to ten
// minutes. Instead, when the server that accepted the connection can take
// it back (Deps.Conns), the query hijacks the connection and parks: a small
// record (the connection, the query, a watch that calls back, a timer)
// with no goroutine. A change or the deadline resumes it in a new
// goroutine, which re-runs the read and either parks again or writes the
// HTTP response to the connection itself and hands the connection back to
// the server for its next request. While parked, a client hanging up is
// not noticed until the answer is written (at the latest at ?wait's end).

// ConnReturner takes back a hijacked connection so the HTTP server serves
// its next request, as if it had just been accepted. Return must not block.
type ConnReturner interface {
	Return(net.Conn)
}

// canPark reports whether r's connection can be parked: an HTTP/1.x GET on
// an API whose server takes connections back.
func (a *API) canPark(r *http.Request) bool {
	return a.conns != nil && a.store != nil && r.ProtoMajor == 1 && r.Method == http.MethodGet
}

// parked is a blocking query waiting without a goroutine.
type parked struct {
	a        *API
	req      *http.Request // only Method, URL, Proto and Close: what writers may read
	opts     QueryOptions
	info     ReadInfo
	keys     []catalog.WatchKey
	fn       readFunc
	write    writeFunc
	deadline time.Time
	timer    *time.Timer

	// mu guards the following fields.
	mu       sync.Mutex
	conn     net.Conn // nil until the hijack completes
	watch    *catalog.Watch
	resuming bool // a goroutine is re-running the read
	pending  bool // a wake-up arrived while resuming or before the hijack
	finished bool
}

// park starts a blocking query in parked form. It returns false, having
// written nothing, when the connection cannot be hijacked: the caller
// then waits the ordinary way.
func (a *API) park(w http.ResponseWriter, r *http.Request, opts QueryOptions, keys []catalog.WatchKey, fn readFunc, write writeFunc) bool {
	info, err := a.store.Read(r.Context(), opts.Mode)
	if err != nil {
		writeError(w, err)
		return true
	}
	p := &parked{a: a, opts: opts, info: info, keys: keys, fn: fn, write: write,
		req:      &http.Request{Method: r.Method, URL: r.URL, Proto: r.Proto, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor, Close: r.Close},
		deadline: time.Now().Add(waitWithJitter(opts.Wait))}
	p.watch = a.store.Hub().WatchFunc(p.wake, keys...)
	result, index, err := a.view(fn)
	if err != nil || index > opts.MinIndex {
		p.watch.Stop()
		if err != nil {
			writeError(w, err)
			return true
		}
		setReadHeaders(w, index, info, opts.Mode)
		write(w, r, result)
		return true
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		p.watch.Stop()
		return false
	}
	if n := brw.Reader.Buffered(); n > 0 {
		// The client pipelined its next request: keep those bytes.
		buf, _ := brw.Reader.Peek(n)
		conn = &prefixConn{Conn: conn, r: io.MultiReader(bytes.NewReader(bytes.Clone(buf)), conn)}
	}
	_ = conn.SetDeadline(time.Time{})
	a.parkedAdd(p)
	p.timer = time.AfterFunc(time.Until(p.deadline), p.wake)
	p.mu.Lock()
	p.conn = conn
	resume := p.pending && !p.resuming
	if resume {
		p.pending, p.resuming = false, true
	}
	p.mu.Unlock()
	if resume {
		go p.resume()
	}
	return true
}

// wake is the watch's and the timer's callback (each in its own goroutine).
func (p *parked) wake() {
	p.mu.Lock()
	switch {
	case p.finished:
	case p.conn == nil || p.resuming:
		p.pending = true
	default:
		p.resuming = true
		p.mu.Unlock()
		p.resume()
		return
	}
	p.mu.Unlock()
}

// resume re-runs the read; it answers, or parks again with a fresh watch.
func (p *parked) resume() {
	for {
		watch := p.a.store.Hub().WatchFunc(p.wake, p.keys...)
		result, index, err := p.a.view(p.fn)
		if err != nil || index > p.opts.MinIndex || !time.Now().Before(p.deadline) || p.a.stopping() {
			watch.Stop()
			p.finish(result, index, err)
			return
		}
		p.mu.Lock()
		old := p.watch
		p.watch = watch
		again := p.pending
		p.pending = false
		if !again {
			p.resuming = false
		}
		p.mu.Unlock()
		old.Stop()
		if !again {
			return
		}
	}
}

// finish writes the answer and hands the connection back (or closes it).
func (p *parked) finish(result any, index uint64, err error) {
	p.mu.Lock()
	p.finished = true
	conn, watch := p.conn, p.watch
	p.mu.Unlock()
	p.timer.Stop()
	watch.Stop()
	p.a.parkedRemove(p)

	cw := &connResponseWriter{header: make(http.Header), status: http.StatusOK}
	if err != nil {
		writeError(cw, err)
	} else {
		setReadHeaders(cw, index, p.info, p.opts.Mode)
		p.write(cw, p.req, result)
	}
	keepAlive := !p.req.Close && !p.a.stopping()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, werr := cw.writeTo(conn, keepAlive); werr != nil || !keepAlive {
		_ = conn.Close()
		return
	}
	_ = conn.SetWriteDeadline(time.Time{})
	p.a.conns.Return(conn)
}

// connResponseWriter collects a response to write it to a hijacked
// connection in one piece.
type connResponseWriter struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (w *connResponseWriter) Header() http.Header { return w.header }

func (w *connResponseWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
}

func (w *connResponseWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.body.Write(b)
}

// writeTo writes the response as HTTP/1.1.
func (w *connResponseWriter) writeTo(conn net.Conn, keepAlive bool) (int64, error) {
	bw := bufio.NewWriterSize(conn, 4096)
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", w.status, http.StatusText(w.status))
	w.header.Del("Content-Length")
	w.header.Set("Content-Length", strconv.Itoa(w.body.Len()))
	w.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if !keepAlive {
		w.header.Set("Connection", "close")
	}
	if err := w.header.Write(bw); err != nil {
		return 0, err
	}
	bw.WriteString("\r\n")
	bw.Write(w.body.Bytes())
	return int64(bw.Buffered()), bw.Flush()
}

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// NetConn returns the wrapped connection (for peerClosed).
func (c *prefixConn) NetConn() net.Conn { return c.Conn }

// parkedSet tracks parked queries so a stopping agent answers them all.
type parkedSet struct {
	mu sync.Mutex
	m  map[*parked]struct{}
}

func (a *API) parkedAdd(p *parked) {
	a.parked.mu.Lock()
	a.parked.m[p] = struct{}{}
	a.parked.mu.Unlock()
}

func (a *API) parkedRemove(p *parked) {
	a.parked.mu.Lock()
	delete(a.parked.m, p)
	a.parked.mu.Unlock()
}

// stopping reports whether the agent is stopping.
func (a *API) stopping() bool {
	select {
	case <-a.stop:
		return true
	default:
		return false
	}
}

// parkedSweepInterval is how often parked connections are checked for a
// client that hung up.
var parkedSweepInterval = 5 * time.Second

// answerParkedOnStop sweeps hung-up parked queries until the agent stops,
// then wakes every parked query, so they answer at once with the current
// data.
func (a *API) answerParkedOnStop() {
	t := time.NewTicker(parkedSweepInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			for _, p := range a.parkedAll() {
				p.dropIfHungUp()
			}
		case <-a.stop:
			for _, p := range a.parkedAll() {
				go p.wake()
			}
			return
		}
	}
}

func (a *API) parkedAll() []*parked {
	a.parked.mu.Lock()
	defer a.parked.mu.Unlock()
	all := make([]*parked, 0, len(a.parked.m))
	for p := range a.parked.m {
		all = append(all, p)
	}
	return all
}

// dropIfHungUp ends a parked query whose client closed its connection.
func (p *parked) dropIfHungUp() {
	p.mu.Lock()
	if p.finished || p.resuming || p.conn == nil || !peerClosed(p.conn) {
		p.mu.Unlock()
		return
	}
	p.finished = true
	conn, watch := p.conn, p.watch
	p.mu.Unlock()
	p.timer.Stop()
	watch.Stop()
	p.a.parkedRemove(p)
	_ = conn.Close()
}

// peerClosed reports whether the other end of c has closed it, without
// blocking or consuming data: a zero-length MSG_PEEK read means EOF. A
// connection it cannot look into counts as open.
func peerClosed(c net.Conn) bool {
	for {
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = u.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	_ = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n == 0 && err == nil
		return true
	})
	return closed
}
