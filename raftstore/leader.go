package raftstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// LeaderFunc serves a request that only the leader can answer (a lease
// renewal, say): method names it, body is the caller's encoding. It returns
// an error wrapping ErrNotLeader when this server cannot serve it as
// leader (yet), and the caller retries.
type LeaderFunc func(ctx context.Context, method string, body []byte) ([]byte, error)

// LeaderRequest and LeaderResponse carry a LeaderFunc call to the leader.
type LeaderRequest struct {
	Method string
	Body   []byte
}

// LeaderResponse: NotLeader means the call did not run; retry elsewhere.
type LeaderResponse struct {
	NotLeader bool
	Body      []byte
	ErrMsg    string
}

func (e *rpcEndpoint) Leader(req *LeaderRequest, resp *LeaderResponse) error {
	s := e.s
	fn := s.leaderFunc.Load()
	if fn == nil || !s.IsLeader() {
		resp.NotLeader = true
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RPCTimeout)
	defer cancel()
	body, err := (*fn)(ctx, req.Method, req.Body)
	switch {
	case errors.Is(err, ErrNotLeader):
		resp.NotLeader = true
	case err != nil:
		resp.ErrMsg = err.Error()
	}
	resp.Body = body
	return nil
}

// HandleLeader sets the function that serves CallLeader on the leader.
func (s *Server) HandleLeader(fn LeaderFunc) { s.leaderFunc.Store(&fn) }

// CallLeader runs the LeaderFunc of the current leader: here when this
// server leads, else over the server port. It retries while there is no
// leader, or the leader is not ready, until ctx ends (RPCTimeout when ctx
// has no deadline). The error is the LeaderFunc's own, or ErrNoLeader.
func (s *Server) CallLeader(ctx context.Context, method string, body []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RPCTimeout)
		defer cancel()
	}
	var last error
	for backoff := time.Millisecond; ; backoff = min(2*backoff, 100*time.Millisecond) {
		var (
			out []byte
			err error
		)
		fn := s.leaderFunc.Load()
		switch leader := s.Leader().Addr; {
		case s.IsLeader() && fn != nil:
			out, err = (*fn)(ctx, method, body)
			if err != nil && !errors.Is(err, ErrNotLeader) {
				return nil, err // the call's own failure
			}
		case leader != "" && leader != s.self.Addr:
			var resp LeaderResponse
			if err = s.pool.call(ctx, leader, "Leader", &LeaderRequest{Method: method, Body: body}, &resp); err == nil {
				switch {
				case resp.NotLeader:
					err = ErrNotLeader
				case resp.ErrMsg != "":
					return nil, errors.New(resp.ErrMsg)
				default:
					out = resp.Body
				}
			}
		default:
			err = ErrNoLeader
		}
		if err == nil {
			return out, nil
		}
		// No leader, a server that no longer leads, or a leader that went
		// away mid-call: LeaderFuncs are idempotent (renewals), so retry.
		last = err
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w (last: %w)", ErrNoLeader, ctx.Err(), last)
		case <-s.shutdownCh:
			return nil, ErrShutdown
		}
	}
}

// VerifyLeader confirms with a quorum that this server still leads.
func (s *Server) VerifyLeader(ctx context.Context) error {
	if !s.IsLeader() {
		return ErrNotLeader
	}
	if err := s.await(ctx, s.raft.VerifyLeader()); err != nil {
		return fmt.Errorf("%w: verify leadership: %w", ErrNotLeader, err)
	}
	return nil
}

// OnLeadership registers fn to be told when this server starts leading
// (true: it has applied every entry of earlier terms) and stops (false).
// Calls are serialised and alternate; if the server already leads, fn is
// called with true before OnLeadership returns. fn must not block.
func (s *Server) OnLeadership(fn func(leading bool)) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.hook = fn
	if s.ready.Load() && s.IsLeader() {
		s.hookLeading = true
		fn(true)
	}
}

// notifyLeadership calls the hook when leadership changed; gen is the
// leadership generation the call is for (0: a loss, always delivered).
func (s *Server) notifyLeadership(leading bool, gen uint64) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	if leading {
		if s.leaderGen.Load() != gen || !s.IsLeader() {
			return
		}
		s.ready.Store(true)
	}
	if s.hook != nil && s.hookLeading != leading {
		s.hookLeading = leading
		s.hook(leading)
	}
}

// ApplyAsLeader is Apply without forwarding: it fails with ErrNotLeader
// unless this server leads. Writes decided by the leader's own timers (an
// expiry) use it, so a deposed leader's decision never lands through its
// successor.
func (s *Server) ApplyAsLeader(ctx context.Context, cmd catalog.Command) (catalog.Result, error) {
	if err := cmd.Validate(); err != nil {
		return catalog.Result{}, err
	}
	data, err := catalog.Encode(cmd)
	if err != nil {
		return catalog.Result{}, err
	}
	if !s.IsLeader() {
		return catalog.Result{}, ErrNotLeader
	}
	res, err := s.applyLocal(ctx, s.applyDeadline(ctx), data)
	if errors.Is(err, errNotLeaderLocal) {
		return res, ErrNotLeader
	}
	if err == nil {
		err = res.Err
	}
	return res, err
}
