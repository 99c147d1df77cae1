package local

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

// Node liveness check the agent keeps on its node (see package doc).
const (
	livenessName   = "Node Liveness"
	livenessOutput = "Agent alive and reachable"
)

// SyncChanges pushes pending changes to the catalog now and returns once
// that round has ended, with its error. The HTTP handlers call it after a
// write, as Consul's do, so a client sees its registration in the
// catalog; a failure is not the caller's: anti-entropy retries. Before
// Start it waits for Start (an agent starts anti-entropy once it knows a
// leader), so a write made while the agent starts is in the catalog too
// when it returns.
func (s *State) SyncChanges(ctx context.Context) error {
	select {
	case <-s.startCh:
	case <-s.ctx.Done():
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	reply := make(chan error, 1)
	select {
	case s.syncReq <- reply:
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SyncFull asks for a full sync soon, without waiting for it.
func (s *State) SyncFull() {
	select {
	case s.fullReq <- struct{}{}:
	default:
	}
}

// run is the sync loop: the only goroutine that calls the Catalog. It
// does a full sync at start, then waits for the next reason to sync.
func (s *State) run() {
	defer close(s.done)
	l := &syncLoop{
		full:   time.NewTimer(s.fullSyncInterval()),
		reap:   time.NewTicker(s.cfg.ReapInterval),
		deferT: time.NewTimer(time.Hour),
	}
	defer l.full.Stop()
	defer l.reap.Stop()
	defer l.deferT.Stop()
	full, waiters := true, []chan error(nil)
	for s.ctx.Err() == nil {
		waiters = s.drainRequests(waiters)
		var err error
		if full {
			err = s.syncFull(s.ctx)
			l.full.Reset(s.fullSyncInterval())
		} else {
			err = s.syncChanges(s.ctx)
		}
		for _, w := range waiters {
			w <- err
		}
		s.endRound()
		l.record(s, err)
		l.deferT.Reset(s.nextDeferral())
		var ok bool
		if full, waiters, ok = s.next(l); !ok {
			return
		}
	}
}

// syncLoop holds the sync loop's timers and failure count.
type syncLoop struct {
	full     *time.Timer  // next periodic full sync
	reap     *time.Ticker // reaping of long-critical services
	deferT   *time.Timer  // next deferred output change
	retry    <-chan time.Time
	failures int
}

// record schedules a retry (a full sync) with backoff after a failure.
func (l *syncLoop) record(s *State, err error) {
	switch {
	case err == nil:
		l.failures, l.retry = 0, nil
	case s.ctx.Err() == nil:
		l.failures++
		delay := backoff(s.cfg.RetryMin, s.cfg.RetryMax, l.failures)
		s.log.Warn("syncing the local state to the catalog failed; will retry", "error", err, "retry_in", delay)
		l.retry = time.After(delay)
	}
}

// next waits for the next reason to sync: whether it calls for a full
// sync, the SyncChanges callers to answer, and false once closed.
func (s *State) next(l *syncLoop) (full bool, waiters []chan error, ok bool) {
	for {
		select {
		case <-s.ctx.Done():
			return false, nil, false
		case <-l.full.C:
			return true, nil, true
		case <-s.fullReq:
			return true, nil, true
		case <-l.retry:
			return true, nil, true
		case <-s.trigger:
			if l.failures == 0 { // while failing, the retry carries changes
				return false, nil, true
			}
		case <-l.deferT.C:
			return false, nil, true
		case w := <-s.syncReq:
			return false, []chan error{w}, true
		case <-l.reap.C:
			s.reap()
		}
	}
}

// drainRequests collects SyncChanges callers already waiting, so one
// round answers them all.
func (s *State) drainRequests(waiters []chan error) []chan error {
	for {
		select {
		case w := <-s.syncReq:
			waiters = append(waiters, w)
		default:
			return waiters
		}
	}
}

// endRound wakes WaitSynced callers.
func (s *State) endRound() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.syncEvent)
	s.syncEvent = make(chan struct{})
}

// nextDeferral is how long until the earliest deferred output change is
// due (an hour when there is none: the timer is reset every round).
func (s *State) nextDeferral() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := time.Hour
	for _, ce := range s.checks {
		if !ce.deferUntil.IsZero() {
			next = min(next, time.Until(ce.deferUntil))
		}
	}
	return max(next, 0)
}

// SetClusterSize tells anti-entropy how many nodes the cluster has: full
// syncs are spread out further in a larger cluster, so that their total
// rate stays bounded.
func (s *State) SetClusterSize(nodes int) { s.clusterSize.Store(int64(nodes)) }

