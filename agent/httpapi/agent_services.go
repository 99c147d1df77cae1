package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/beacon-sd/beacon/agent/local"
	"github.com/beacon-sd/beacon/catalog"
)

// agentServiceJSON is a local service as Consul's agent writes it
// (api.AgentService); ContentHash only on /v1/agent/service/:id.
type agentServiceJSON struct {
	*apiAgentService
	ContentHash string `json:",omitempty"`
}

func (h *agentHandler) agentService(svc *catalog.Service) *apiAgentService {
	return shaper{dc: h.cfg.Datacenter}.agentService(svc)
}

func (h *agentHandler) services(w http.ResponseWriter, r *http.Request) {
	if err := agentNoFilter(r); err != nil {
		WriteError(w, err)
		return
	}
	out := map[string]*apiAgentService{}
	for _, svc := range h.local.Services() {
		out[svc.ID] = h.agentService(svc)
	}
	WriteJSON(w, r, http.StatusOK, out)
}

// service is GET /v1/agent/service/:id, with Consul's hash-based
// blocking: ?hash=H waits (up to ?wait) until the service's content hash
// differs from H.
func (h *agentHandler) service(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	wait := h.cfg.DefaultWait
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			WriteError(w, badRequest("Invalid wait time"))
			return
		}
		wait = d
	}
	wait = min(wait, h.cfg.MaxWait)
	wait += rand.N(wait/16 + 1)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		changed := h.local.Changed()
		svc := h.local.Service(id)
		if svc == nil {
			WriteError(w, notFound("unknown service ID: %s", id))
			return
		}
		out := agentServiceJSON{apiAgentService: h.agentService(svc)}
		out.ContentHash = agentContentHash(out)
		if q.Get("hash") == "" || q.Get("hash") != out.ContentHash {
			w.Header().Set("X-Consul-ContentHash", out.ContentHash)
			WriteJSON(w, r, http.StatusOK, out)
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			w.Header().Set("X-Consul-ContentHash", out.ContentHash)
			WriteJSON(w, r, http.StatusOK, out)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// agentContentHash is a hash of a service's JSON (without the hash).
func agentContentHash(v agentServiceJSON) string {
	v.ContentHash = ""
	buf, _ := json.Marshal(v)
	f := fnv.New64a()
	f.Write(buf)
	return fmt.Sprintf("%016x", f.Sum64())
}

func (h *agentHandler) registerService(w http.ResponseWriter, r *http.Request) {
	var body agentServiceBody
	if err := DecodeBody(w, r, h.cfg.MaxBodyBytes, &body); err != nil {
		WriteError(w, err)
		return
	}
	svc, checks, err := body.toCatalog()
	if err != nil {
		WriteError(w, err)
		return
	}
	q := r.URL.Query()
	replace := q.Has("replace-existing-checks") && (q.Get("replace-existing-checks") == "" || q.Get("replace-existing-checks") == "true")
	if err := h.local.AddService(svc, checks, replace); err != nil {
		WriteError(w, agentLocalError(err, ""))
		return
	}
	h.writeOK(w, r)
}

func (h *agentHandler) deregisterService(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.local.RemoveService(id); err != nil {
		if errors.Is(err, local.ErrUnknownService) {
			err = notFound("Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id)
		}
		WriteError(w, agentLocalError(err, ""))
		return
	}
	h.writeOK(w, r)
}

func (h *agentHandler) serviceMaintenance(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" {
		WriteError(w, badRequest("Missing service ID"))
		return
	}
	enable, err := agentEnableParam(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	if enable {
		err = h.local.EnableServiceMaintenance(id, r.URL.Query().Get("reason"))
	} else {
		err = h.local.DisableServiceMaintenance(id)
	}
	if errors.Is(err, local.ErrUnknownService) {
		err = notFound("No service registered with ID %q", id)
	}
	if err != nil {
		WriteError(w, agentLocalError(err, ""))
		return
	}
	h.writeOK(w, r)
}

func (h *agentHandler) nodeMaintenance(w http.ResponseWriter, r *http.Request) {
	enable, err := agentEnableParam(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	if enable {
		err = h.local.EnableNodeMaintenance(r.URL.Query().Get("reason"))
	} else {
		err = h.local.DisableNodeMaintenance()
	}
	if err != nil {
		WriteError(w, agentLocalError(err, ""))
		return
	}
	h.writeOK(w, r)
}

// agentLocalError maps the local state's errors to status codes; checkID
// names the check for the TTL messages.
func agentLocalError(err error, checkID string) error {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, local.ErrInvalid):
		return badRequest("%s", err.Error())
	case errors.Is(err, local.ErrUnknownCheck):
		return notFound("Unknown check ID %q. Ensure that the check ID is passed, not the check name.", checkID)
	case errors.Is(err, local.ErrNotTTL):
		return StatusError(http.StatusInternalServerError, fmt.Sprintf("CheckID %q does not have associated TTL", checkID))
	}
	return err
}

// agentNoFilter rejects ?filter, which beacon does not evaluate yet.
func agentNoFilter(r *http.Request) error {
	if r.URL.Query().Get("filter") != "" {
		return badRequest("Failed to create boolean expression evaluator: ?filter is not supported yet")
	}
	return nil
}
