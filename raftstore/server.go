package raftstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/hclogslog"
)

// logCacheSize is how many recent log entries stay in memory (a few MB).
const logCacheSize = 4096

// The leader's parallel append needs a LogCache that stages batches
// (third_party/raft/BEACON.md): this does not compile against an
// unpatched raft.
var _ interface{ StageLogs([]*raft.Log) } = (*raft.LogCache)(nil)

// Server is one member of the Raft group: it owns the log store, the
// catalog store, the transport and the RPC endpoint, and serves writes
// (forwarding them to the leader) and reads in the three consistency modes.
// Its methods are safe for concurrent use.
type Server struct {
	cfg   Config
	log   *slog.Logger
	self  Peer
	raft  *raft.Raft
	fsm   *FSM
	store *catalog.Store
	logs  *LogStore
	// logCache is the LogCache raft uses in front of logs (read indexes
	// look up recent entries through it).
	logCache *raft.LogCache
	mux      *mux
	trans    *raft.NetworkTransport
	pool     *rpcPool
	rpc      *rpc.Server
	http     *http.Server // serves ProtoHTTP connections once ServeHTTP is called

	ready      atomic.Bool   // leader has applied everything before its term
	leaderGen  atomic.Uint64 // bumped on every leadership change
	bootstrap  atomic.Bool   // this server bootstrapped or found existing state
	notifyCh   chan bool
	leaderFunc atomic.Pointer[LeaderFunc]

	// hookMu serialises leadership hook calls; it guards hook and
	// hookLeading (what the hook was last told).
	hookMu      sync.Mutex
	hook        func(leading bool)
	hookLeading bool
	shutdownCh  chan struct{}
	tick        *tick // write deadlines' coarse clock
	wg          sync.WaitGroup

	// mu guards known, bootstrapSet and stopped.
	mu           sync.Mutex
	known        map[string]Peer
	bootstrapSet []Peer
	stopped      bool
}

// New opens the stores in cfg.DataDir, starts the listener and raft, and
// begins cluster formation in the background. A server that already holds
// Raft state rejoins its cluster by itself.
func New(cfg Config) (s *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Network == nil {
		cfg.Network = TCP{}
	}
	s = &Server{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "raftstore", "node_id", cfg.NodeID),
		notifyCh:   make(chan bool, 16),
		shutdownCh: make(chan struct{}),
		known:      make(map[string]Peer),
		tick:       newTick(),
	}
	var closers []func()
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	if err := s.openStores(&closers); err != nil {
		return nil, err
	}
	snaps, err := s.openSnapshots()
	if err != nil {
		return nil, err
	}
	if err := s.listen(&closers); err != nil {
		return nil, err
	}
	if err := s.startRaft(snaps); err != nil {
		return nil, err
	}
	s.mux.start()
	s.wg.Add(3)
	go s.monitorLeadership()
	go s.joinLoop()
	go func() {
		defer s.wg.Done()
		s.tick.run(s.shutdownCh)
	}()
	return s, nil
}

func (s *Server) dir(name string) string {
	if s.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(s.cfg.DataDir, name)
}

func (s *Server) openStores(closers *[]func()) error {
	for _, d := range []string{s.dir("raft"), s.dir("state")} {
		if d != "" {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return fmt.Errorf("create data dir: %w", err)
			}
		}
	}
	logs, err := OpenLogStore(s.dir("raft"), s.cfg.LogBadger, s.cfg.Logger)
	if err != nil {
		return fmt.Errorf("open raft log store: %w", err)
	}
	s.logs = logs
	*closers = append(*closers, func() { _ = logs.Close() })
	opts := catalog.DefaultOptions()
	opts.Dir, opts.Badger, opts.Events, opts.Logger = s.dir("state"), s.cfg.StateBadger, s.cfg.Events, s.cfg.Logger
	store, err := catalog.Open(opts)
	if err != nil {
		return fmt.Errorf("open catalog store: %w", err)
	}
	s.store = store
	*closers = append(*closers, func() { _ = store.Close() })
	return nil
}

