package httpapi

import (
	"errors"
	"net/http"

	"github.com/beacon-sd/beacon/agent/local"
	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

func (h *agentHandler) checks(w http.ResponseWriter, r *http.Request) {
	if err := agentNoFilter(r); err != nil {
		WriteError(w, err)
		return
	}
	out := map[string]apiHealthCheck{}
	for _, c := range h.local.Checks() {
		out[c.CheckID] = healthCheck(c)
	}
	WriteJSON(w, r, http.StatusOK, out)
}

func (h *agentHandler) registerCheck(w http.ResponseWriter, r *http.Request) {
	var body agentCheckBody
	if err := DecodeBody(w, r, h.cfg.MaxBodyBytes, &body); err != nil {
		WriteError(w, err)
		return
	}
	if body.Name == "" {
		WriteError(w, badRequest("Missing check name"))
		return
	}
	if !agentValidStatus(body.Status) {
		WriteError(w, badRequest("Bad check status"))
		return
	}
	c, err := body.toCheck()
	if err != nil {
		WriteError(w, err)
		return
	}
	if err := h.local.AddCheck(c); err != nil {
		if errors.Is(err, local.ErrUnknownService) {
			err = notFound("ServiceID %q does not exist", c.ServiceID)
		}
		WriteError(w, agentLocalError(err, c.CheckID))
		return
	}
	h.writeOK(w, r)
}

func (h *agentHandler) deregisterCheck(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.local.RemoveCheck(id); err != nil {
		WriteError(w, agentLocalError(err, id))
		return
	}
	h.writeOK(w, r)
}

// ttlNote serves /v1/agent/check/pass|warn|fail/:id?note=.
func (h *agentHandler) ttlNote(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.updateTTL(w, r, r.PathValue("id"), status, r.URL.Query().Get("note"))
	}
}

// checkUpdate serves PUT /v1/agent/check/update/:id {"Status","Output"}.
func (h *agentHandler) checkUpdate(w http.ResponseWriter, r *http.Request) {
	var body struct{ Status, Output string }
	if err := DecodeBody(w, r, h.cfg.MaxBodyBytes, &body); err != nil {
		WriteError(w, err)
		return
	}
	switch body.Status {
	case catalog.HealthPassing, catalog.HealthWarning, catalog.HealthCritical:
	default:
		WriteError(w, badRequest("Invalid check status: '%s'", body.Status))
		return
	}
	h.updateTTL(w, r, r.PathValue("id"), body.Status, body.Output)
}

func (h *agentHandler) updateTTL(w http.ResponseWriter, r *http.Request, id, status, output string) {
	if err := h.local.UpdateTTL(id, status, output); err != nil {
		WriteError(w, agentLocalError(err, id))
		return
	}
	h.writeOK(w, r)
}

// agentServiceHealth is one service with its checks and their aggregated
// status (api.AgentServiceChecksInfo).
type agentServiceHealth struct {
	AggregatedStatus string
	Service          *apiAgentService
	Checks           []apiHealthCheck
}

// serviceHealth gathers a service's checks and the node's, and maps their
// aggregate to Consul's status code: 200 passing, 429 warning, 503 else.
func (h *agentHandler) serviceHealth(svc *catalog.Service, all []*catalog.Check) (int, agentServiceHealth) {
	var checks []*catalog.Check
	for _, c := range all {
		if c.ServiceID == svc.ID || c.ServiceID == "" {
			checks = append(checks, c)
		}
	}
	status := health.AggregatedStatus(checks)
	code := http.StatusServiceUnavailable
	switch status {
	case catalog.HealthPassing:
		code = http.StatusOK
	case catalog.HealthWarning:
		code = http.StatusTooManyRequests
	}
	return code, agentServiceHealth{AggregatedStatus: status, Service: h.agentService(svc), Checks: healthChecks(checks)}
}

func (h *agentHandler) healthByID(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" {
		WriteError(w, badRequest("Missing serviceID"))
		return
	}
	svc := h.local.Service(id)
	if svc == nil {
		reason := "ServiceId " + id + " not found"
		if agentWantsText(r) {
			agentWritePlain(w, http.StatusNotFound, reason)
			return
		}
		WriteJSON(w, r, http.StatusNotFound, agentServiceHealth{AggregatedStatus: catalog.HealthCritical})
		return
	}
	code, out := h.serviceHealth(svc, h.local.Checks())
	if agentWantsText(r) {
		agentWritePlain(w, code, out.AggregatedStatus)
		return
	}
	WriteJSON(w, r, code, out)
}

// healthByName answers the worst status of the service's instances on
// this agent, and all of them.
func (h *agentHandler) healthByName(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" {
		WriteError(w, badRequest("Missing service Name"))
		return
	}
	code, status := http.StatusNotFound, "ServiceName "+name+" Not Found"
	out := []agentServiceHealth{}
	checks := h.local.Checks()
	for _, svc := range h.local.Services() {
		if svc.Service != name {
			continue
		}
		scode, sh := h.serviceHealth(svc, checks)
		out = append(out, sh)
		if code == http.StatusNotFound || scode > code {
			code, status = scode, sh.AggregatedStatus
		}
	}
	if agentWantsText(r) {
		agentWritePlain(w, code, status)
		return
	}
	WriteJSON(w, r, code, out)
}
