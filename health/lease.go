package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"golang.org/x/time/rate"

	"github.com/beacon-sd/beacon/catalog"
)

// Outputs of the node liveness check, as Consul's serfHealth words them.
const (
	LivenessPassingOutput  = "Agent alive and reachable"
	LivenessCriticalOutput = "Agent not live or unreachable"
)

// SessionTTLMultiplier: a TTL session is invalidated once it goes this
// many TTLs without a renewal (Consul's SessionTTLMultiplier).
const SessionTTLMultiplier = 2

// ErrNotLeading is returned by lease renewals made on a server that is not
// (or not yet) the leader that runs the leases; the caller forwards them to
// the leader or retries.
var ErrNotLeading = errors.New("leases are not running on this server (not the leader)")

// LeaseConfig tunes the leader-side timers.
type LeaseConfig struct {
	// NodeTTL is how long a node's lease lasts without a renewal; agents
	// renew every NodeTTL/3.
	NodeTTL time.Duration
	// Grace is added to every timer when a server becomes leader (the
	// election timeout): together with a fresh full TTL it covers the
	// renewals lost while there was no leader.
	Grace time.Duration
	// ExpiryRate bounds expiries (nodes plus sessions) per second, so a
	// mass expiry cannot flood the log.
	ExpiryRate float64
	// Tick is how often the timers are scanned; 0: NodeTTL/20, within
	// [10ms, 250ms].
	Tick time.Duration
	// ReapLeftAfter is how long a node that left stays listed as left
	// (Consul: 72h); 0 keeps it forever.
	ReapLeftAfter time.Duration
	// ReapFailedAfter is how long a node may stay failed (its lease
	// expired, never renewed) before the leader deregisters it, as
	// Consul's reconnect_timeout (72h); 0 keeps it forever. The clock is
	// the leader's: a new leader starts it again for every failed node.
	ReapFailedAfter time.Duration
}

// DefaultLeaseConfig returns the defaults: a 10 s node lease, expiries at
// up to 1,000/s, left and failed nodes kept for 72 h.
func DefaultLeaseConfig() LeaseConfig {
	return LeaseConfig{NodeTTL: 10 * time.Second, Grace: time.Second, ExpiryRate: 1000, ReapLeftAfter: 72 * time.Hour, ReapFailedAfter: 72 * time.Hour}
}

// Validate checks the settings.
func (c LeaseConfig) Validate() error {
	switch {
	case c.NodeTTL <= 0:
		return fmt.Errorf("leases: NodeTTL must be positive, got %s", c.NodeTTL)
	case c.Grace < 0:
		return fmt.Errorf("leases: Grace must not be negative, got %s", c.Grace)
	case c.ExpiryRate <= 0:
		return fmt.Errorf("leases: ExpiryRate must be positive, got %v", c.ExpiryRate)
	case c.Tick < 0 || c.ReapLeftAfter < 0 || c.ReapFailedAfter < 0:
		return errors.New("leases: Tick, ReapLeftAfter and ReapFailedAfter must not be negative")
	}
	return nil
}

func (c LeaseConfig) tick() time.Duration {
	if c.Tick > 0 {
		return c.Tick
	}
	return min(max(c.NodeTTL/20, 10*time.Millisecond), 250*time.Millisecond)
}

// LeaseWriter is how the leases change the catalog: through Raft, on the
// leader. The agent implements it over raftstore.
type LeaseWriter interface {
	// VerifyLeader confirms with a quorum that this server still leads.
	VerifyLeader(ctx context.Context) error
	// Apply commits a command through Raft.
	Apply(ctx context.Context, cmd catalog.Command) (catalog.Result, error)
}

// LeaseGrant answers a node's renewal.
type LeaseGrant struct {
	TTL   time.Duration // the node's lease lasts this long from now
	Nodes int           // nodes the leader tracks: the cluster's size
}

// LeaseStats counts what the leases did since the process started.
type LeaseStats struct {
	Nodes, Sessions            int    // tracked now (0 when not leading)
	NodesExpired, NodesRevived uint64 // liveness writes
	SessionsExpired            uint64
	NodesReaped                uint64 // failed nodes deregistered after ReapFailedAfter
	Renewals                   uint64 // node and session renewals accepted
}

