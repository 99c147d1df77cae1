package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/agent/httpapi"
	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/raftstore"
)

// remote is a client agent's way to the catalog: it forwards API requests
// to a server over the server's server port (raftstore.ProtoHTTP) and
// fails over to another server when the one it uses is unreachable.
type remote struct {
	log    *slog.Logger
	node   string // this agent's node name
	client *http.Client
	proxy  *httputil.ReverseProxy

	// timeout is forwardTimeout (shorter in tests).
	timeout time.Duration

	// mu guards servers and current.
	mu      sync.Mutex
	servers []string // server addresses: retry-join plus those learnt from /v1/status/peers
	current int      // index in servers of the one in use
}

// maxReplayBody is the largest request body a client agent buffers so that
// a request can be retried on another server when its connection broke
// before anything was sent.
const maxReplayBody = 1 << 20

// forwardTimeout bounds a forwarded request that is not a blocking query
// (and, added to its wait, one that is). It is longer than a server takes
// to answer (its apply and RPC timeouts are 10 s), so it ends only requests
// to a server that stopped answering: one cut off from the network sends
// nothing back, not even a reset, and a request on a connection to it
// would otherwise wait for as long as the caller does.
const forwardTimeout = 15 * time.Second

// snapshotTimeout bounds a forwarded snapshot save or restore, which
// streams the whole catalog.
const snapshotTimeout = 10 * time.Minute

func newRemote(servers []string, node string, log *slog.Logger) *remote {
	r := &remote{log: log, node: node, servers: append([]string(nil), servers...), timeout: forwardTimeout}
	base := serverHTTPClient(r.dial).Transport.(*http.Transport)
	r.client = &http.Client{Transport: &failoverTransport{r: r, base: base}}
	r.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "beacon-server"
			pr.Out.Host = pr.In.Host
		},
		Transport: r.client.Transport,
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			httpapi.WriteText(w, http.StatusInternalServerError, "No known Consul servers: "+err.Error())
		},
		FlushInterval: -1,
	}
	return r
}

