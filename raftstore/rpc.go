package raftstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// Server-to-server RPC: forwarding writes and read-index requests to the
// leader, and cluster formation. It runs net/rpc (gob) over the mux's RPC
// connections. Leader-only calls answer NotLeader instead of failing, so
// the caller can find the leader and try again.

// ApplyRequest carries an encoded command to the leader.
type ApplyRequest struct{ Data []byte }

// ApplyResponse is a catalog.Result made transportable.
type ApplyResponse struct {
	NotLeader bool
	Index     uint64
	OK        bool
	ErrCode   string
	ErrMsg    string
	Unknown   bool // the leader could not tell whether the write committed
	Txn       *catalog.TxnResponse
}

// ReadIndexRequest asks the leader for the index a read must wait for.
type ReadIndexRequest struct{ Consistent bool }

// ReadIndexResponse is the leader's applied index (after a quorum check
// when Consistent).
type ReadIndexResponse struct {
	NotLeader bool
	Index     uint64
	ErrMsg    string
}

// Peer is a server as cluster formation knows it.
type Peer struct {
	ID   string
	Addr string
}

// StatusRequest introduces the caller and the servers it knows.
type StatusRequest struct {
	From  Peer
	Known []Peer
}

// StatusResponse describes a server for cluster formation.
type StatusResponse struct {
	Self     Peer
	HasState bool   // part of a cluster (bootstrapped or joined)
	Leader   string // leader's address, if known
	Known    []Peer
	// Bootstrap is the server set this server bootstrapped with, if it did
	// (since it started). A server without state that is in the set
	// bootstraps with the very same configuration instead of waiting to
	// receive it by replication.
	Bootstrap []Peer
}

// MembershipRequest adds, removes or transfers leadership to a server.
type MembershipRequest struct {
	Op   string // "join", "remove", "transfer"
	Peer Peer
}

// MembershipResponse reports a membership change.
type MembershipResponse struct {
	NotLeader bool
	ErrMsg    string
}

// rpcEndpoint exposes Server methods over net/rpc.
type rpcEndpoint struct{ s *Server }

func (e *rpcEndpoint) Apply(req *ApplyRequest, resp *ApplyResponse) error {
	if !e.s.IsLeader() {
		resp.NotLeader = true
		return nil
	}
	res, err := e.s.applyLocal(context.Background(), time.Now().Add(e.s.cfg.ApplyTimeout), req.Data)
	switch {
	case errors.Is(err, errNotLeaderLocal):
		resp.NotLeader = true
		return nil
	case errors.Is(err, ErrOutcomeUnknown):
		resp.Unknown = true
	}
	if err == nil {
		err = res.Err
	}
	resp.Index, resp.OK, resp.Txn = res.Index, res.OK, res.Txn
	if err != nil {
		resp.ErrCode, resp.ErrMsg = catalog.ErrorCode(err), err.Error()
	}
	return nil
}

func (e *rpcEndpoint) ReadIndex(req *ReadIndexRequest, resp *ReadIndexResponse) error {
	if !e.s.IsLeader() {
		resp.NotLeader = true
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.s.cfg.RPCTimeout)
	defer cancel()
	idx, err := e.s.leaderReadIndex(ctx, req.Consistent)
	if err != nil {
		resp.ErrMsg = err.Error()
	}
	resp.Index = idx
	return nil
}

func (e *rpcEndpoint) Status(req *StatusRequest, resp *StatusResponse) error {
	*resp = e.s.status(req)
	return nil
}

func (e *rpcEndpoint) Membership(req *MembershipRequest, resp *MembershipResponse) error {
	if !e.s.IsLeader() {
		resp.NotLeader = true
		return nil
	}
	if err := e.s.membershipLocal(req); err != nil {
		resp.ErrMsg = err.Error()
	}
	return nil
}

// rpcPool keeps one multiplexed net/rpc client per server address.
type rpcPool struct {
	dial func(ctx context.Context, addr string) (net.Conn, error)

	// mu guards clients and closed.
	mu      sync.Mutex
	clients map[string]*rpc.Client
	closed  bool
}

func newRPCPool(dial func(ctx context.Context, addr string) (net.Conn, error)) *rpcPool {
	return &rpcPool{dial: dial, clients: make(map[string]*rpc.Client)}
}

// errNotSent marks a call that failed before the request left this
// server, so the remote certainly did not act on it.
var errNotSent = errors.New("request not sent")

func (p *rpcPool) get(ctx context.Context, addr string) (*rpc.Client, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrShutdown
	}
	if c := p.clients[addr]; c != nil {
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	conn, err := p.dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w: %w", addr, errNotSent, err)
	}
	c := rpc.NewClient(conn)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return nil, ErrShutdown
	}
	if old := p.clients[addr]; old != nil {
		_ = c.Close()
		return old, nil
	}
	p.clients[addr] = c
	return c, nil
}

func (p *rpcPool) drop(addr string, c *rpc.Client) {
	p.mu.Lock()
	if p.clients[addr] == c {
		delete(p.clients, addr)
	}
	p.mu.Unlock()
	_ = c.Close()
}

// call invokes method on the server at addr, giving up when ctx ends. A
// broken connection is dropped so the next call redials.
func (p *rpcPool) call(ctx context.Context, addr, method string, args, reply any) error {
	c, err := p.get(ctx, addr)
	if err != nil {
		return err
	}
	call := c.Go("Server."+method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		if call.Error != nil {
			var se rpc.ServerError
			if !errors.As(call.Error, &se) {
				p.drop(addr, c)
			}
			return fmt.Errorf("rpc %s to %s: %w", method, addr, call.Error)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rpc %s to %s: %w", method, addr, ctx.Err())
	}
}

func (p *rpcPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for addr, c := range p.clients {
		_ = c.Close()
		delete(p.clients, addr)
	}
}