func (s *Server) openSnapshots() (raft.SnapshotStore, error) {
	if s.cfg.DataDir == "" {
		return raft.NewInmemSnapshotStore(), nil
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(s.cfg.DataDir, s.cfg.SnapshotsRetained, hclogslog.New(s.cfg.Logger, "snapshot"))
	if err != nil {
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	return snaps, nil
}

func (s *Server) listen(closers *[]func()) error {
	ln, err := s.cfg.Network.Listen(s.cfg.BindAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.BindAddr, err)
	}
	adv := s.cfg.Advertise
	if adv == "" {
		adv = ln.Addr().String()
	}
	advAddr, err := net.ResolveTCPAddr("tcp", adv)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("resolve advertise address %q: %w", adv, err)
	}
	s.self = Peer{ID: s.cfg.NodeID, Addr: adv}
	s.known[s.self.ID] = s.self
	s.rpc = rpc.NewServer()
	if err := s.rpc.RegisterName("Server", &rpcEndpoint{s: s}); err != nil {
		_ = ln.Close()
		return fmt.Errorf("register rpc endpoint: %w", err)
	}
	s.mux = newMux(ln, s.cfg.Network, func(c net.Conn) { s.rpc.ServeConn(c) }, s.log)
	*closers = append(*closers, func() { _ = s.mux.Close() })
	s.pool = newRPCPool(func(ctx context.Context, addr string) (net.Conn, error) {
		return s.mux.dial(ctx, addr, protoRPC)
	})
	s.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  &raftLayer{m: s.mux, advertise: advAddr},
		MaxPool: 4,
		Timeout: 10 * time.Second,
		Logger:  hclogslog.New(s.cfg.Logger, "raft-net"),
	})
	*closers = append(*closers, func() { _ = s.trans.Close() })
	return nil
}

func (s *Server) raftConfig(noRestore bool) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(s.cfg.NodeID)
	c.HeartbeatTimeout = s.cfg.HeartbeatTimeout
	c.ElectionTimeout = s.cfg.ElectionTimeout
	c.LeaderLeaseTimeout = s.cfg.LeaderLeaseTimeout
	c.CommitTimeout = s.cfg.CommitTimeout
	c.MaxAppendEntries = s.cfg.MaxAppendEntries
	c.BatchApplyCh = true
	c.SnapshotThreshold = s.cfg.SnapshotThreshold
	c.SnapshotInterval = s.cfg.SnapshotInterval
	c.TrailingLogs = s.cfg.TrailingLogs
	c.NotifyCh = s.notifyCh
	c.NoSnapshotRestoreOnStart = noRestore
	c.Logger = hclogslog.New(s.cfg.Logger, "raft")
	return c
}

// startRaft starts raft. The catalog store remembers the index it applied,
// so raft restores a snapshot on start only when the store is behind the
// newest snapshot (it was lost, or a crash interrupted a restore); in every
// other case the store is kept and raft replays only later entries, which
// the store skips up to its applied index.
func (s *Server) startRaft(snaps raft.SnapshotStore) error {
	list, err := snaps.List()
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	applied := s.store.AppliedIndex()
	noRestore := len(list) == 0 || list[0].Index <= applied
	has, err := raft.HasExistingState(s.logs, s.logs, snaps)
	if err != nil {
		return fmt.Errorf("inspect raft state: %w", err)
	}
	s.bootstrap.Store(has)
	s.fsm = newFSM(s.store)
	// The cache keeps recent entries in memory: followers read each entry
	// back to apply it while handling AppendEntries, and the leader to
	// replicate it; without the cache each is a Badger read.
	// The cache also stages the leader's batch for replication while the
	// leader writes it (third_party/raft/BEACON.md).
	cached, err := raft.NewLogCache(logCacheSize, s.logs)
	if err != nil {
		return fmt.Errorf("create log cache: %w", err)
	}
	s.logCache = cached
	r, err := raft.NewRaft(s.raftConfig(noRestore), s.fsm, cached, s.logs, snaps, s.trans)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	s.log.Info("raft started", "addr", s.self.Addr, "applied_index", applied, "restore_snapshot", !noRestore, "existing_state", has)
	return nil
}

// Shutdown stops raft and closes the listener and the stores. It does not
// leave the cluster; call Leave first for that.
func (s *Server) Shutdown() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	close(s.shutdownCh)
	hs := s.http
	s.mu.Unlock()
	if hs != nil {
		_ = hs.Close()
	}
	err := s.raft.Shutdown().Error()
	s.pool.close()
	errs := []error{err, s.trans.Close(), s.mux.Close()}
	s.wg.Wait()
	errs = append(errs, s.store.Close(), s.logs.Close())
	return errors.Join(errs...)
}

