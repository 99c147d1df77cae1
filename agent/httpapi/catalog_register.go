package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// registerBody is PUT /v1/catalog/register's body (api.CatalogRegistration).
// Fields beacon does not store (Partition, Locality, Connect…) are ignored.
type registerBody struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	NodeMeta        map[string]string
	Service         *registerService
	Check           *registerCheck
	Checks          []*registerCheck
	SkipNodeUpdate  bool
}

// registerService is api.AgentService as a registration carries it.
type registerService struct {
	ID                string
	Service           string
	Tags              []string
	Address           string
	Port              int
	Meta              map[string]string
	Weights           *catalog.Weights
	EnableTagOverride bool
}

// registerCheck is api.HealthCheck / api.AgentCheck as a registration
// carries it.
type registerCheck struct {
	Node       string
	CheckID    string
	Name       string
	Status     string
	Notes      string
	Output     string
	ServiceID  string
	Type       string
	Definition checkDefinitionJSON
}

// checkDefinitionJSON is api.HealthCheckDefinition as a request carries it
// (catalog registrations and txn check ops). consul/api writes Interval,
// Timeout and DeregisterCriticalServiceAfter as duration strings; older
// clients sent the …Duration fields instead (Consul issue 5477), read as a
// fallback.
type checkDefinitionJSON struct {
	HTTP                                   string
	Header                                 map[string][]string
	Method                                 string
	Body                                   string
	TLSSkipVerify                          bool
	TCP                                    string
	UDP                                    string
	GRPC                                   string
	GRPCUseTLS                             bool
	H2PING                                 string
	ScriptArgs                             []string
	AliasNode                              string
	AliasService                           string
	Interval                               checkDuration
	Timeout                                checkDuration
	TTL                                    checkDuration
	DeregisterCriticalServiceAfter         checkDuration
	IntervalDuration                       checkDuration
	TimeoutDuration                        checkDuration
	DeregisterCriticalServiceAfterDuration checkDuration
}

// toCatalog converts the definition, taking a legacy …Duration field where
// the current one is zero.
func (d *checkDefinitionJSON) toCatalog() catalog.CheckDefinition {
	or := func(v, legacy checkDuration) time.Duration {
		if v == 0 {
			return time.Duration(legacy)
		}
		return time.Duration(v)
	}
	return catalog.CheckDefinition{
		Interval: or(d.Interval, d.IntervalDuration), Timeout: or(d.Timeout, d.TimeoutDuration),
		TTL: time.Duration(d.TTL), HTTP: d.HTTP, Method: d.Method, Header: d.Header,
		Body: d.Body, TLSSkipVerify: d.TLSSkipVerify, TCP: d.TCP, UDP: d.UDP,
		GRPC: d.GRPC, GRPCUseTLS: d.GRPCUseTLS, H2PING: d.H2PING, Args: d.ScriptArgs,
		AliasNode: d.AliasNode, AliasService: d.AliasService,
		DeregisterCriticalServiceAfter: or(d.DeregisterCriticalServiceAfter, d.DeregisterCriticalServiceAfterDuration),
	}
}

// checkDuration reads a duration given as a Go duration string ("10s") or
// a number of nanoseconds, as Consul accepts both.
type checkDuration time.Duration

func (d *checkDuration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*d = 0
			return nil
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: %v", s, err)
		}
		*d = checkDuration(v)
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("invalid duration %s: want a string like \"10s\" or nanoseconds", b)
	}
	*d = checkDuration(v)
	return nil
}

// catalogBodyLimit is the cap on JSON request bodies.
func (a *API) catalogBodyLimit() int64 {
	if a.cfg.MaxBodyBytes > 0 {
		return a.cfg.MaxBodyBytes
	}
	return DefaultConfig().MaxBodyBytes
}

// catalogBodyDC rejects a body naming another datacenter, as ?dc does.
func (a *API) catalogBodyDC(dc string) error {
	if dc != "" && dc != a.cfg.Datacenter {
		return errNoPathToDC
	}
	return nil
}

// catalogRegister serves PUT /v1/catalog/register.
func (a *API) catalogRegister(w http.ResponseWriter, r *http.Request) {
	var body registerBody
	if err := DecodeBody(w, r, a.catalogBodyLimit(), &body); err != nil {
		writeError(w, err)
		return
	}
	req, err := a.registerRequest(&body)
	if err != nil {
		writeError(w, err)
		return
	}
	res, err := a.apply(r, req)
	if errors.Is(err, catalog.ErrNotFound) {
		// A check naming a service the node does not have: the body is wrong.
		err = badRequest("%v", err)
	}
	a.writeCatalogTrue(w, res, err)
}

