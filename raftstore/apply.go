package raftstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/catalog"
)

// errNotLeaderLocal: raft refused an entry because this server is not the
// leader (or is handing leadership over); nothing was appended.
var errNotLeaderLocal = errors.New("not the leader")

// Apply validates cmd and commits it through Raft, on this server if it
// leads and otherwise by forwarding it to the leader; callers never need to
// know who leads. It waits for a leader (within ctx, or ApplyTimeout when
// ctx has no deadline) when there is none. The returned error is the
// command's own failure (res.Err: a validation error, a rolled-back
// transaction…) or an infrastructure one: ErrNoLeader (nothing applied,
// safe to retry) or ErrOutcomeUnknown (may or may not have applied).
func (s *Server) Apply(ctx context.Context, cmd catalog.Command) (catalog.Result, error) {
	if err := cmd.Validate(); err != nil {
		return catalog.Result{}, err
	}
	data, err := catalog.Encode(cmd)
	if err != nil {
		return catalog.Result{}, err
	}
	return s.ApplyEncoded(ctx, data)
}

// ApplyEncoded is Apply for a command already validated and encoded.
//
// Without a deadline in ctx it keeps one of its own, ApplyTimeout from now,
// as a time rather than a derived context: on the leader's write path a
// context per write (a timer and a registration with the request's
// context) cost 3 % of the CPU.
func (s *Server) ApplyEncoded(ctx context.Context, data []byte) (catalog.Result, error) {
	deadline := s.applyDeadline(ctx)
	backoff := time.Millisecond
	for {
		var (
			res   catalog.Result
			err   error
			retry bool
		)
		if s.IsLeader() {
			res, err = s.applyLocal(ctx, deadline, data)
			retry = errors.Is(err, errNotLeaderLocal)
		} else if leader := s.Leader().Addr; leader != "" {
			fctx, cancel := context.WithDeadline(ctx, deadline)
			res, err, retry = s.forwardApply(fctx, leader, data)
			cancel()
		} else {
			retry = true
		}
		if !retry {
			if err == nil {
				err = res.Err
			}
			return res, err
		}
		wait := min(backoff, time.Until(deadline))
		if wait <= 0 {
			return catalog.Result{}, fmt.Errorf("%w: %w", ErrNoLeader, context.DeadlineExceeded)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return catalog.Result{}, fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-s.shutdownCh:
			t.Stop()
			return catalog.Result{}, ErrShutdown
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// applyDeadline is ctx's deadline, or ApplyTimeout from now if it has none.
func (s *Server) applyDeadline(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(s.cfg.ApplyTimeout)
}

// applyLocal appends data on this server, which believes it is the leader,
// and waits for the FSM to apply it.
func (s *Server) applyLocal(ctx context.Context, deadline time.Time, data []byte) (catalog.Result, error) {
	f := s.raft.Apply(data, max(time.Until(deadline), time.Millisecond))
	if err := s.awaitUntil(ctx, deadline, f); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
			return catalog.Result{}, errNotLeaderLocal
		case errors.Is(err, raft.ErrEnqueueTimeout):
			return catalog.Result{}, fmt.Errorf("%w: %w", ErrNoLeader, err)
		default: // ErrLeadershipLost, ErrRaftShutdown, ctx ended: appended, fate unknown
			return catalog.Result{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
	}
	res, ok := f.Response().(catalog.Result)
	if !ok {
		return catalog.Result{}, fmt.Errorf("raftstore: unexpected FSM response %T", f.Response())
	}
	return res, nil
}

// forwardApply sends data to the leader. retry is true when the request
// certainly did not apply (it was never sent, or reached a non-leader).
func (s *Server) forwardApply(ctx context.Context, leader string, data []byte) (res catalog.Result, err error, retry bool) {
	var resp ApplyResponse
	if err := s.pool.call(ctx, leader, "Apply", &ApplyRequest{Data: data}, &resp); err != nil {
		if errors.Is(err, errNotSent) {
			return res, err, true
		}
		return res, fmt.Errorf("%w: forward to leader: %w", ErrOutcomeUnknown, err), false
	}
	if resp.NotLeader {
		return res, nil, true
	}
	res = catalog.Result{Index: resp.Index, OK: resp.OK, Txn: resp.Txn, Err: catalog.ErrorFromCode(resp.ErrCode, resp.ErrMsg)}
	if resp.Unknown {
		return res, fmt.Errorf("%w: %s", ErrOutcomeUnknown, resp.ErrMsg), false
	}
	return res, nil, false
}

// Consistency is a read mode, as Consul's.
type Consistency uint8

// Read modes.
const (
	// Default: the leader's state. A follower asks the leader for its
	// applied index and waits until it has applied as much itself.
	Default Consistency = iota
	// Stale: whatever this server has applied; no leader needed.
	Stale
	// Consistent: like Default, but the leader first confirms with a quorum
	// that it still leads, so the read is linearizable.
	Consistent
)

func (c Consistency) String() string {
	switch c {
	case Stale:
		return "stale"
	case Consistent:
		return "consistent"
	}
	return "leader"
}

// ReadInfo describes the state a read is served from, for the response
// headers (X-Consul-KnownLeader, X-Consul-LastContact, …).
type ReadInfo struct {
	KnownLeader bool
	LastContact time.Duration // since this server last heard from the leader; 0 on the leader
	Consistency Consistency
}

// Read prepares a read in the given mode: when it returns without error,
// reading Store() yields state at least as fresh as the mode promises.
func (s *Server) Read(ctx context.Context, mode Consistency) (ReadInfo, error) {
	info := s.readInfo(mode)
	if mode == Stale || mode == Default && s.IsLeader() {
		// Nothing to wait for: the hot path of every default read on the
		// leader costs no timer or round trip.
		return info, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RPCTimeout)
		defer cancel()
	}
	if s.IsLeader() {
		idx, err := s.leaderReadIndex(ctx, mode == Consistent)
		if err != nil {
			return info, err
		}
		return info, s.fsm.WaitApplied(ctx, idx)
	}
	leader := s.Leader().Addr
	if leader == "" {
		return info, ErrNoLeader
	}
	var resp ReadIndexResponse
	if err := s.pool.call(ctx, leader, "ReadIndex", &ReadIndexRequest{Consistent: mode == Consistent}, &resp); err != nil {
		return info, fmt.Errorf("%w: %w", ErrNoLeader, err)
	}
	switch {
	case resp.NotLeader:
		return info, ErrNoLeader
	case resp.ErrMsg != "":
		return info, fmt.Errorf("%w: leader: %s", ErrNoLeader, resp.ErrMsg)
	}
	return info, s.fsm.WaitApplied(ctx, resp.Index)
}

func (s *Server) readInfo(mode Consistency) ReadInfo {
	info := ReadInfo{Consistency: mode, KnownLeader: s.Leader().Addr != ""}
	if !s.IsLeader() {
		if last := s.raft.LastContact(); !last.IsZero() {
			info.LastContact = time.Since(last)
		}
	}
	return info
}

// leaderReadIndex returns the index a read must reflect, on the leader:
// that of the last entry up to its commit index that the FSM sees. For a
// consistent read it first waits (within ctx) until a new leader is ready
// — its barrier applied everything committed in earlier terms — and then
// checks that it still leads a quorum.
//
// The commit index, not the leader's applied index: followers learn of a
// commit from the leader and may apply it before the leader's own FSM
// does. A read index at the leader's applied index let a read on such a
// follower return a new value and a later read elsewhere the old one
// (found by TestLinearizableUnderFaults). Entries the FSM never sees
// (noops, barriers) change nothing, so the read index steps back over
// them: the FSM's applied index never reaches them.
func (s *Server) leaderReadIndex(ctx context.Context, consistent bool) (uint64, error) {
	if consistent {
		if err := s.waitReady(ctx); err != nil {
			return 0, err
		}
		if err := s.await(ctx, s.raft.VerifyLeader()); err != nil {
			return 0, fmt.Errorf("%w: verify leadership: %w", ErrNoLeader, err)
		}
	}
	applied := s.fsm.Applied()
	for idx := s.raft.CommitIndex(); idx > applied; idx-- {
		var l raft.Log
		if err := s.logCache.GetLog(idx, &l); err != nil {
			return 0, fmt.Errorf("%w: read index: log entry %d: %w", ErrNoLeader, idx, err)
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			return idx, nil
		}
	}
	return applied, nil
}

// waitReady waits until this leader is ready for consistent reads. It
// gives up when leadership is lost, ctx ends or the server stops.
func (s *Server) waitReady(ctx context.Context) error {
	for delay := time.Millisecond; !s.ready.Load(); delay = min(2*delay, 20*time.Millisecond) {
		if !s.IsLeader() {
			return fmt.Errorf("%w: leadership lost", ErrNotReady)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
		case <-s.shutdownCh:
			return ErrShutdown
		}
	}
	return nil
}
