package httpapi

import (
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// The JSON shapes of catalog entities as Consul's HTTP API writes them and
// github.com/hashicorp/consul/api decodes them. Field order follows
// Consul's; empty lists are [] and empty maps {}, never null.

// emptyTags and emptyMeta stand in for nil slices and maps when encoding.
// They are shared: never modify them.
var (
	emptyTags = []string{}
	emptyMeta = map[string]string{}
)

func tagsOrEmpty(t []string) []string {
	if t == nil {
		return emptyTags
	}
	return t
}

func metaOrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return emptyMeta
	}
	return m
}

// apiNode is Consul's Node (api.Node).
type apiNode struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	CreateIndex     uint64
	ModifyIndex     uint64
}

// apiWeights is Consul's Weights / AgentWeights.
type apiWeights struct {
	Passing int
	Warning int
}

// apiAgentService is Consul's NodeService as the catalog and health
// endpoints write it (api.AgentService).
type apiAgentService struct {
	ID                string
	Service           string
	Tags              []string
	Address           string
	Meta              map[string]string
	Port              int
	Weights           apiWeights
	EnableTagOverride bool
	CreateIndex       uint64
	ModifyIndex       uint64
	Datacenter        string
}

// apiCatalogService is Consul's flattened ServiceNode (api.CatalogService):
// one instance with its node's fields.
type apiCatalogService struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              string
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceWeights           apiWeights
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceEnableTagOverride bool
	CreateIndex              uint64
	ModifyIndex              uint64
}

// apiHealthCheck is Consul's HealthCheck (api.HealthCheck).
type apiHealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Interval    string
	Timeout     string
	ExposedPort int
	Definition  apiCheckDefinition
	CreateIndex uint64
	ModifyIndex uint64
}

// apiCheckDefinition is Consul's HealthCheckDefinition as the server
// writes it: only the fields that are set, durations as Go duration
// strings ("10s"), which api.HealthCheckDefinition.UnmarshalJSON reads into
// both its Duration and ReadableDuration fields.
type apiCheckDefinition struct {
	HTTP                           string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	UDP                            string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	H2PING                         string              `json:",omitempty"`
	ScriptArgs                     []string            `json:",omitempty"`
	AliasNode                      string              `json:",omitempty"`
	AliasService                   string              `json:",omitempty"`
	Interval                       string              `json:",omitempty"`
	Timeout                        string              `json:",omitempty"`
	TTL                            string              `json:",omitempty"`
	DeregisterCriticalServiceAfter string              `json:",omitempty"`
}

// apiServiceEntry is one element of /v1/health/service/:name
// (api.ServiceEntry).
type apiServiceEntry struct {
	Node    *apiNode
	Service *apiAgentService
	Checks  []apiHealthCheck
}

// apiCatalogNode is /v1/catalog/node/:node (api.CatalogNode).
type apiCatalogNode struct {
	Node     *apiNode
	Services map[string]*apiAgentService
}

// apiNodeServiceList is /v1/catalog/node-services/:node
// (api.CatalogNodeServiceList).
type apiNodeServiceList struct {
	Node     *apiNode
	Services []*apiAgentService
}

// shaper turns catalog entities into API shapes, filling in what the
// catalog leaves empty (the datacenter).
type shaper struct {
	dc string
}

func (s shaper) datacenter(dc string) string {
	if dc == "" {
		return s.dc
	}
	return dc
}

func (s shaper) node(n *catalog.Node) *apiNode {
	if n == nil {
		return nil
	}
	return &apiNode{
		ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: s.datacenter(n.Datacenter),
		TaggedAddresses: metaOrEmpty(n.TaggedAddresses), Meta: metaOrEmpty(n.Meta),
		CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex,
	}
}

func (s shaper) nodes(ns []*catalog.Node) []*apiNode {
	out := make([]*apiNode, len(ns))
	for i, n := range ns {
		out[i] = s.node(n)
	}
	return out
}

func (s shaper) agentService(svc *catalog.Service) *apiAgentService {
	return &apiAgentService{
		ID: svc.ID, Service: svc.Service, Tags: tagsOrEmpty(svc.Tags), Address: svc.Address,
		Meta: metaOrEmpty(svc.Meta), Port: svc.Port, Weights: apiWeights(svc.Weights),
		EnableTagOverride: svc.EnableTagOverride,
		CreateIndex:       svc.CreateIndex, ModifyIndex: svc.ModifyIndex,
		Datacenter: s.dc,
	}
}

func (s shaper) catalogService(n *catalog.Node, svc *catalog.Service) apiCatalogService {
	return apiCatalogService{
		ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: s.datacenter(n.Datacenter),
		TaggedAddresses: metaOrEmpty(n.TaggedAddresses), NodeMeta: metaOrEmpty(n.Meta),
		ServiceID: svc.ID, ServiceName: svc.Service, ServiceTags: tagsOrEmpty(svc.Tags),
		ServiceAddress: svc.Address, ServiceWeights: apiWeights(svc.Weights),
		ServiceMeta: metaOrEmpty(svc.Meta), ServicePort: svc.Port,
		ServiceEnableTagOverride: svc.EnableTagOverride,
		CreateIndex:              svc.CreateIndex, ModifyIndex: svc.ModifyIndex,
	}
}

func healthCheck(c *catalog.Check) apiHealthCheck {
	d := &c.Definition
	return apiHealthCheck{
		Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes,
		Output: c.Output, ServiceID: c.ServiceID, ServiceName: c.ServiceName,
		ServiceTags: tagsOrEmpty(c.ServiceTags), Type: c.Type,
		Interval: durationString(d.Interval), Timeout: durationString(d.Timeout),
		Definition: apiCheckDefinition{
			HTTP: d.HTTP, Header: d.Header, Method: d.Method, Body: d.Body,
			TLSSkipVerify: d.TLSSkipVerify, TCP: d.TCP, UDP: d.UDP, GRPC: d.GRPC,
			GRPCUseTLS: d.GRPCUseTLS, H2PING: d.H2PING, ScriptArgs: d.Args,
			AliasNode: d.AliasNode, AliasService: d.AliasService,
			Interval: durationString(d.Interval), Timeout: durationString(d.Timeout),
			TTL:                            durationString(d.TTL),
			DeregisterCriticalServiceAfter: durationString(d.DeregisterCriticalServiceAfter),
		},
		CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
	}
}

func healthChecks(cs []*catalog.Check) []apiHealthCheck {
	out := make([]apiHealthCheck, len(cs))
	for i, c := range cs {
		out[i] = healthCheck(c)
	}
	return out
}

// durationString is d as Consul writes durations, "" for zero.
func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