// monitorLeadership tracks leadership changes. A new leader serves
// consistent reads only after a barrier: then every entry committed in
// earlier terms has been applied to its store.
func (s *Server) monitorLeadership() {
	defer s.wg.Done()
	for {
		select {
		case isLeader := <-s.notifyCh:
			gen := s.leaderGen.Add(1)
			s.ready.Store(false)
			if isLeader {
				s.log.Info("became leader", "term", s.raft.CurrentTerm())
				go s.establishLeadership(gen)
			} else {
				s.log.Info("lost leadership")
				s.notifyLeadership(false, 0)
			}
		case <-s.shutdownCh:
			return
		}
	}
}

func (s *Server) establishLeadership(gen uint64) {
	if err := s.awaitFor(s.cfg.ApplyTimeout, s.raft.Barrier(s.cfg.ApplyTimeout)); err != nil {
		s.log.Warn("leader barrier failed", "error", err)
		return
	}
	s.notifyLeadership(true, gen)
}

// await waits for a raft future, but no longer than ctx allows or the
// server runs: hashicorp/raft futures can stay unresolved forever when the
// node stops while they are pending (hashicorp/raft#498).
func (s *Server) await(ctx context.Context, f raft.Future) error {
	return s.awaitUntil(ctx, time.Time{}, f)
}

// awaitUntil is await that also gives up at deadline (none if zero) with
// context.DeadlineExceeded, noticed at the next tick of s.tick: cheaper on
// the write path than a context or a timer per write. The patched raft's
// futures are awaited in the select itself; any other future in a
// goroutine, which is left behind if the wait ends first and ends if raft
// ever resolves the future.
func (s *Server) awaitUntil(ctx context.Context, deadline time.Time, f raft.Future) error {
	var errCh <-chan error
	if fc, ok := f.(errorChFuture); ok {
		errCh = fc.ErrorCh()
	}
	if errCh == nil {
		done := make(chan error, 1)
		go func() { done <- f.Error() }()
		errCh = done
	}
	var tick <-chan struct{}
	if !deadline.IsZero() {
		tick = s.tick.C()
	}
	for {
		select {
		case err := <-errCh:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			if !time.Now().Before(deadline) {
				return context.DeadlineExceeded
			}
			tick = s.tick.C()
		case <-s.shutdownCh:
			return ErrShutdown
		}
	}
}

// errorChFuture is a future whose error can be awaited in a select (the
// patched raft's futures; see third_party/raft/BEACON.md, change 3).
type errorChFuture interface {
	ErrorCh() <-chan error
}

// awaitFor is await with a timeout.
func (s *Server) awaitFor(d time.Duration, f raft.Future) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.await(ctx, f)
}

// ServeHTTP serves h to the connections that announce ProtoHTTP on the
// server port (client agents forwarding API requests). Call it once. wrap,
// if not nil, wraps the listener h's server accepts from (the agent's
// gives back connections of parked blocking queries).
func (s *Server) ServeHTTP(h http.Handler, wrap func(net.Listener) net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.http != nil {
		return
	}
	s.http = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	var ln net.Listener = newHTTPListener(s.mux)
	if wrap != nil {
		ln = wrap(ln)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.http.Serve(ln)
	}()
}

// Store returns the catalog store for reads (after Read) and watches.
func (s *Server) Store() *catalog.Store { return s.store }

// Self returns this server's ID and advertised address.
func (s *Server) Self() Peer { return s.self }

// IsLeader reports whether this server is the Raft leader.
func (s *Server) IsLeader() bool { return s.raft.State() == raft.Leader }

// Leader returns the current leader's address and ID, or empty strings.
func (s *Server) Leader() Peer {
	addr, id := s.raft.LeaderWithID()
	return Peer{ID: string(id), Addr: string(addr)}
}

// AppliedIndex returns the highest log index applied to the catalog.
func (s *Server) AppliedIndex() uint64 { return s.fsm.Applied() }

// Raft exposes the underlying raft for stats and tests.
func (s *Server) Raft() *raft.Raft { return s.raft }
