package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// Consistency is a read's consistency mode, as Consul names them.
type Consistency uint8

// Read modes.
const (
	Default    Consistency = iota // served by the leader's state
	Stale                         // any server's state
	Consistent                    // leader confirms leadership with a quorum first
)

// ReadInfo describes the state a read is served from; it becomes the
// X-Consul-KnownLeader and X-Consul-LastContact headers.
type ReadInfo struct {
	KnownLeader bool
	LastContact time.Duration
}

// Store is the replicated catalog as the API uses it. A server agent
// implements it over raftstore. Every method is safe for concurrent use.
type Store interface {
	// Apply validates cmd, commits it through Raft (forwarding to the
	// leader) and returns its result. A command's own failure is both in
	// the returned error and in Result.Err.
	Apply(ctx context.Context, cmd catalog.Command) (catalog.Result, error)
	// Read waits until this server's state is as fresh as mode promises.
	// It costs a round trip to the leader unless mode is Stale or this
	// server leads.
	Read(ctx context.Context, mode Consistency) (ReadInfo, error)
	// View runs fn on a consistent snapshot of the local catalog. Cheap:
	// called on every read.
	View(fn func(*catalog.ReadTx) error) error
	// Hub is the catalog's watch hub, for blocking queries.
	Hub() *catalog.WatchHub
}

// RaftServer is one member of the Raft configuration.
type RaftServer struct {
	ID      string
	Node    string
	Address string
	Leader  bool
	Voter   bool
}

// Cluster is the Raft group as the status, operator and snapshot
// endpoints use it.
type Cluster interface {
	// Leader is the leader's server address, "" when there is none.
	Leader() string
	// Configuration lists the Raft servers and the configuration's index.
	Configuration() ([]RaftServer, uint64, error)
	// RemovePeer removes a server (by ID, or by address when id is "").
	RemovePeer(ctx context.Context, id, address string) error
	// TransferLeader hands leadership to id, or to any voter when id is "".
	TransferLeader(ctx context.Context, id string) error
	// Snapshot writes a snapshot of the catalog to w and returns its index.
	Snapshot(ctx context.Context, w io.Writer) (uint64, error)
	// Restore replaces the whole cluster's catalog with a snapshot read
	// from r (written by Snapshot).
	Restore(ctx context.Context, r io.Reader) error
}

// Config holds the API's settings; timeouts are fields so tests can shrink
// them.
type Config struct {
	Datacenter string
	NodeName   string
	// MaxWait caps ?wait on blocking queries (Consul: 10m); DefaultWait is
	// used when ?wait is absent (5m).
	MaxWait     time.Duration
	DefaultWait time.Duration
	// MaxBodyBytes caps request bodies other than KV values (which are
	// capped at catalog.MaxValueSize) and snapshot restores.
	MaxBodyBytes int64
	// EnableDebug serves net/http/pprof under /debug/pprof/.
	EnableDebug bool
	// Internal serves /v1/internal/*, the endpoints client agents use; only
	// the handler on a server's server port sets it.
	Internal bool
	// SpoolDir holds temporary files (a snapshot being saved); empty: the
	// system's temporary directory. Agents set their data dir: a container
	// built FROM scratch has no /tmp.
	SpoolDir string
}

// DefaultConfig returns Consul's limits.
func DefaultConfig() Config {
	return Config{Datacenter: "dc1", MaxWait: 10 * time.Minute, DefaultWait: 5 * time.Minute, MaxBodyBytes: 1 << 20}
}

// Deps are the API's collaborators. Store and Cluster are nil on a client
// agent: then Remote serves every endpoint that needs the catalog, by
// forwarding the request to a server.
type Deps struct {
	Store   Store
	Cluster Cluster
	Agent   http.Handler // serves /v1/agent/*; nil: 404
	Remote  http.Handler // client agents: forwards catalog requests to a server
	Metrics Metrics
	Logger  *slog.Logger
	// Stop, when closed, ends every waiting blocking query at once (with
	// the current result), so a shutdown need not wait out their ?wait.
	Stop <-chan struct{}
	// Conns, when set, takes back hijacked connections: blocking queries
	// then wait parked, without a goroutine (see park.go).
	Conns ConnReturner
	// Leases, on a server, renews node leases and TTL sessions in the
	// leader's memory; nil: session renewals only check the session exists.
	Leases Leases
}

// Leases renews timers held in the leader's memory: a renewal is never a
// Raft write. Implementations forward to the leader.
type Leases interface {
	// RenewNode extends a node's liveness lease.
	RenewNode(ctx context.Context, node string) (LeaseGrant, error)
	// RenewSession extends a TTL session; nil if there is no such session.
	RenewSession(ctx context.Context, id string) (*catalog.Session, error)
}

// LeaseGrant answers a node lease renewal (/v1/internal/lease/node/...).
type LeaseGrant struct {
	TTL   time.Duration // the lease lasts this long from now (nanoseconds in JSON)
	Nodes int           // nodes in the cluster, which spreads out anti-entropy
}

// API is the /v1 HTTP handler.
type API struct {
	cfg     Config
	store   Store
	cluster Cluster
	remote  http.Handler
	metrics Metrics
	log     *slog.Logger
	mux     *http.ServeMux
	stop    <-chan struct{}
	conns   ConnReturner
	leases  Leases
	parked  parkedSet
}

// New builds the handler.
func New(cfg Config, deps Deps) *API {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = nopMetrics{}
	}
	a := &API{cfg: cfg, store: deps.Store, cluster: deps.Cluster, remote: deps.Remote, metrics: deps.Metrics, log: deps.Logger, mux: http.NewServeMux(), stop: deps.Stop,
		conns: deps.Conns, leases: deps.Leases, parked: parkedSet{m: make(map[*parked]struct{})}}
	if a.conns != nil && a.stop != nil {
		go a.answerParkedOnStop()
	}
	a.routes(deps.Agent)
	return a
}

// ServeHTTP dispatches a request. KV paths bypass the mux so keys with
// "//" or "." segments are not cleaned or redirected.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	route := "kv"
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			a.log.Error("http handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rw.wrote {
				WriteText(rw, http.StatusInternalServerError, fmt.Sprintf("internal error: %v", p))
			}
		}
	}()
	if strings.HasPrefix(r.URL.Path, "/v1/kv/") {
		a.catalogHandler(http.HandlerFunc(a.kv)).ServeHTTP(rw, r)
	} else {
		a.mux.ServeHTTP(rw, r) // sets r.Pattern and the path values
		route = routeLabel(r.Pattern)
	}
	a.metrics.Request(r.Method, route, rw.status, time.Since(start))
}

// routeLabel turns a mux pattern into a metric label: "GET /v1/catalog/service/{name}" → "catalog.service".
func routeLabel(pattern string) string {
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = p
	}
	pattern = strings.TrimPrefix(pattern, "/v1/")
	if i := strings.Index(pattern, "/{"); i >= 0 {
		pattern = pattern[:i]
	}
	if pattern == "" {
		return "unknown"
	}
	return strings.ReplaceAll(strings.Trim(pattern, "/"), "/", ".")
}

// handle registers a catalog-backed endpoint: served locally on a server,
// forwarded on a client.
func (a *API) handle(pattern string, h http.HandlerFunc) {
	a.mux.Handle(pattern, a.catalogHandler(h))
}

func (a *API) catalogHandler(h http.HandlerFunc) http.Handler {
	if a.store == nil && a.remote != nil {
		return a.remote
	}
	return h
}

// statusWriter records the status code for metrics. It passes Flush
// through so streaming endpoints work.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	w.status, w.wrote = code, true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
