package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// Session defaults and limits, as Consul's.
const (
	// sessionDefaultLockDelay is the lock delay of a session created
	// without one.
	sessionDefaultLockDelay = 15 * time.Second
	// sessionDefaultCheck is the check a session is bound to when the
	// request names none: the node's liveness check.
	sessionDefaultCheck = "serfHealth"
	// lockDelaySecondsBelow: a LockDelay below this many nanoseconds is
	// taken as seconds, since clients send 15 meaning 15s (Consul's
	// lockDelayMinThreshold).
	lockDelaySecondsBelow = 1000
)

// routesSession registers /v1/session/*. Handlers take the {id} or
// {node} segment from the path themselves: API.ServeHTTP dispatches through
// ServeMux.Handler, which leaves r.PathValue empty.
func (a *API) routesSession() {
	a.handle("PUT /v1/session/create", a.sessionCreate)
	a.handle("PUT /v1/session/destroy/{id}", a.sessionDestroy)
	a.handle("PUT /v1/session/renew/{id}", a.sessionRenew)
	a.handle("GET /v1/session/info/{id}", a.sessionInfo)
	a.handle("GET /v1/session/node/{node}", a.sessionNode)
	a.handle("GET /v1/session/list", a.sessionList)
	// Consul's answers when the path ends before the ID or node.
	missing := func(msg string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { writeError(w, badRequest("%s", msg)) }
	}
	a.handle("PUT /v1/session/destroy/{$}", missing("Missing session"))
	a.handle("PUT /v1/session/renew/{$}", missing("Missing session"))
	a.handle("GET /v1/session/info/{$}", missing("Missing session"))
	a.handle("GET /v1/session/node/{$}", missing("Missing node name"))
}

// sessionJSON is a session as Consul's API writes it (api.SessionEntry).
type sessionJSON struct {
	ID            string
	Name          string
	Node          string
	LockDelay     time.Duration // nanoseconds
	Behavior      string
	TTL           string // "" without a TTL
	NodeChecks    []string
	ServiceChecks []sessionServiceCheckJSON
	CreateIndex   uint64
	ModifyIndex   uint64
}

// sessionServiceCheckJSON is api.ServiceCheck; Namespace is always empty.
type sessionServiceCheckJSON struct {
	ID        string
	Namespace string
}

func toSessionJSON(s *catalog.Session) sessionJSON {
	out := sessionJSON{
		ID: s.ID, Name: s.Name, Node: s.Node, LockDelay: s.LockDelay, Behavior: s.Behavior,
		NodeChecks:    append([]string{}, s.NodeChecks...),
		ServiceChecks: make([]sessionServiceCheckJSON, len(s.ServiceChecks)),
		CreateIndex:   s.CreateIndex, ModifyIndex: s.ModifyIndex,
	}
	if s.TTL > 0 {
		out.TTL = s.TTL.String()
	}
	for i, c := range s.ServiceChecks {
		out.ServiceChecks[i] = sessionServiceCheckJSON{ID: c.ID}
	}
	return out
}

func toSessionsJSON(list []*catalog.Session) []sessionJSON {
	out := make([]sessionJSON, len(list))
	for i, s := range list {
		out[i] = toSessionJSON(s)
	}
	return out
}

// sessionCreateBody is the body of PUT /v1/session/create. Fields absent
// from the body keep the defaults they are pre-filled with, as in Consul.
type sessionCreateBody struct {
	Name          string
	Node          string
	LockDelay     json.RawMessage // a duration string, or a number (see lockDelaySecondsBelow)
	Behavior      string
	TTL           string
	Checks        []string // deprecated (Consul < 1.7) spelling of NodeChecks
	NodeChecks    []string
	ServiceChecks []sessionServiceCheckJSON
}

func (a *API) sessionCreate(w http.ResponseWriter, r *http.Request) {
	sess, err := a.decodeSessionCreate(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	sess.ID = newSessionID()
	if _, err := a.apply(r, &catalog.SessionRequest{Op: catalog.SessionCreate, Session: sess}); err != nil {
		writeError(w, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, &struct{ ID string }{sess.ID})
}

// decodeSessionCreate reads the optional create body over Consul's
// defaults (the agent's node, the serfHealth check, a 15s lock delay,
// release behavior) and checks the fields Consul checks, with its messages.
func (a *API) decodeSessionCreate(w http.ResponseWriter, r *http.Request) (catalog.Session, error) {
	body := sessionCreateBody{
		Node:       a.cfg.NodeName,
		Behavior:   catalog.SessionRelease,
		Checks:     []string{sessionDefaultCheck},
		NodeChecks: []string{sessionDefaultCheck},
	}
	raw, err := readBody(w, r, a.cfg.MaxBodyBytes)
	if err != nil {
		return catalog.Session{}, err
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if err := DecodeBody(w, r, a.cfg.MaxBodyBytes, &body); err != nil {
			return catalog.Session{}, err
		}
	}
	sess := catalog.Session{Name: body.Name, Node: body.Node, LockDelay: sessionDefaultLockDelay, Behavior: body.Behavior}
	if sess.Node == "" {
		sess.Node = a.cfg.NodeName
	}
	if body.LockDelay != nil && string(body.LockDelay) != "null" {
		if sess.LockDelay, err = parseLockDelay(body.LockDelay); err != nil {
			return catalog.Session{}, err
		}
	}
	switch sess.Behavior {
	case "":
		sess.Behavior = catalog.SessionRelease
	case catalog.SessionRelease, catalog.SessionDelete:
	default:
		return catalog.Session{}, badRequest("Invalid Behavior setting '%s'", sess.Behavior)
	}
	if sess.TTL, err = parseSessionTTL(body.TTL); err != nil {
		return catalog.Session{}, err
	}
	sess.NodeChecks = sessionNodeChecks(body.Checks, body.NodeChecks)
	for _, c := range body.ServiceChecks {
		sess.ServiceChecks = append(sess.ServiceChecks, catalog.ServiceCheck{ID: c.ID})
	}
	return sess, nil
}

// parseLockDelay reads a LockDelay given as a duration string or a number
// of nanoseconds; either below 1000ns is taken as seconds (Consul's rule,
// from structs.Session.UnmarshalJSON). At most 60s.
func parseLockDelay(raw json.RawMessage) (time.Duration, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, badRequest("Request decode failed: LockDelay: %v", err)
	}
	var d time.Duration
	switch v := v.(type) {
	case string:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, badRequest("Request decode failed: LockDelay: %v", err)
		}
	case float64:
		if v < 0 || v > float64(catalog.MaxSessionLockDelay) {
			return 0, badRequest("Invalid LockDelay '%s', must be between [0s=%v]", raw, catalog.MaxSessionLockDelay)
		}
		d = time.Duration(v)
	default:
		return 0, badRequest("Request decode failed: LockDelay must be a duration string or a number, got %s", raw)
	}
	if d >= 0 && d < lockDelaySecondsBelow {
		d *= time.Second
	}
	if d < 0 || d > catalog.MaxSessionLockDelay {
		return 0, badRequest("Invalid LockDelay '%s', must be between [0s=%v]", d, catalog.MaxSessionLockDelay)
	}
	return d, nil
}