// Leases are the leader-side timers of node liveness and TTL sessions
// (ARCHITECTURE.md rules 1 and 2). A renewal only moves a deadline in
// memory; only an expiry (or a node coming back) is written through Raft.
// The leader that starts them (Lead) gives every timer a fresh full TTL
// plus Grace, confirms its leadership before each batch of expiries, and
// expires at most ExpiryRate entries per second.
//
// The timers follow the catalog: the nodes that have a liveness check
// (serfHealth) and the sessions that have a TTL, as found at Lead and then
// through the catalog's event log.
type Leases struct {
	cfg   LeaseConfig
	store *catalog.Store
	w     LeaseWriter
	log   *slog.Logger

	mu    sync.Mutex
	term  *leaseTerm // nil when not leading
	stats LeaseStats
}

// NewLeases returns leases over store that write through w. They run only
// between Lead and Follow.
func NewLeases(cfg LeaseConfig, store *catalog.Store, w LeaseWriter, log *slog.Logger) (*Leases, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Leases{cfg: cfg, store: store, w: w, log: log}, nil
}

// Config returns the leases' settings.
func (l *Leases) Config() LeaseConfig { return l.cfg }

// nodeLease is one node's timer.
type nodeLease struct {
	deadline    time.Time
	alive       bool      // its liveness check is not critical, as last known
	failedSince time.Time // when this term saw it go (or found it) critical
	rev         uint64    // ModifyIndex of the liveness check that state is from
	pending     bool      // an expiry, revival or reap write is in flight
}

// setAlive records the node's liveness as last known.
func (n *nodeLease) setAlive(alive bool, now time.Time) {
	switch {
	case alive:
		n.failedSince = time.Time{}
	case n.alive || n.failedSince.IsZero():
		n.failedSince = now
	}
	n.alive = alive
}

// reapEvery is how often left and failed nodes are looked for: hourly, or
// more often when a reap delay is short (tests).
func (c LeaseConfig) reapEvery() time.Duration {
	every := time.Hour
	for _, d := range []time.Duration{c.ReapLeftAfter, c.ReapFailedAfter} {
		if d > 0 {
			every = min(every, max(d/4, c.tick()))
		}
	}
	return every
}

// sessionLease is one TTL session's timer.
type sessionLease struct {
	deadline time.Time
	ttl      time.Duration
	pending  bool
}

// leaseTerm is the state of one term of leadership: the timers start
// fresh with each.
type leaseTerm struct {
	ctx      context.Context
	cancel   context.CancelFunc
	ready    bool // the catalog has been loaded: renewals are accepted
	nodes    map[string]*nodeLease
	sessions map[string]*sessionLease
	revive   map[string]bool // nodes renewed while critical, to be written passing
	wake     chan struct{}   // a revival is queued
}

// Lead starts the timers: this server has become the leader and applied
// every earlier entry. Every node and session found gets a fresh TTL plus
// Grace. Lead returns at once; renewals are accepted once the catalog is
// loaded.
func (l *Leases) Lead() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.term != nil {
		l.term.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &leaseTerm{ctx: ctx, cancel: cancel, nodes: map[string]*nodeLease{}, sessions: map[string]*sessionLease{},
		revive: map[string]bool{}, wake: make(chan struct{}, 1)}
	l.term = t
	go l.run(t)
}

// Follow stops the timers: this server no longer leads. Writes in flight
// fail or land; nothing more is expired until the next Lead.
func (l *Leases) Follow() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.term != nil {
		l.term.cancel()
		l.term = nil
	}
}

// Stats returns counters and the number of timers running.
func (l *Leases) Stats() LeaseStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stats
	if l.term != nil {
		st.Nodes, st.Sessions = len(l.term.nodes), len(l.term.sessions)
	}
	return st
}

// activeLocked returns the running term, or ErrNotLeading.
func (l *Leases) activeLocked() (*leaseTerm, error) {
	if l.term == nil || !l.term.ready {
		return nil, ErrNotLeading
	}
	return l.term, nil
}

