package local

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

// Catalog is the replicated catalog as anti-entropy uses it. Methods are
// called from the sync goroutine only, one at a time, and must be safe to
// call concurrently with the rest of the agent. They may block on the
// network (a client reaches a server; a server forwards writes to the
// leader); ctx bounds them.
type Catalog interface {
	// Apply validates cmd, commits it through Raft and returns its result.
	Apply(ctx context.Context, cmd catalog.Command) (catalog.Result, error)
	// NodeState returns this node's catalog entry, services and checks
	// (nil node if absent).
	NodeState(ctx context.Context, node string) (*catalog.Node, []*catalog.Service, []*catalog.Check, error)
}

// runner is a started health-check runner.
type runner interface{ Stop() }

// serviceEntry is one service as the agent knows it.
type serviceEntry struct {
	svc     catalog.Service
	inSync  bool   // the catalog holds exactly svc
	deleted bool   // to be deregistered from the catalog, then forgotten
	version uint64 // State.seq at the last change
}

// checkEntry is one check as the agent knows it.
type checkEntry struct {
	check   catalog.Check
	inSync  bool
	deleted bool
	version uint64
	// synced is the catalog's copy as last seen or written, nil if
	// unknown: when only Status and Output differ from it, a
	// CheckStatusRequest syncs the check.
	synced *catalog.Check
	// deferUntil, when set, is when an output-only change must be synced.
	deferUntil time.Time
	// reported is set by the first result after the check was added (or
	// loaded); until then an empty output is only a placeholder, and the
	// first result's output is synced at once, not deferred.
	reported bool
	// criticalSince is when the check last became critical (zero if it is
	// not), for DeregisterCriticalServiceAfter.
	criticalSince time.Time
	runner        runner
	ttl           *health.TTL
}

// State is an agent's local state. It is safe for concurrent use.
//
// Lock order: State.mu before a runner's own lock. Runners report through
// a callback that takes State.mu, so they are stopped only after State.mu
// is released.
type State struct {
	cfg Config
	cat Catalog
	log *slog.Logger

	mu             sync.Mutex // guards the following
	node           catalog.Node
	reconciled     bool // a full sync has compared the catalog with the local state
	nodeInSync     bool
	livenessInSync bool
	services       map[string]*serviceEntry
	checks         map[string]*checkEntry
	seq            uint64
	changed        chan struct{} // closed at the next change of services or checks
	syncEvent      chan struct{} // closed at the end of the next sync round
	closed         bool

	trigger chan struct{}   // cap 1: changes to push
	fullReq chan struct{}   // cap 1: a full sync is wanted
	syncReq chan chan error // SyncChanges callers
	started atomic.Bool
	// clusterSize is the number of nodes, as the leader last said.
	clusterSize atomic.Int64
	startCh     chan struct{}   // closed by Start
	ctx         context.Context // cancelled by Close
	cancel      context.CancelFunc
	done        chan struct{} // closed when the sync loop ends
}

// New builds the local state and loads what Dir holds. Files that do not
// parse are logged with their name and skipped; only an unusable
// directory is an error. Check runners start at once; anti-entropy starts
// with Start.
func New(cfg Config, cat Catalog, log *slog.Logger) (*State, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cat == nil {
		return nil, errors.New("local: a Catalog is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &State{
		cfg:       cfg,
		cat:       cat,
		log:       log,
		node:      cloneNode(cfg.Node),
		services:  map[string]*serviceEntry{},
		checks:    map[string]*checkEntry{},
		changed:   make(chan struct{}),
		syncEvent: make(chan struct{}),
		trigger:   make(chan struct{}, 1),
		fullReq:   make(chan struct{}, 1),
		syncReq:   make(chan chan error),
		startCh:   make(chan struct{}),
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
	}
	if err := s.load(); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// Start begins anti-entropy: a full sync at once, then changes as they
// happen and a full sync every SyncInterval. Calling it again is a no-op.
func (s *State) Start() {
	if s.started.CompareAndSwap(false, true) {
		close(s.startCh)
		go s.run()
	}
}

// Close stops anti-entropy and every check runner. Nothing is
// deregistered: a restarted agent picks up where it left off.
func (s *State) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var stop []runner
	for _, ce := range s.checks {
		stop = append(stop, detachRunnerLocked(ce)...)
	}
	s.mu.Unlock()
	s.cancel()
	if s.started.Load() {
		<-s.done
	}
	for _, r := range stop {
		r.Stop()
	}
	return nil
}

// Node returns this node's catalog entry.
func (s *State) Node() catalog.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneNode(s.node)
}

// Services returns copies of the registered services, by ID.
func (s *State) Services() []*catalog.Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*catalog.Service, 0, len(s.services))
	for _, se := range s.services {
		if !se.deleted {
			out = append(out, cloneService(se.svc))
		}
	}
	slices.SortFunc(out, func(a, b *catalog.Service) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Service returns a copy of one service, nil if it is not registered.
func (s *State) Service(id string) *catalog.Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	if se := s.services[id]; se != nil && !se.deleted {
		return cloneService(se.svc)
	}
	return nil
}

// Checks returns copies of the registered checks, by ID.
func (s *State) Checks() []*catalog.Check {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*catalog.Check, 0, len(s.checks))
	for _, ce := range s.checks {
		if !ce.deleted {
			out = append(out, cloneCheck(ce.check))
		}
	}
	slices.SortFunc(out, func(a, b *catalog.Check) int { return cmp.Compare(a.CheckID, b.CheckID) })
	return out
}

// Check returns a copy of one check, nil if it is not registered.
func (s *State) Check(id string) *catalog.Check {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ce := s.checks[id]; ce != nil && !ce.deleted {
		return cloneCheck(ce.check)
	}
	return nil
}

// Changed returns a channel closed at the next change of the services or
// checks (a registration, a status or output change): for hash-based
// blocking queries on the agent's endpoints.
func (s *State) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// InSync reports whether the catalog was, at the end of the last sync,
// equal to the local state (ignoring deferred output changes).
func (s *State) InSync() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inSyncLocked()
}

// WaitSynced blocks until the catalog holds the local state (see InSync)
// or ctx ends.
func (s *State) WaitSynced(ctx context.Context) error {
	for {
		s.mu.Lock()
		ok, ch := s.inSyncLocked(), s.syncEvent
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *State) inSyncLocked() bool {
	if !s.reconciled || !s.nodeInSync || !s.livenessInSync {
		return false
	}
	for _, se := range s.services {
		if !se.inSync || se.deleted {
			return false
		}
	}
	for _, ce := range s.checks {
		if !ce.inSync || ce.deleted {
			return false
		}
	}
	return true
}

// bumpLocked records a change: a new version for the changed entry, a
// wake-up for watchers and for the sync loop.
func (s *State) bumpLocked() uint64 {
	s.seq++
	close(s.changed)
	s.changed = make(chan struct{})
	select {
	case s.trigger <- struct{}{}:
	default:
	}
	return s.seq
}

// detachRunnerLocked takes a check's runners out of it; the caller stops
// them once State.mu is released.
func detachRunnerLocked(ce *checkEntry) []runner {
	var out []runner
	if ce.runner != nil {
		out = append(out, ce.runner)
		ce.runner = nil
	}
	if ce.ttl != nil {
		out = append(out, ce.ttl)
		ce.ttl = nil
	}
	return out
}

func stopAll(rs []runner) {
	for _, r := range rs {
		r.Stop()
	}
}