// parseSessionTTL reads a session TTL: "" (or 0) for none, else between
// 10s and 24h.
func parseSessionTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	ttl, err := time.ParseDuration(s)
	if err != nil {
		return 0, badRequest("Session TTL '%s' invalid: %v", s, err)
	}
	if ttl != 0 && (ttl < catalog.MinSessionTTL || ttl > catalog.MaxSessionTTL) {
		return 0, badRequest("Invalid Session TTL '%s', must be between [%v=%v]", s, catalog.MinSessionTTL, catalog.MaxSessionTTL)
	}
	return ttl, nil
}

// sessionNodeChecks merges the deprecated Checks field into NodeChecks
// the way Consul's fixupEmptySessionChecks does. Both arrive pre-filled
// with serfHealth: an explicitly empty Checks binds no node check at all,
// Checks left at the default defers to NodeChecks, and an explicitly empty
// NodeChecks drops the default. ServiceChecks do not affect the default,
// as in Consul. The result has no duplicates.
func sessionNodeChecks(checks, nodeChecks []string) []string {
	switch {
	case len(checks) == 0:
		return nil
	case len(checks) == 1 && checks[0] == sessionDefaultCheck:
		checks = nil
	case len(nodeChecks) == 0:
		checks = nil
	}
	var out []string
	seen := make(map[string]bool)
	for _, c := range append(append([]string{}, nodeChecks...), checks...) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// newSessionID returns a random (version 4) UUID. The proposer chooses
// the ID so that applying the create stays deterministic.
func newSessionID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand.Read aborts the program instead
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (a *API) sessionDestroy(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/session/destroy/")
	if _, err := a.apply(r, &catalog.SessionRequest{Op: catalog.SessionDestroy, Session: catalog.Session{ID: id}}); err != nil {
		writeError(w, err)
		return
	}
	ok := true
	WriteJSON(w, r, http.StatusOK, &ok)
}

// sessionRenew resets a TTL session's timer in the leader's memory (no
// Raft write) and answers the session; 404 if it does not exist.
func (a *API) sessionRenew(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/session/renew/")
	if a.leases != nil {
		s, err := a.leases.RenewSession(r.Context(), id)
		switch {
		case err != nil:
			writeError(w, err)
		case s == nil:
			writeError(w, notFound("Session id '%s' not found", id))
		default:
			WriteJSON(w, r, http.StatusOK, []sessionJSON{toSessionJSON(s)})
		}
		return
	}
	a.blockingReadWith(w, r, nil, func(tx *catalog.ReadTx) (any, uint64, error) {
		s, idx := tx.Session(id)
		return s, idx, nil
	}, func(w http.ResponseWriter, r *http.Request, res any) {
		s := res.(*catalog.Session)
		if s == nil {
			writeError(w, notFound("Session id '%s' not found", id))
			return
		}
		WriteJSON(w, r, http.StatusOK, []sessionJSON{toSessionJSON(s)})
	})
}

// sessionInfo answers [session], or [] if there is none (consul/api's
// Session.Info turns an empty list into a nil entry).
func (a *API) sessionInfo(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/session/info/")
	a.blockingRead(w, r, sessionWatch, func(tx *catalog.ReadTx) (any, uint64, error) {
		s, idx := tx.Session(id)
		out := []sessionJSON{}
		if s != nil {
			out = append(out, toSessionJSON(s))
		}
		return out, idx, nil
	})
}

func (a *API) sessionNode(w http.ResponseWriter, r *http.Request) {
	node := strings.TrimPrefix(r.URL.Path, "/v1/session/node/")
	a.blockingRead(w, r, sessionWatch, func(tx *catalog.ReadTx) (any, uint64, error) {
		list, idx := tx.NodeSessions(node)
		return toSessionsJSON(list), idx, nil
	})
}

func (a *API) sessionList(w http.ResponseWriter, r *http.Request) {
	a.blockingRead(w, r, sessionWatch, func(tx *catalog.ReadTx) (any, uint64, error) {
		list, idx := tx.Sessions()
		return toSessionsJSON(list), idx, nil
	})
}

// sessionWatch wakes session reads: any change to the sessions table.
var sessionWatch = []catalog.WatchKey{catalog.TableWatch(catalog.TableSessions)}
