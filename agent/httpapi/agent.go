package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/agent/local"
)

// AgentConfig is what the /v1/agent endpoints report about this agent and
// their limits. DefaultAgentConfig holds the defaults.
type AgentConfig struct {
	Datacenter string
	NodeName   string
	NodeID     string
	Server     bool
	Version    string
	Revision   string
	// MaxBodyBytes caps registration bodies.
	MaxBodyBytes int64
	// SyncTimeout is how long a write waits for the catalog to take the
	// change (Consul's handlers sync before answering, so a client sees its
	// registration in the catalog). A slower sync still completes later.
	SyncTimeout time.Duration
	// DefaultWait and MaxWait bound hash-based blocking on
	// /v1/agent/service/:id.
	DefaultWait, MaxWait time.Duration
}

// DefaultAgentConfig returns Consul's limits; the caller fills in the
// identity fields.
func DefaultAgentConfig() AgentConfig {
	return AgentConfig{Datacenter: "dc1", MaxBodyBytes: 1 << 20, SyncTimeout: 5 * time.Second, DefaultWait: 5 * time.Minute, MaxWait: 10 * time.Minute}
}

// MemberStatus is a member's state, numbered as Serf numbers them (what
// /v1/agent/members reports).
type MemberStatus int

// Member statuses.
const (
	MemberNone    MemberStatus = 0
	MemberAlive   MemberStatus = 1
	MemberLeaving MemberStatus = 2
	MemberLeft    MemberStatus = 3
	MemberFailed  MemberStatus = 4
)

// Member is one agent of the cluster.
type Member struct {
	Name string
	Addr string // IP address
	Port uint16
	// Tags: at least "role" ("consul" for a server, "node" for a client)
	// and "dc".
	Tags   map[string]string
	Status MemberStatus
}

// Membership is the cluster membership as the agent endpoints use it.
// Methods are safe for concurrent use.
type Membership interface {
	// Members lists the known members, this agent among them. Called on
	// every /v1/agent/members and /v1/agent/self: must be cheap.
	Members() []Member
	// Join contacts the agent at addr and joins its cluster.
	Join(ctx context.Context, addr string) error
	// Leave leaves the cluster gracefully. The agent exits afterwards; the
	// implementation must let the HTTP response be written first (shut
	// down asynchronously).
	Leave(ctx context.Context) error
	// ForceLeave marks a failed member as left.
	ForceLeave(ctx context.Context, node string) error
}

// agentHandler serves /v1/agent/*.
type agentHandler struct {
	cfg     AgentConfig
	local   *local.State
	members Membership
	metrics http.Handler
}

// NewAgentHandler serves Consul's /v1/agent endpoints from the agent's
// local state and membership; GET /v1/agent/metrics is delegated to
// metrics. members or metrics may be nil (dev agents): membership writes
// then fail and metrics are empty. Unknown paths are 404s, wrong methods
// 405s.
func NewAgentHandler(cfg AgentConfig, st *local.State, members Membership, metrics http.Handler) http.Handler {
	def := DefaultAgentConfig()
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = def.MaxBodyBytes
	}
	if cfg.SyncTimeout <= 0 {
		cfg.SyncTimeout = def.SyncTimeout
	}
	if cfg.DefaultWait <= 0 {
		cfg.DefaultWait = def.DefaultWait
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = def.MaxWait
	}
	h := &agentHandler{cfg: cfg, local: st, members: members, metrics: metrics}
	mux := http.NewServeMux()
	for pattern, fn := range map[string]http.HandlerFunc{
		"GET /v1/agent/self":                          h.self,
		"GET /v1/agent/members":                       h.listMembers,
		"GET /v1/agent/metrics":                       h.serveMetrics,
		"PUT /v1/agent/join/{address...}":             h.join,
		"PUT /v1/agent/leave":                         h.leave,
		"PUT /v1/agent/force-leave/{node...}":         h.forceLeave,
		"GET /v1/agent/services":                      h.services,
		"GET /v1/agent/service/{id...}":               h.service,
		"PUT /v1/agent/service/register":              h.registerService,
		"PUT /v1/agent/service/deregister/{id...}":    h.deregisterService,
		"PUT /v1/agent/service/maintenance/{id...}":   h.serviceMaintenance,
		"PUT /v1/agent/maintenance":                   h.nodeMaintenance,
		"GET /v1/agent/checks":                        h.checks,
		"PUT /v1/agent/check/register":                h.registerCheck,
		"PUT /v1/agent/check/deregister/{id...}":      h.deregisterCheck,
		"PUT /v1/agent/check/pass/{id...}":            h.ttlNote("passing"),
		"PUT /v1/agent/check/warn/{id...}":            h.ttlNote("warning"),
		"PUT /v1/agent/check/fail/{id...}":            h.ttlNote("critical"),
		"PUT /v1/agent/check/update/{id...}":          h.checkUpdate,
		"GET /v1/agent/health/service/id/{id...}":     h.healthByID,
		"GET /v1/agent/health/service/name/{name...}": h.healthByName,
	} {
		mux.HandleFunc(pattern, fn)
	}
	return mux
}

// agentSelf is /v1/agent/self. Consul's client decodes it as a map of
// objects, so every top-level value is an object (or null).
type agentSelf struct {
	Config      agentSelfConfig
	DebugConfig map[string]any
	Coord       *struct{}
	Member      agentMemberJSON
	Stats       map[string]map[string]string
	Meta        map[string]string
}