// RenewNode extends a node's lease by one NodeTTL. A node whose liveness
// check is critical (it had expired) is written passing again. A node
// without a liveness check in the catalog is not tracked until it has one.
func (l *Leases) RenewNode(node string) (LeaseGrant, error) {
	l.mu.Lock()
	t, err := l.activeLocked()
	if err != nil {
		l.mu.Unlock()
		return LeaseGrant{}, err
	}
	n := t.nodes[node]
	if n == nil {
		l.mu.Unlock()
		var c *catalog.Check
		if err := l.store.View(func(tx *catalog.ReadTx) error {
			c = tx.Check(node, NodeLivenessID)
			return tx.Err()
		}); err != nil {
			return LeaseGrant{}, err
		}
		l.mu.Lock()
		if l.term != t {
			l.mu.Unlock()
			return LeaseGrant{}, ErrNotLeading
		}
		if n = t.nodes[node]; n == nil {
			if c == nil {
				// Not registered (yet): its registration's event starts
				// the timer; tracking it now could only leak one.
				l.stats.Renewals++
				g := LeaseGrant{TTL: l.cfg.NodeTTL, Nodes: len(t.nodes)}
				l.mu.Unlock()
				return g, nil
			}
			n = &nodeLease{alive: c.Status != catalog.HealthCritical, rev: c.ModifyIndex}
			t.nodes[node] = n
		}
	}
	n.deadline = time.Now().Add(l.cfg.NodeTTL)
	if !n.alive && !n.pending && !t.revive[node] {
		t.revive[node] = true
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	l.stats.Renewals++
	g := LeaseGrant{TTL: l.cfg.NodeTTL, Nodes: len(t.nodes)}
	l.mu.Unlock()
	metrics.IncrCounter([]string{"leases", "renewals"}, 1)
	return g, nil
}

// RenewSession extends a TTL session's timer by SessionTTLMultiplier
// TTLs and returns the session; nil if it does not exist.
func (l *Leases) RenewSession(id string) (*catalog.Session, error) {
	l.mu.Lock()
	t, err := l.activeLocked()
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var s *catalog.Session
	if err := l.store.View(func(tx *catalog.ReadTx) error {
		s, _ = tx.Session(id)
		return tx.Err()
	}); err != nil || s == nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.term != t {
		return nil, ErrNotLeading
	}
	if s.TTL > 0 {
		sl := t.sessions[id]
		if sl == nil {
			sl = &sessionLease{ttl: s.TTL}
			t.sessions[id] = sl
		}
		sl.deadline = time.Now().Add(SessionTTLMultiplier * s.TTL)
	}
	l.stats.Renewals++
	return s, nil
}

// run is one term's work: load the catalog, then follow its events and
// expire what is due, until the term ends.
func (l *Leases) run(t *leaseTerm) {
	var rev uint64
	for {
		var err error
		if rev, err = l.load(t); err == nil {
			break
		}
		l.log.Warn("leases: loading the catalog failed", "error", err)
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	go l.follow(t, rev+1)
	tick := time.NewTicker(l.cfg.tick())
	defer tick.Stop()
	reap := time.NewTicker(l.cfg.reapEvery())
	defer reap.Stop()
	gauges := time.NewTicker(time.Second)
	defer gauges.Stop()
	burst := max(1, min(64, int(l.cfg.ExpiryRate)))
	lim := rate.NewLimiter(rate.Limit(l.cfg.ExpiryRate), burst)
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-t.wake:
			l.revive(t)
		case <-tick.C:
			l.revive(t)
			l.expire(t, lim, burst)
		case <-reap.C:
			l.reapLeft(t)
			l.reapFailed(t)
		case <-gauges.C:
			st := l.Stats()
			metrics.SetGauge([]string{"leases", "nodes"}, float32(st.Nodes))
			metrics.SetGauge([]string{"leases", "sessions"}, float32(st.Sessions))
		}
	}
}

// load reads every node with a liveness check and every TTL session,
// giving each a fresh full TTL plus Grace, and returns the revision read.
func (l *Leases) load(t *leaseTerm) (uint64, error) {
	type nodeState struct {
		name  string
		alive bool
		rev   uint64
	}
	var (
		nodes    []nodeState
		sessions []*catalog.Session
		rev      uint64
	)
	err := l.store.View(func(tx *catalog.ReadTx) error {
		rev = tx.CurrentRevision()
		all, _ := tx.Nodes()
		for _, n := range all {
			if c := tx.Check(n.Node, NodeLivenessID); c != nil {
				nodes = append(nodes, nodeState{n.Node, c.Status != catalog.HealthCritical, c.ModifyIndex})
			}
		}
		sessions, _ = tx.Sessions()
		return tx.Err()
	})
	if err != nil {
		return 0, err
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.term != t {
		return rev, nil
	}
	// On a reload (the event log was compacted past what was read), the
	// catalog replaces what the timers knew: entries gone lose their
	// timers and liveness changes are taken over, as refresh does.
	present := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		present[n.name] = true
		switch nl := t.nodes[n.name]; {
		case nl == nil:
			nl = &nodeLease{deadline: now.Add(l.cfg.NodeTTL + l.cfg.Grace), rev: n.rev}
			nl.setAlive(n.alive, now)
			t.nodes[n.name] = nl
		case n.rev > nl.rev && !nl.pending:
			if n.alive && !nl.alive {
				nl.deadline = now.Add(l.cfg.NodeTTL)
			}
			nl.setAlive(n.alive, now)
			nl.rev = n.rev
		}
	}
	for name := range t.nodes {
		if !present[name] {
			delete(t.nodes, name)
			delete(t.revive, name)
		}
	}
	live := make(map[string]bool, len(sessions))
	for _, s := range sessions {
		if s.TTL > 0 {
			live[s.ID] = true
			if t.sessions[s.ID] == nil {
				t.sessions[s.ID] = &sessionLease{ttl: s.TTL, deadline: now.Add(SessionTTLMultiplier*s.TTL + l.cfg.Grace)}
			}
		}
	}
	for id := range t.sessions {
		if !live[id] {
			delete(t.sessions, id)
		}
	}
	t.ready = true
	l.log.Info("leases running", "nodes", len(t.nodes), "sessions", len(t.sessions), "grace", l.cfg.NodeTTL+l.cfg.Grace)
	return rev, nil
}