// registerRequest turns a registration body into the catalog command,
// applying Consul's defaults and the checks Consul makes before its own
// validation.
func (a *API) registerRequest(b *registerBody) (*catalog.RegisterRequest, error) {
	if b.Node == "" {
		return nil, badRequest("Must provide node")
	}
	if b.Address == "" && !b.SkipNodeUpdate {
		return nil, badRequest("Must provide address if SkipNodeUpdate is not set")
	}
	if err := a.catalogBodyDC(b.Datacenter); err != nil {
		return nil, err
	}
	req := &catalog.RegisterRequest{
		Node: catalog.Node{
			ID: b.ID, Node: b.Node, Address: b.Address, Datacenter: a.cfg.Datacenter,
			TaggedAddresses: b.TaggedAddresses, Meta: b.NodeMeta,
		},
		SkipNodeUpdate: b.SkipNodeUpdate,
	}
	if s := b.Service; s != nil && (s.ID != "" || s.Service != "") {
		svc, err := registerServiceOf(s)
		if err != nil {
			return nil, err
		}
		req.Service = svc
	}
	checks := b.Checks
	if b.Check != nil {
		checks = append(checks, b.Check)
	}
	for _, c := range checks {
		if c != nil {
			req.Checks = append(req.Checks, registerCheckOf(c, b.Node))
		}
	}
	return req, nil
}

// registerServiceOf applies Consul's service defaults: the ID defaults to
// the name, and weights that are absent or invalid become {1, 1}.
func registerServiceOf(s *registerService) (*catalog.Service, error) {
	if s.Service == "" {
		return nil, badRequest("Must provide service name (Service.Service) with ID (Service.ID)")
	}
	svc := &catalog.Service{
		ID: s.ID, Service: s.Service, Tags: s.Tags, Address: s.Address, Port: s.Port,
		Meta: s.Meta, Weights: catalog.Weights{Passing: 1, Warning: 1},
		EnableTagOverride: s.EnableTagOverride,
	}
	if svc.ID == "" {
		svc.ID = svc.Service
	}
	if w := s.Weights; w != nil && w.Passing >= 1 && w.Warning >= 0 {
		svc.Weights = *w
	}
	return svc, nil
}

// registerCheckOf applies Consul's check defaults: the node is the
// registration's, the ID defaults to the name, the status to critical.
func registerCheckOf(c *registerCheck, node string) *catalog.Check {
	chk := &catalog.Check{
		Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes,
		Output: c.Output, ServiceID: c.ServiceID, Type: c.Type, Definition: c.Definition.toCatalog(),
	}
	if chk.Node == "" {
		chk.Node = node
	}
	if chk.CheckID == "" {
		chk.CheckID = chk.Name
	}
	if chk.Status == "" {
		chk.Status = catalog.HealthCritical
	}
	return chk
}

// deregisterBody is PUT /v1/catalog/deregister's body
// (api.CatalogDeregistration).
type deregisterBody struct {
	Node       string
	Datacenter string
	ServiceID  string
	CheckID    string
}

// catalogDeregister serves PUT /v1/catalog/deregister.
func (a *API) catalogDeregister(w http.ResponseWriter, r *http.Request) {
	var body deregisterBody
	if err := DecodeBody(w, r, a.catalogBodyLimit(), &body); err != nil {
		writeError(w, err)
		return
	}
	if body.Node == "" {
		writeError(w, badRequest("Must provide node"))
		return
	}
	if err := a.catalogBodyDC(body.Datacenter); err != nil {
		writeError(w, err)
		return
	}
	res, err := a.apply(r, &catalog.DeregisterRequest{Node: body.Node, ServiceID: body.ServiceID, CheckID: body.CheckID})
	a.writeCatalogTrue(w, res, err)
}

// writeCatalogTrue answers a catalog write: true, with the index it committed at.
func (a *API) writeCatalogTrue(w http.ResponseWriter, res catalog.Result, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("X-Consul-Index", strconv.FormatUint(res.Index, 10))
	writeJSONBytes(w, http.StatusOK, []byte("true\n"))
}