type agentSelfConfig struct {
	Datacenter        string
	PrimaryDatacenter string
	NodeName          string
	NodeID            string
	Revision          string
	Server            bool
	Version           string
	BuildDate         string
}

// agentMemberJSON is a serf.Member as Consul writes it (api.AgentMember).
type agentMemberJSON struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      int
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// memberJSON fills the protocol versions Serf would report, which some
// tools read.
func memberJSON(m Member) agentMemberJSON {
	return agentMemberJSON{
		Name: m.Name, Addr: m.Addr, Port: m.Port, Tags: metaOrEmpty(m.Tags), Status: int(m.Status),
		ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
	}
}

// selfMember is this agent's entry in the membership, or one made from
// the configuration when the membership does not list it.
func (h *agentHandler) selfMember() Member {
	if h.members != nil {
		for _, m := range h.members.Members() {
			if m.Name == h.cfg.NodeName {
				return m
			}
		}
	}
	role := "node"
	if h.cfg.Server {
		role = "consul"
	}
	node := h.local.Node()
	return Member{Name: h.cfg.NodeName, Addr: node.Address, Tags: map[string]string{"role": role, "dc": h.cfg.Datacenter}, Status: MemberAlive}
}

func (h *agentHandler) self(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, r, http.StatusOK, agentSelf{
		Config: agentSelfConfig{
			Datacenter: h.cfg.Datacenter, PrimaryDatacenter: h.cfg.Datacenter, NodeName: h.cfg.NodeName,
			NodeID: h.cfg.NodeID, Revision: h.cfg.Revision, Server: h.cfg.Server, Version: h.cfg.Version,
		},
		DebugConfig: map[string]any{},
		Member:      memberJSON(h.selfMember()),
		Stats:       map[string]map[string]string{},
		Meta:        metaOrEmpty(h.local.Node().Meta),
	})
}

func (h *agentHandler) listMembers(w http.ResponseWriter, r *http.Request) {
	var ms []Member
	if h.members != nil {
		ms = h.members.Members()
	} else {
		ms = []Member{h.selfMember()}
	}
	out := make([]agentMemberJSON, len(ms))
	for i, m := range ms {
		out[i] = memberJSON(m)
	}
	WriteJSON(w, r, http.StatusOK, out)
}

// errNoMembership answers membership writes on an agent without one.
var errNoMembership = errors.New("cluster membership is not available on this agent")

func (h *agentHandler) join(w http.ResponseWriter, r *http.Request) {
	h.membershipWrite(w, r, func(ctx context.Context) error { return h.members.Join(ctx, r.PathValue("address")) })
}

func (h *agentHandler) leave(w http.ResponseWriter, r *http.Request) {
	h.membershipWrite(w, r, h.membersLeave)
}

func (h *agentHandler) membersLeave(ctx context.Context) error { return h.members.Leave(ctx) }

func (h *agentHandler) forceLeave(w http.ResponseWriter, r *http.Request) {
	h.membershipWrite(w, r, func(ctx context.Context) error { return h.members.ForceLeave(ctx, r.PathValue("node")) })
}

func (h *agentHandler) membershipWrite(w http.ResponseWriter, r *http.Request, fn func(context.Context) error) {
	if h.members == nil {
		WriteError(w, errNoMembership)
		return
	}
	if err := fn(r.Context()); err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// serveMetrics delegates to the metrics handler; without one it answers
// Consul's empty summary.
func (h *agentHandler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if h.metrics != nil {
		h.metrics.ServeHTTP(w, r)
		return
	}
	WriteJSON(w, r, http.StatusOK, map[string]any{
		"Timestamp": time.Now().UTC().Truncate(10 * time.Second).Format("2006-01-02 15:04:05 -0700 MST"),
		"Gauges":    []any{}, "Points": []any{}, "Counters": []any{}, "Samples": []any{},
	})
}

// syncAfterWrite waits, up to SyncTimeout, for the change just made to
// reach the catalog. Its failure is not the client's: the write is
// recorded locally and anti-entropy retries it.
func (h *agentHandler) syncAfterWrite(r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.SyncTimeout)
	defer cancel()
	_ = h.local.SyncChanges(ctx)
}

// writeOK answers a successful write.
func (h *agentHandler) writeOK(w http.ResponseWriter, r *http.Request) {
	h.syncAfterWrite(r)
	w.WriteHeader(http.StatusOK)
}

// agentEnableParam parses ?enable= as Consul does: required, a Go bool.
func agentEnableParam(r *http.Request) (bool, error) {
	q := r.URL.Query()
	if !q.Has("enable") {
		return false, badRequest("Missing value for enable")
	}
	raw := q.Get("enable")
	v, err := strconv.ParseBool(raw)
	if err != nil {
		return false, badRequest("Invalid value for enable: %q", raw)
	}
	return v, nil
}

// agentWantsText reports whether a health endpoint should answer with the
// bare status word, as Consul decides it.
func agentWantsText(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Accept"), "text/plain") {
		return true
	}
	if f := r.URL.Query().Get("format"); f != "" {
		return f == "text"
	}
	return false
}

// agentWritePlain writes a text body exactly (no trailing newline).
func agentWritePlain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, body)
}