// fullSyncInterval is the time until the next periodic full sync:
// SyncInterval times the cluster's scale factor, randomised ±25%.
func (s *State) fullSyncInterval() time.Duration {
	return jitter(s.cfg.SyncInterval * time.Duration(scaleFactor(int(s.clusterSize.Load()))))
}

// scaleFactor is Consul's: 1 up to 128 nodes, then one more for every
// doubling (2 at 256, 7 at 5,000).
func scaleFactor(nodes int) int {
	const threshold = 128
	if nodes <= threshold {
		return 1
	}
	return int(math.Ceil(math.Log2(float64(nodes))-math.Log2(threshold))) + 1
}

// jitter randomises d by ±25%.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2+1)
}

// backoff is min(max, min·2^(failures-1)).
func backoff(lo, hi time.Duration, failures int) time.Duration {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// syncFull reads this node's catalog entry, marks what differs from the
// local state, and pushes the differences.
func (s *State) syncFull(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	node, services, checks, err := s.cat.NodeState(cctx, s.cfg.Node.Node)
	cancel()
	if err != nil {
		return fmt.Errorf("read this node's catalog entry: %w", err)
	}
	s.mu.Lock()
	s.reconcileLocked(node, services, checks)
	s.reconciled = true
	s.mu.Unlock()
	return s.syncChanges(ctx)
}

// reconcileLocked compares the catalog's entry for this node with the
// local state: what differs is marked out of sync, what the catalog has
// and the agent does not know is marked for deregistration (except the
// node liveness check).
func (s *State) reconcileLocked(node *catalog.Node, services []*catalog.Service, checks []*catalog.Check) {
	s.nodeInSync = node != nil && nodeEqual(*node, s.node)
	remoteSvc := make(map[string]bool, len(services))
	for _, rs := range services {
		remoteSvc[rs.ID] = true
		se := s.services[rs.ID]
		switch {
		case se == nil:
			s.services[rs.ID] = &serviceEntry{svc: *rs, deleted: true}
		case !se.deleted:
			se.inSync = serviceEqual(se.svc, *rs)
		}
	}
	for id, se := range s.services {
		if !remoteSvc[id] {
			if se.deleted {
				delete(s.services, id)
			} else {
				se.inSync = false
			}
		}
	}
	remoteChk := make(map[string]bool, len(checks))
	s.livenessInSync = false
	for _, rc := range checks {
		if rc.CheckID == health.NodeLivenessID {
			// The leader owns the liveness check's status (it follows the
			// node's lease): the agent only registers it when missing.
			want, have := s.livenessCheck(), *rc
			have.Status, have.Output = want.Status, want.Output
			s.livenessInSync = checkEqual(have, want, false)
			continue
		}
		remoteChk[rc.CheckID] = true
		ce := s.checks[rc.CheckID]
		switch {
		case ce == nil:
			if se := s.services[rc.ServiceID]; rc.ServiceID != "" && se != nil && se.deleted {
				continue // goes with its service
			}
			s.checks[rc.CheckID] = &checkEntry{check: *rc, deleted: true}
		case !ce.deleted:
			ce.synced = cloneCheck(*rc)
			ce.inSync = checkEqual(ce.check, *rc, !ce.deferUntil.IsZero())
		}
	}
	for id, ce := range s.checks {
		if !remoteChk[id] {
			if ce.deleted {
				delete(s.checks, id)
			} else {
				ce.inSync, ce.synced = false, nil
			}
		}
	}
}

func (s *State) livenessCheck() catalog.Check {
	return catalog.Check{
		Node: s.node.Node, CheckID: health.NodeLivenessID, Name: livenessName,
		Status: catalog.HealthPassing, Output: livenessOutput,
	}
}

// syncOp is one command of a sync round; done runs under State.mu after
// the command succeeded, failed after it failed.
type syncOp struct {
	cmd    catalog.Command
	done   func()
	failed func(error)
}

// syncChanges pushes every out-of-sync entry, one command each (status-
// only changes share one CheckStatusRequest). A failed command leaves its
// entries out of sync; the others still go.
func (s *State) syncChanges(ctx context.Context) error {
	s.mu.Lock()
	s.promoteDeferredLocked(time.Now())
	ops := s.planLocked()
	s.mu.Unlock()
	var errs []error
	for _, op := range ops {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
		_, err := s.cat.Apply(cctx, op.cmd)
		cancel()
		s.mu.Lock()
		if err == nil {
			op.done()
		} else if op.failed != nil {
			op.failed(err)
		}
		s.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%T: %w", op.cmd, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// promoteDeferredLocked marks checks whose deferred output is due.
func (s *State) promoteDeferredLocked(now time.Time) {
	for _, ce := range s.checks {
		if !ce.deferUntil.IsZero() && !now.Before(ce.deferUntil) {
			ce.inSync, ce.deferUntil = false, time.Time{}
		}
	}
}
