package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/agent/httpapi"
	"github.com/beacon-sd/beacon/agent/local"
	"github.com/beacon-sd/beacon/configs"
	"github.com/beacon-sd/beacon/health"
	"github.com/beacon-sd/beacon/raftstore"
)

// Version is the agent's version, reported by /v1/agent/self.
var Version = "0.1.0-dev"

// Agent is a running beacon agent: a server (a Raft member holding the
// catalog) or a client (which reaches the catalog through a server), with
// the HTTP API on its client addresses.
type Agent struct {
	cfg       configs.Config
	log       *slog.Logger
	server    *raftstore.Server // nil on a client
	remote    *remote           // nil on a server
	leases    *health.Leases    // the leader-side timers; nil on a client
	telemetry *telemetry
	api       *httpapi.API
	local     *local.State
	catalog   local.Catalog // the catalog as this agent reaches it: its server, or a remote one

	// configServices and configChecks are the IDs registered from
	// configuration files, so a reload can remove those no longer defined.
	configServices, configChecks map[string]bool

	httpServers []*http.Server
	httpAddrs   []net.Addr
	wg          sync.WaitGroup
	startWG     sync.WaitGroup // the goroutine that starts anti-entropy
	conns       connReturner   // takes back parked queries' connections

	leaveOnce sync.Once
	leaveCh   chan struct{} // closed when the API asked the agent to leave

	stopOnce sync.Once
	stopCtx  context.Context // ends when the agent shuts down
	stop     context.CancelFunc
}

// New starts an agent from cfg: its role, then its listeners. It returns
// once every listener is bound (a server may still be looking for its
// cluster; see WaitLeader).
func New(cfg configs.Config, log *slog.Logger) (a *Agent, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tel, err := setupTelemetry(cfg)
	if err != nil {
		return nil, err
	}
	a = &Agent{cfg: cfg, log: log, telemetry: tel, leaveCh: make(chan struct{})}
	a.stopCtx, a.stop = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			a.Shutdown(context.Background(), false)
		}
	}()
	apiCfg := httpapi.DefaultConfig()
	apiCfg.Datacenter, apiCfg.NodeName, apiCfg.EnableDebug = cfg.Datacenter, cfg.NodeName, cfg.EnableDebug
	if !cfg.Dev {
		apiCfg.SpoolDir = cfg.DataDir
		removeSpooled(cfg.DataDir, log)
	}
	deps := httpapi.Deps{Metrics: tel, Logger: log, Stop: a.stopCtx.Done()}
	if cfg.Server {
		if a.server, err = startServer(cfg, log); err != nil {
			return a, err
		}
		if err := a.startLeases(); err != nil {
			return a, err
		}
		st := serverStore{a.server}
		deps.Store, deps.Cluster, deps.Leases, a.catalog = st, st, st, st
	} else {
		if len(cfg.RetryJoin) == 0 {
			return a, errors.New("retry-join: a client agent needs at least one server address (-retry-join)")
		}
		a.remote = newRemote(cfg.RetryJoin, cfg.NodeName, log)
		deps.Remote, a.catalog = a.remote, a.remote
		a.wg.Add(1)
		go a.refreshServers()
	}
	if err := a.startLocal(a.catalog); err != nil {
		return a, err
	}
	a.wg.Add(1)
	go a.keepLease()
	deps.Agent = a.agentHandler()
	if a.server != nil {
		internal := apiCfg
		internal.Internal = true
		// Blocking queries client agents forward wait parked here too: a
		// server holds those of every client agent.
		ideps := deps
		ideps.Conns = &a.conns
		a.server.ServeHTTP(endBlockingOnStop(a.stopCtx, httpapi.New(internal, ideps)), func(ln net.Listener) net.Listener {
			rl := newReturnListener(ln)
			a.conns.add(rl)
			return rl
		})
	}
	public := deps
	public.Conns = &a.conns // blocking queries on the HTTP port wait parked
	a.api = httpapi.New(apiCfg, public)
	if err := a.listenHTTP(); err != nil {
		return a, err
	}
	return a, nil
}

// startServer starts the Raft server of a server agent.
func startServer(cfg configs.Config, log *slog.Logger) (*raftstore.Server, error) {
	rc := raftstore.DefaultConfig()
	rc.NodeID = cfg.NodeName
	rc.BindAddr = cfg.ServerAddr()
	rc.Advertise = cfg.Advertise
	if rc.Advertise != "" {
		rc.Advertise = net.JoinHostPort(cfg.Advertise, fmt.Sprint(cfg.Ports.Server))
	}
	rc.DataDir = cfg.DataDir // raft/, state/ and snapshots/ inside
	rc.BootstrapExpect = cfg.BootstrapExpect
	rc.RetryJoin = cfg.RetryJoin
	rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = cfg.RaftTiming()
	if cfg.Dev {
		// A single server needs no failure detection; elect at once.
		rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	}
	rc.Logger = log
	return raftstore.New(rc)
}

// listenHTTP binds the HTTP API on every client address.
func (a *Agent) listenHTTP() error {
	if a.cfg.Ports.HTTP < 0 {
		return nil
	}
	handler := limitRate(endBlockingOnStop(a.stopCtx, a.api), a.cfg.Limits.RequestRate, a.cfg.Limits.RequestBurst)
	for _, addr := range a.cfg.HTTPAddrs() {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("http: listen on %s: %w", addr, err)
		}
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
		}
		a.httpServers = append(a.httpServers, srv)
		a.httpAddrs = append(a.httpAddrs, ln.Addr())
		lln := newReturnListener(limitConns(ln, a.cfg.Limits.HTTPMaxConnsPerClient))
		a.conns.add(lln)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := srv.Serve(lln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("http server stopped", "addr", ln.Addr().String(), "error", err)
			}
		}()
		a.log.Info("http api listening", "addr", ln.Addr().String())
	}
	return nil
}

