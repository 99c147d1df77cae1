package catalog

import (
	"bytes"
	"slices"
	"strings"
)

// ServiceNode is one instance of a service with the node it runs on.
type ServiceNode struct {
	Node    *Node
	Service *Service
}

// Node returns a node (nil if none) and the nodes table's index.
func (tx *ReadTx) Node(name string) (*Node, uint64) {
	var n Node
	if tx.get(kNode(name), &n) {
		return &n, tx.TableIndex(TableNodes)
	}
	return nil, tx.TableIndex(TableNodes)
}

// Nodes returns every node, ordered by name.
func (tx *ReadTx) Nodes() ([]*Node, uint64) {
	out, err := prefixValues[Node](tx.txn, []byte(pfxNode))
	tx.fail(err)
	return out, tx.TableIndex(TableNodes)
}

// NodeServices returns a node (nil if none) and its services, ordered by
// ID, with the higher of the nodes and services tables' indexes.
func (tx *ReadTx) NodeServices(node string) (*Node, []*Service, uint64) {
	idx := max(tx.TableIndex(TableNodes), tx.TableIndex(TableServices))
	var n Node
	if !tx.get(kNode(node), &n) {
		return nil, []*Service{}, idx
	}
	svcs, err := prefixValues[Service](tx.txn, kServicesOn(node))
	tx.fail(err)
	return &n, svcs, idx
}

// Services returns every service name with its instances' tags, sorted and
// unique, and the services table's index.
func (tx *ReadTx) Services() (map[string][]string, uint64) {
	tags := map[string]map[string]struct{}{}
	tx.fail(prefixEach(tx.txn, []byte(pfxService), func(k, v []byte) error {
		var s Service
		if err := decodeStored(v, &s); err != nil {
			return corrupt(k, err)
		}
		set := tags[s.Service]
		if set == nil {
			set = map[string]struct{}{}
			tags[s.Service] = set
		}
		for _, t := range s.Tags {
			set[t] = struct{}{}
		}
		return nil
	}))
	out := make(map[string][]string, len(tags))
	for name, set := range tags {
		list := make([]string, 0, len(set))
		for t := range set {
			list = append(list, t)
		}
		slices.Sort(list)
		out[name] = list
	}
	return out, tx.TableIndex(TableServices)
}

// instances returns the instances of a service name, ordered by node name
// then service ID, keeping those with tag ("" keeps all).
func (tx *ReadTx) instances(name, tag string) []*Service {
	prefix := kServiceNamePrefix(name)
	keys, err := prefixKeys(tx.txn, prefix, 0)
	tx.fail(err)
	out := make([]*Service, 0, len(keys))
	for _, k := range keys {
		node, id, ok := bytes.Cut(k[len(prefix):], []byte(sep))
		var s Service
		if ok && tx.get(kService(string(node), string(id)), &s) && hasTag(&s, tag) {
			out = append(out, &s)
		}
	}
	return out
}

// hasTag reports whether s has tag, compared case-insensitively as Consul
// does; the empty tag matches every service.
func hasTag(s *Service, tag string) bool {
	if tag == "" {
		return true
	}
	for _, t := range s.Tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

// ServiceNodes returns the instances of a service (with tag, if not ""),
// ordered by node name then service ID, and the service's index.
func (tx *ReadTx) ServiceNodes(name, tag string) ([]ServiceNode, uint64) {
	svcs := tx.instances(name, tag)
	out := make([]ServiceNode, 0, len(svcs))
	nodes := map[string]*Node{}
	for _, s := range svcs {
		if n := tx.cachedNode(nodes, s.Node); n != nil {
			out = append(out, ServiceNode{Node: n, Service: s})
		}
	}
	return out, tx.ServiceIndex(name)
}

func (tx *ReadTx) cachedNode(cache map[string]*Node, name string) *Node {
	if n, ok := cache[name]; ok {
		return n
	}
	var n Node
	if !tx.get(kNode(name), &n) {
		cache[name] = nil
		return nil
	}
	cache[name] = &n
	return &n
}

// ServiceHealth returns the instances of a service (with tag, if not "")
// with their nodes and checks (the node's own and the instance's), in
// ServiceNodes' order, and the service's index. passingOnly drops the
// instances with any check not passing.
func (tx *ReadTx) ServiceHealth(name, tag string, passingOnly bool) ([]CheckServiceNode, uint64) {
	svcs := tx.instances(name, tag)
	out := make([]CheckServiceNode, 0, len(svcs))
	nodes := map[string]*Node{}
	checks := map[string][]*Check{}
	for _, s := range svcs {
		n := tx.cachedNode(nodes, s.Node)
		if n == nil {
			continue
		}
		onNode, ok := checks[s.Node]
		if !ok {
			var err error
			onNode, err = prefixValues[Check](tx.txn, kChecksOn(s.Node))
			tx.fail(err)
			checks[s.Node] = onNode
		}
		csn := CheckServiceNode{Node: n, Service: s, Checks: make([]*Check, 0, len(onNode))}
		passing := true
		for _, c := range onNode {
			if c.ServiceID == "" || c.ServiceID == s.ID {
				csn.Checks = append(csn.Checks, c)
				passing = passing && c.Status == HealthPassing
			}
		}
		if passing || !passingOnly {
			out = append(out, csn)
		}
	}
	return out, tx.ServiceIndex(name)
}

// NodeChecks returns the checks of a node, ordered by ID, and the checks
// table's index.
func (tx *ReadTx) NodeChecks(node string) ([]*Check, uint64) {
	out, err := prefixValues[Check](tx.txn, kChecksOn(node))
	tx.fail(err)
	return out, tx.TableIndex(TableChecks)
}

// ServiceChecks returns the checks of every instance of a service, and the
// service's index.
func (tx *ReadTx) ServiceChecks(name string) ([]*Check, uint64) {
	out := []*Check{}
	for _, s := range tx.instances(name, "") {
		onNode, err := prefixValues[Check](tx.txn, kChecksOn(s.Node))
		tx.fail(err)
		for _, c := range onNode {
			if c.ServiceID == s.ID {
				out = append(out, c)
			}
		}
	}
	return out, tx.ServiceIndex(name)
}

// ChecksInState returns the checks with a status ("any": all of them),
// ordered by node then ID, and the checks table's index.
func (tx *ReadTx) ChecksInState(state string) ([]*Check, uint64) {
	all, err := prefixValues[Check](tx.txn, []byte(pfxCheck))
	tx.fail(err)
	if state == "any" {
		return all, tx.TableIndex(TableChecks)
	}
	out := make([]*Check, 0, len(all))
	for _, c := range all {
		if c.Status == state {
			out = append(out, c)
		}
	}
	return out, tx.TableIndex(TableChecks)
}

// Check returns one check of a node, nil if there is none.
func (tx *ReadTx) Check(node, checkID string) *Check {
	var c Check
	if tx.get(kCheck(node, checkID), &c) {
		return &c
	}
	return nil
}