// follow reads the event log from rev on, updating the timers of the
// nodes and sessions that changed. A compacted log reloads everything.
func (l *Leases) follow(t *leaseTerm, rev uint64) {
	hub := l.store.Hub()
	for {
		w := hub.Watch(catalog.TableWatch(catalog.TableChecks), catalog.TableWatch(catalog.TableNodes),
			catalog.TableWatch(catalog.TableSessions))
		next, err := l.catchUp(t, rev)
		switch {
		case errors.Is(err, catalog.ErrCompacted):
			cur, lerr := l.load(t)
			if lerr != nil {
				l.log.Warn("leases: reloading the catalog failed", "error", lerr)
			} else {
				next = cur + 1
			}
		case errors.Is(err, catalog.ErrClosed): // the server is shutting down
			w.Stop()
			return
		case err != nil:
			l.log.Warn("leases: reading the event log failed", "error", err)
			next = rev
		}
		rev = next
		select {
		case <-t.ctx.Done():
			w.Stop()
			return
		case <-w.C():
		}
		// Coalesce bursts of changes into one read.
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// catchUp applies the events from rev on and returns the next revision.
func (l *Leases) catchUp(t *leaseTerm, rev uint64) (uint64, error) {
	for {
		var (
			events []catalog.Event
			next   uint64
		)
		err := l.store.View(func(tx *catalog.ReadTx) error {
			var err error
			events, next, err = tx.Events(rev, 4096)
			return err
		})
		if err != nil {
			return rev, err
		}
		nodes, sessions := map[string]bool{}, map[string]bool{}
		for _, ev := range events {
			switch ev.Table {
			case catalog.TableNodes:
				if ev.Type == catalog.EventDelete {
					nodes[ev.Key] = true
				}
			case catalog.TableChecks:
				if node, ok := strings.CutSuffix(ev.Key, "/"+NodeLivenessID); ok {
					nodes[node] = true
				}
			case catalog.TableSessions:
				sessions[ev.Key] = true
			}
		}
		if len(nodes)+len(sessions) > 0 {
			if err := l.refresh(t, nodes, sessions); err != nil {
				return rev, err
			}
		}
		if next == rev || len(events) == 0 {
			return next, nil
		}
		rev = next
	}
}

// refresh brings the timers of the given nodes and sessions in line with
// the catalog as it is now (events only say what to look at).
func (l *Leases) refresh(t *leaseTerm, nodes, sessions map[string]bool) error {
	checks := make(map[string]*catalog.Check, len(nodes))
	sess := make(map[string]*catalog.Session, len(sessions))
	err := l.store.View(func(tx *catalog.ReadTx) error {
		for n := range nodes {
			checks[n] = tx.Check(n, NodeLivenessID)
		}
		for id := range sessions {
			sess[id], _ = tx.Session(id)
		}
		return tx.Err()
	})
	if err != nil {
		return err
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, c := range checks {
		n := t.nodes[name]
		switch {
		case c == nil:
			delete(t.nodes, name)
			delete(t.revive, name)
		case n == nil:
			nl := &nodeLease{deadline: now.Add(l.cfg.NodeTTL), rev: c.ModifyIndex}
			nl.setAlive(c.Status != catalog.HealthCritical, now)
			t.nodes[name] = nl
		case c.ModifyIndex > n.rev:
			alive := c.Status != catalog.HealthCritical
			if alive && !n.alive {
				n.deadline = now.Add(l.cfg.NodeTTL)
			}
			n.setAlive(alive, now)
			n.rev = c.ModifyIndex
		}
	}
	for id, s := range sess {
		switch {
		case s == nil || s.TTL == 0:
			delete(t.sessions, id)
		case t.sessions[id] == nil:
			t.sessions[id] = &sessionLease{ttl: s.TTL, deadline: now.Add(SessionTTLMultiplier * s.TTL)}
		}
	}
	return nil
}

// expire writes the liveness of every node whose lease ran out critical
// and destroys every session whose TTL ran out, at most ExpiryRate per
// second, confirming leadership before each batch.
func (l *Leases) expire(t *leaseTerm, lim *rate.Limiter, batch int) {
	for {
		now := time.Now()
		var nodes, sessions []string
		l.mu.Lock()
		for name, n := range t.nodes {
			if len(nodes) < batch && n.alive && !n.pending && now.After(n.deadline) {
				n.pending = true
				nodes = append(nodes, name)
			}
		}
		for id, s := range t.sessions {
			if len(nodes)+len(sessions) < batch && !s.pending && now.After(s.deadline) {
				s.pending = true
				sessions = append(sessions, id)
			}
		}
		l.mu.Unlock()
		if len(nodes)+len(sessions) == 0 {
			return
		}
		err := lim.WaitN(t.ctx, len(nodes)+len(sessions))
		if err == nil {
			err = l.w.VerifyLeader(t.ctx)
		}
		if err != nil {
			l.unpend(t, nodes, sessions)
			if t.ctx.Err() == nil {
				l.log.Warn("leases: not expiring: leadership not confirmed", "error", err)
			}
			return
		}
		l.expireNodes(t, nodes)
		l.expireSessions(t, sessions)
	}
}

// unpend clears the pending marks of entries whose write did not happen.
func (l *Leases) unpend(t *leaseTerm, nodes, sessions []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, name := range nodes {
		if n := t.nodes[name]; n != nil {
			n.pending = false
		}
	}
	for _, id := range sessions {
		if s := t.sessions[id]; s != nil {
			s.pending = false
		}
	}
}

func (l *Leases) expireNodes(t *leaseTerm, nodes []string) {
	if len(nodes) == 0 {
		return
	}
	// A renewal may have arrived while leadership was being confirmed.
	now := time.Now()
	var due []string
	var updates []catalog.CheckUpdate
	l.mu.Lock()
	for _, name := range nodes {
		if n := t.nodes[name]; n != nil {
			if now.After(n.deadline) {
				due = append(due, name)
				updates = append(updates, catalog.CheckUpdate{Node: name, CheckID: NodeLivenessID, Status: catalog.HealthCritical, Output: LivenessCriticalOutput})
			} else {
				n.pending = false
			}
		}
	}
	l.mu.Unlock()
	if len(updates) == 0 {
		return
	}
	res, err := l.w.Apply(t.ctx, &catalog.CheckStatusRequest{Updates: updates})
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, name := range due {
		n := t.nodes[name]
		if n == nil {
			continue
		}
		n.pending = false
		if err == nil && res.Index > n.rev {
			n.setAlive(false, now)
			n.rev = res.Index
			if now.Before(n.deadline) { // renewed during the write: bring it back
				t.revive[name] = true
			}
		}
	}
	if err != nil {
		l.log.Warn("leases: expiring nodes failed", "nodes", len(due), "error", err)
		return
	}
	l.stats.NodesExpired += uint64(len(due))
	metrics.IncrCounter([]string{"leases", "nodes", "expired"}, float32(len(due)))
	l.log.Info("node lease expired: liveness critical", "nodes", due)
}

func (l *Leases) expireSessions(t *leaseTerm, ids []string) {
	for _, id := range ids {
		l.mu.Lock()
		s := t.sessions[id]
		if s == nil || !time.Now().After(s.deadline) {
			if s != nil {
				s.pending = false
			}
			l.mu.Unlock()
			continue
		}
		l.mu.Unlock()
		_, err := l.w.Apply(t.ctx, &catalog.SessionRequest{Op: catalog.SessionDestroy, Session: catalog.Session{ID: id}})
		l.mu.Lock()
		if err != nil {
			s.pending = false
		} else {
			delete(t.sessions, id)
			l.stats.SessionsExpired++
			metrics.IncrCounter([]string{"leases", "sessions", "expired"}, 1)
		}
		l.mu.Unlock()
		if err != nil {
			l.log.Warn("leases: invalidating an expired session failed", "session", id, "error", err)
		} else {
			l.log.Info("session TTL expired: invalidated", "session", id)
		}
	}
}

// revive writes passing the liveness of nodes that renewed while critical.
func (l *Leases) revive(t *leaseTerm) {
	l.mu.Lock()
	if len(t.revive) == 0 {
		l.mu.Unlock()
		return
	}
	var names []string
	var updates []catalog.CheckUpdate
	for name := range t.revive {
		n := t.nodes[name]
		switch {
		case n == nil || n.alive:
			delete(t.revive, name)
		case n.pending || len(updates) >= catalog.MaxCheckUpdates:
			// An expiry is in flight, or the batch is full: next time.
		default:
			delete(t.revive, name)
			n.pending = true
			names = append(names, name)
			updates = append(updates, catalog.CheckUpdate{Node: name, CheckID: NodeLivenessID, Status: catalog.HealthPassing, Output: LivenessPassingOutput})
		}
	}
	l.mu.Unlock()
	if len(updates) == 0 {
		return
	}
	res, err := l.w.Apply(t.ctx, &catalog.CheckStatusRequest{Updates: updates})
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, name := range names {
		if n := t.nodes[name]; n != nil {
			n.pending = false
			if err == nil && res.Index > n.rev {
				n.setAlive(true, time.Now())
				n.rev = res.Index
			} else if err != nil {
				t.revive[name] = true
			}
		}
	}
	if err != nil {
		l.log.Warn("leases: reviving nodes failed", "nodes", len(names), "error", err)
		return
	}
	l.stats.NodesRevived += uint64(len(names))
	metrics.IncrCounter([]string{"leases", "nodes", "revived"}, float32(len(names)))
	l.log.Info("node renewed its lease: liveness passing", "nodes", names)
}

// reapLeft forgets the nodes that left longer than ReapLeftAfter ago.
func (l *Leases) reapLeft(t *leaseTerm) {
	if l.cfg.ReapLeftAfter <= 0 {
		return
	}
	before := time.Now().Add(-l.cfg.ReapLeftAfter)
	due := false
	_ = l.store.View(func(tx *catalog.ReadTx) error {
		left, _ := tx.LeftMembers()
		for _, m := range left {
			if m.LeftTime.Before(before) {
				due = true
			}
		}
		return tx.Err()
	})
	if !due {
		return
	}
	if _, err := l.w.Apply(t.ctx, &catalog.MemberRequest{Op: catalog.MemberReap, Before: before}); err != nil {
		l.log.Warn("leases: reaping left nodes failed", "error", err)
	}
}

// reapFailed deregisters the nodes that have been failed for longer than
// ReapFailedAfter (as this term has seen them), as Consul reaps members
// that do not reconnect within reconnect_timeout: the node, its services
// and its checks leave the catalog. An agent that comes back registers
// its node again.
func (l *Leases) reapFailed(t *leaseTerm) {
	if l.cfg.ReapFailedAfter <= 0 {
		return
	}
	before := time.Now().Add(-l.cfg.ReapFailedAfter)
	var due []string
	l.mu.Lock()
	for name, n := range t.nodes {
		if !n.alive && !n.pending && !n.failedSince.IsZero() && n.failedSince.Before(before) {
			n.pending = true
			due = append(due, name)
		}
	}
	l.mu.Unlock()
	if len(due) == 0 {
		return
	}
	defer l.unpend(t, due, nil)
	if err := l.w.VerifyLeader(t.ctx); err != nil {
		if t.ctx.Err() == nil {
			l.log.Warn("leases: not reaping failed nodes: leadership not confirmed", "error", err)
		}
		return
	}
	for _, name := range due {
		l.mu.Lock()
		n := t.nodes[name]
		revived := n == nil || n.alive || t.revive[name]
		l.mu.Unlock()
		if revived { // it renewed its lease meanwhile
			continue
		}
		if _, err := l.w.Apply(t.ctx, &catalog.DeregisterRequest{Node: name}); err != nil {
			l.log.Warn("leases: reaping a failed node failed", "node", name, "error", err)
			return
		}
		l.mu.Lock()
		l.stats.NodesReaped++
		l.mu.Unlock()
		metrics.IncrCounter([]string{"leases", "nodes", "reaped"}, 1)
		l.log.Info("failed node reaped: deregistered", "node", name, "failed_for_more_than", l.cfg.ReapFailedAfter)
	}
}