// refreshServers keeps a client's server list current.
func (a *Agent) refreshServers() {
	defer a.wg.Done()
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(a.stopCtx, 5*time.Second)
		if err := a.remote.refresh(ctx); err != nil && a.stopCtx.Err() == nil {
			a.log.Debug("refresh server list", "error", err)
		}
		cancel()
		select {
		case <-a.stopCtx.Done():
			return
		case <-t.C:
		}
	}
}

// agentHandler serves /v1/agent/*.
func (a *Agent) agentHandler() http.Handler {
	ac := httpapi.DefaultAgentConfig()
	ac.Datacenter, ac.NodeName, ac.NodeID, ac.Server, ac.Version = a.cfg.Datacenter, a.cfg.NodeName, a.local.Node().ID, a.cfg.Server, Version
	return httpapi.NewAgentHandler(ac, a.local, members{a}, a.telemetry)
}

// Local returns the agent's local state: its services, checks and their
// runners (what /v1/agent/service/register and friends change).
func (a *Agent) Local() *local.State { return a.local }

// Leases returns the leader-side lease timers (nil on a client agent).
func (a *Agent) Leases() *health.Leases { return a.leases }

// Server returns the agent's Raft server (nil on a client agent).
func (a *Agent) Server() *raftstore.Server { return a.server }

// HTTPAddr is the address of the first HTTP listener ("" without one).
func (a *Agent) HTTPAddr() string {
	if len(a.httpAddrs) == 0 {
		return ""
	}
	return a.httpAddrs[0].String()
}

// Config returns the configuration the agent runs with.
func (a *Agent) Config() configs.Config { return a.cfg }

// LeaveRequested is closed when a client of the API asked the agent to
// leave (PUT /v1/agent/leave); the process should then shut down.
func (a *Agent) LeaveRequested() <-chan struct{} { return a.leaveCh }

// WaitLeader blocks until the cluster has a leader or ctx ends. A server
// also waits until the Raft configuration it holds names it: one that has
// just joined hears from the leader before the configuration reaches it,
// and until then would answer /v1/status/peers with nobody.
func (a *Agent) WaitLeader(ctx context.Context) error {
	for {
		if a.server != nil && a.server.Leader().Addr != "" && a.inConfiguration() {
			return nil
		}
		if a.remote != nil {
			var leader string
			if err := a.remote.getJSON(ctx, "/v1/status/leader?stale", &leader); err == nil && leader != "" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a cluster leader: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// inConfiguration reports whether the Raft configuration this server
// holds names it.
func (a *Agent) inConfiguration() bool {
	servers, _, err := a.server.Configuration()
	if err != nil {
		return false
	}
	for _, s := range servers {
		if s.ID == a.server.Self().ID {
			return true
		}
	}
	return false
}

// Shutdown stops the agent: the HTTP listeners first (in-flight requests
// get until ctx ends), then, when leave is true, a graceful leave, then the
// server.
func (a *Agent) Shutdown(ctx context.Context, leave bool) error {
	var errs []error
	a.stopOnce.Do(func() {
		a.stop()
		a.startWG.Wait()
		// In-flight requests get a second (as Consul's HTTP shutdown): Go's
		// Shutdown otherwise waits up to 5 s for connections that never
		// sent a request (golang/go#22682). Blocking queries already ended
		// with stopCtx.
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		for _, s := range a.httpServers {
			if err := s.Shutdown(hctx); err != nil {
				_ = s.Close()
			}
		}
		cancel()
		if a.local != nil {
			if err := a.local.Close(); err != nil {
				a.log.Warn("closing local state", "error", err)
			}
			if leave && !a.cfg.Dev {
				if err := a.leaveCatalog(ctx, a.catalog); err != nil {
					a.log.Warn("deregistering this node on leave failed", "error", err)
				}
			}
		}
		if a.leases != nil {
			a.leases.Follow()
		}
		if a.server != nil {
			if leave && !a.cfg.Dev {
				if err := a.server.Leave(ctx); err != nil {
					a.log.Warn("graceful leave failed", "error", err)
				}
			}
			errs = append(errs, a.server.Shutdown())
		}
		a.wg.Wait()
	})
	return errors.Join(errs...)
}

// Reload applies the parts of cfg that can change while the agent runs:
// services and checks defined in configuration files. (The log level is the
// caller's: it owns the logger.)
func (a *Agent) Reload(cfg configs.Config) error {
	return a.reloadLocal(cfg)
}

// removeSpooled deletes snapshots spooled in dir (see
// httpapi.Config.SpoolDir and raftstore's Restore) that a crash left
// behind: they are temporary, and each may be as large as the catalog.
func removeSpooled(dir string, log *slog.Logger) {
	left, _ := filepath.Glob(filepath.Join(dir, "beacon-*.snap"))
	for _, f := range left {
		if err := os.Remove(f); err != nil {
			log.Warn("removing a spooled snapshot left behind", "file", f, "error", err)
		}
	}
}