// dial connects to the server in use, or to the next reachable one.
func (r *remote) dial(ctx context.Context) (net.Conn, error) {
	r.mu.Lock()
	servers, start := append([]string(nil), r.servers...), r.current
	r.mu.Unlock()
	if len(servers) == 0 {
		return nil, errors.New("no servers known (set -retry-join)")
	}
	var errs []error
	for i := range servers {
		k := (start + i) % len(servers)
		actx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := raftstore.DialHTTP(actx, forwardNet{}, servers[k])
		cancel()
		if err == nil {
			if k != start {
				r.mu.Lock()
				r.current = k
				r.mu.Unlock()
				r.log.Info("using another server", "server", servers[k])
			}
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no server reachable: %w", errors.Join(errs...))
}

// failoverTransport is the transport of every request a client agent
// sends to a server. It bounds each request (deadline), and when one fails
// without an answer — the server died or stopped answering — it moves the
// client to the next server, so the next request does not wait on the
// same one, and asks a read once more there.
type failoverTransport struct {
	r    *remote
	base *http.Transport
}

func (t *failoverTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := t.r
	for attempt := 1; ; attempt++ {
		r.mu.Lock()
		using := r.current
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(req.Context(), r.deadline(req))
		resp, err := t.base.RoundTrip(req.WithContext(ctx))
		if err == nil {
			// The deadline covers reading the body too; it ends when the
			// body is closed.
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		cancel()
		if req.Context().Err() != nil { // the caller gave up
			return nil, err
		}
		r.failover(using, err)
		// A read is asked once more, of the next server; a write's outcome
		// is unknown, so it is the caller's to retry.
		if attempt > 1 || !retryable(req) {
			return nil, err
		}
	}
}

// retryable reports whether a request that got no answer may be sent
// again: a read without a body.
func retryable(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead) && (req.Body == nil || req.Body == http.NoBody)
}

// cancelOnClose releases a request's deadline when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// deadline is how long a forwarded request may take: forwardTimeout, plus
// the wait and its jitter for a blocking query (?index above 0, as the
// server reads it), or snapshotTimeout for a snapshot.
func (r *remote) deadline(req *http.Request) time.Duration {
	if req.URL.Path == "/v1/snapshot" {
		return snapshotTimeout
	}
	q := req.URL.Query()
	if idx, _ := strconv.ParseUint(q.Get("index"), 10, 64); idx == 0 {
		return r.timeout
	}
	limits := httpapi.DefaultConfig()
	wait := limits.DefaultWait
	if d, err := time.ParseDuration(q.Get("wait")); err == nil && d >= 0 {
		wait = d
	}
	wait = min(wait, limits.MaxWait)
	return wait + wait/16 + r.timeout
}

// failover moves the client off the server it was using when a request
// failed (unless another request already did) and drops idle connections,
// which may lead to that server.
func (r *remote) failover(using int, err error) {
	r.mu.Lock()
	if len(r.servers) == 0 {
		r.mu.Unlock()
		return
	}
	moved := r.current == using && len(r.servers) > 1
	if moved {
		r.current = (using + 1) % len(r.servers)
	}
	from, to := r.servers[using%len(r.servers)], r.servers[r.current]
	r.mu.Unlock()
	r.client.Transport.(*failoverTransport).base.CloseIdleConnections()
	if moved {
		r.log.Warn("server did not answer; using another", "server", from, "next", to, "error", err)
	}
}

// ServeHTTP forwards a request to a server. Small bodies are buffered so
// the transport can replay the request on a fresh connection. A session
// created without a node gets this agent's, as Consul's agent fills it in
// before forwarding: the server would otherwise default to its own node.
func (r *remote) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	sessionCreate := req.Method == http.MethodPut && req.URL.Path == "/v1/session/create"
	if req.Body != nil && (sessionCreate || req.ContentLength >= 0 && req.ContentLength <= maxReplayBody) {
		body, err := io.ReadAll(io.LimitReader(req.Body, maxReplayBody+1))
		if err != nil {
			httpapi.WriteError(w, err)
			return
		}
		if sessionCreate {
			body = withSessionNode(body, r.node)
			req.ContentLength = int64(len(body))
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	r.proxy.ServeHTTP(w, req)
}

// withSessionNode returns a /v1/session/create body that names node
// unless it already names one (a missing, null or empty Node, matched
// case-insensitively as the server's decoder matches it, names none). A
// body that is not a JSON object is returned as is, for the server to
// reject.
func withSessionNode(body []byte, node string) []byte {
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &fields); err != nil {
			return body
		}
	}
	if fields == nil {
		fields = map[string]json.RawMessage{}
	}
	for k, raw := range fields {
		if !strings.EqualFold(k, "Node") {
			continue
		}
		var named *string
		if err := json.Unmarshal(raw, &named); err != nil || named != nil && *named != "" {
			return body
		}
		delete(fields, k)
	}
	fields["Node"], _ = json.Marshal(node)
	out, err := json.Marshal(fields)
	if err != nil {
		return body
	}
	return out
}

// refresh learns the current server set from /v1/status/peers.
func (r *remote) refresh(ctx context.Context) error {
	var peers []string
	if err := r.getJSON(ctx, "/v1/status/peers?stale", &peers); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	known := make(map[string]bool, len(r.servers))
	for _, s := range r.servers {
		known[s] = true
	}
	for _, p := range peers {
		if !known[p] {
			r.servers = append(r.servers, p)
		}
	}
	return nil
}

func (r *remote) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://beacon-server"+path, nil)
	if err != nil {
		return err
	}
	return r.do(req, v)
}

func (r *remote) do(req *http.Request, v any) error {
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return json.Unmarshal(body, v)
}

// Apply implements the local state's catalog writer over the server's
// internal endpoint.
func (r *remote) Apply(ctx context.Context, cmd catalog.Command) (catalog.Result, error) {
	if err := cmd.Validate(); err != nil {
		return catalog.Result{}, err
	}
	data, err := catalog.Encode(cmd)
	if err != nil {
		return catalog.Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://beacon-server/v1/internal/apply", bytes.NewReader(data))
	if err != nil {
		return catalog.Result{}, err
	}
	var out httpapi.ApplyResult
	if err := r.do(req, &out); err != nil {
		return catalog.Result{}, err
	}
	res := catalog.Result{Index: out.Index, OK: out.OK, Txn: out.Txn}
	if out.ErrCode != "" || out.ErrMsg != "" {
		res.Err = catalog.ErrorFromCode(out.ErrCode, out.ErrMsg)
	}
	return res, res.Err
}

// NodeState reads this node's catalog entries from a server.
func (r *remote) NodeState(ctx context.Context, node string) (*catalog.Node, []*catalog.Service, []*catalog.Check, error) {
	var st httpapi.NodeState
	if err := r.getJSON(ctx, "/v1/internal/node/"+url.PathEscape(node), &st); err != nil {
		return nil, nil, nil, err
	}
	return st.Node, st.Services, st.Checks, nil
}

// Servers returns the server addresses the client knows.
func (r *remote) Servers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.servers...)
}

// add makes addr one of the servers the client may use.
func (r *remote) add(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.servers, addr) {
		r.servers = append(r.servers, addr)
	}
}

// forward sends a body-less request to a server and checks its status.
func (r *remote) forward(ctx context.Context, method, path string) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://beacon-server"+path, nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("server: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
