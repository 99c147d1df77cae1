package httpapi

import (
	"github.com/beacon-sd/beacon/catalog"
)

// The JSON shapes of PUT /v1/txn, as consul/api's TxnOps and TxnResponse
// write and read them. Requests are decoded with the types below; results
// are written with the shared entity shapes of shapes.go.

// txnOpJSON is api.TxnOp: exactly one member is set.
type txnOpJSON struct {
	KV      *txnKVOpJSON
	Node    *txnNodeOpJSON
	Service *txnServiceOpJSON
	Check   *txnCheckOpJSON
}

// txnKVOpJSON is api.KVTxnOp. Value is base64, as []byte is in JSON;
// Index is the CAS index.
type txnKVOpJSON struct {
	Verb    string
	Key     string
	Value   []byte
	Flags   uint64
	Index   uint64
	Session string
}

type txnNodeOpJSON struct {
	Verb string
	Node txnNodeJSON
}

type txnServiceOpJSON struct {
	Verb    string
	Node    string
	Service txnServiceJSON
}

type txnCheckOpJSON struct {
	Verb  string
	Check txnCheckJSON
}

// txnNodeJSON is api.Node as a request carries it; ModifyIndex is the CAS
// index.
type txnNodeJSON struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	ModifyIndex     uint64
}

// txnServiceJSON is api.AgentService as a request carries it.
type txnServiceJSON struct {
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	Weights           catalog.Weights
	EnableTagOverride bool
	ModifyIndex       uint64
}

// txnCheckJSON is api.HealthCheck as a request carries it.
type txnCheckJSON struct {
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
	Definition  checkDefinitionJSON
	ModifyIndex uint64
}

// txnResultJSON is api.TxnResult: exactly one member is set.
type txnResultJSON struct {
	KV      *kvJSON          `json:",omitempty"`
	Node    *apiNode         `json:",omitempty"`
	Service *apiAgentService `json:",omitempty"`
	Check   *apiHealthCheck  `json:",omitempty"`
}

// txnResponseJSON is api.TxnResponse: Results (and Errors null) when the
// transaction committed, Errors (and Results null) when it rolled back.
type txnResponseJSON struct {
	Results []txnResultJSON
	Errors  []catalog.TxnError
}

// toCatalogOp converts one request op. dc fills a node's empty Datacenter,
// as Consul does.
func (in *txnOpJSON) toCatalogOp(dc string) catalog.TxnOp {
	var op catalog.TxnOp
	if kv := in.KV; kv != nil {
		op.KV = &catalog.TxnKVOp{Verb: kv.Verb, Entry: catalog.KVEntry{
			Key: kv.Key, Value: kv.Value, Flags: kv.Flags, Session: kv.Session,
			RaftIndex: catalog.RaftIndex{ModifyIndex: kv.Index},
		}}
	}
	if n := in.Node; n != nil {
		node := n.Node.toCatalog()
		if node.Datacenter == "" {
			node.Datacenter = dc
		}
		op.Node = &catalog.TxnNodeOp{Verb: n.Verb, Node: node}
	}
	if s := in.Service; s != nil {
		op.Service = &catalog.TxnServiceOp{Verb: s.Verb, Node: s.Node, Service: s.Service.toCatalog(s.Node)}
	}
	if c := in.Check; c != nil {
		op.Check = &catalog.TxnCheckOp{Verb: c.Verb, Check: c.Check.toCatalog()}
	}
	return op
}

func (n *txnNodeJSON) toCatalog() catalog.Node {
	return catalog.Node{
		ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter,
		TaggedAddresses: n.TaggedAddresses, Meta: n.Meta,
		RaftIndex: catalog.RaftIndex{ModifyIndex: n.ModifyIndex},
	}
}

// toCatalog converts a service. Weights left at zero get Consul's default
// of 1 passing, 1 warning.
func (s *txnServiceJSON) toCatalog(node string) catalog.Service {
	w := s.Weights
	if w == (catalog.Weights{}) {
		w = catalog.Weights{Passing: 1, Warning: 1}
	}
	return catalog.Service{
		Node: node, ID: s.ID, Service: s.Service, Tags: s.Tags, Address: s.Address, Port: s.Port,
		Meta: s.Meta, Weights: w, EnableTagOverride: s.EnableTagOverride,
		RaftIndex: catalog.RaftIndex{ModifyIndex: s.ModifyIndex},
	}
}

func (c *txnCheckJSON) toCatalog() catalog.Check {
	return catalog.Check{
		Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes, Output: c.Output,
		ServiceID: c.ServiceID, ServiceName: c.ServiceName, ServiceTags: c.ServiceTags, Type: c.Type,
		Definition: c.Definition.toCatalog(),
		RaftIndex:  catalog.RaftIndex{ModifyIndex: c.ModifyIndex},
	}
}

// toTxnResultJSON converts one result to Consul's shape.
func toTxnResultJSON(r catalog.TxnResult, sh shaper) txnResultJSON {
	var out txnResultJSON
	if r.KV != nil {
		kv := toKVJSON(r.KV)
		out.KV = &kv
	}
	if r.Node != nil {
		out.Node = sh.node(r.Node)
	}
	if r.Service != nil {
		out.Service = sh.agentService(r.Service)
	}
	if r.Check != nil {
		c := healthCheck(r.Check)
		out.Check = &c
	}
	return out
}
