package local

import (
	"errors"
	"slices"
	"strings"

	"github.com/beacon-sd/beacon/catalog"
)

// planLocked lists the commands that bring the catalog to the local
// state, in order: the node (with the liveness check), deregistrations,
// services with their checks, then the remaining checks. Each op's done
// marks its entries in sync unless they changed meanwhile.
func (s *State) planLocked() []syncOp {
	var ops []syncOp
	if !s.nodeInSync || !s.livenessInSync {
		ops = append(ops, s.nodeOpLocked())
	}
	for _, id := range sortedKeys(s.checks) {
		ce := s.checks[id]
		if se := s.services[ce.check.ServiceID]; ce.deleted && (se == nil || !se.deleted) {
			ops = append(ops, s.deregisterCheckOp(id, ce))
		}
	}
	for _, id := range sortedKeys(s.services) {
		if se := s.services[id]; se.deleted {
			ops = append(ops, s.deregisterServiceOp(id, se))
		}
	}
	covered := map[string]bool{}
	for _, id := range sortedKeys(s.services) {
		if se := s.services[id]; !se.deleted && !se.inSync {
			ops = append(ops, s.registerServiceOpLocked(se, covered))
		}
	}
	var updates []catalog.CheckUpdate
	var updated []*checkEntry
	for _, id := range sortedKeys(s.checks) {
		ce := s.checks[id]
		if ce.deleted || ce.inSync || covered[id] {
			continue
		}
		if ce.synced != nil && statusOnlyDiffers(*ce.synced, ce.check) {
			updates = append(updates, catalog.CheckUpdate{Node: s.node.Node, CheckID: id, Status: ce.check.Status, Output: ce.check.Output})
			updated = append(updated, ce)
			continue
		}
		ops = append(ops, s.registerCheckOpLocked(ce))
	}
	for len(updates) > 0 {
		n := min(len(updates), catalog.MaxCheckUpdates)
		ops = append(ops, s.statusOp(updates[:n], updated[:n]))
		updates, updated = updates[n:], updated[n:]
	}
	return ops
}

func (s *State) nodeOpLocked() syncOp {
	req := &catalog.RegisterRequest{Node: cloneNode(s.node), SkipNodeUpdate: s.nodeInSync}
	if !s.livenessInSync {
		l := s.livenessCheck()
		req.Checks = []*catalog.Check{&l}
	}
	return syncOp{cmd: req, done: func() { s.nodeInSync, s.livenessInSync = true, true }}
}

func (s *State) deregisterCheckOp(id string, ce *checkEntry) syncOp {
	v := ce.version
	return syncOp{
		cmd: &catalog.DeregisterRequest{Node: s.node.Node, CheckID: id},
		done: func() {
			if cur := s.checks[id]; cur == ce && ce.version == v {
				delete(s.checks, id)
			}
		},
	}
}

func (s *State) deregisterServiceOp(id string, se *serviceEntry) syncOp {
	v := se.version
	return syncOp{
		cmd: &catalog.DeregisterRequest{Node: s.node.Node, ServiceID: id},
		done: func() {
			if cur := s.services[id]; cur == se && se.version == v {
				delete(s.services, id)
			}
			// The catalog removed the service's checks with it.
			for cid, ce := range s.checks {
				if ce.deleted && ce.check.ServiceID == id {
					delete(s.checks, cid)
				}
			}
		},
	}
}

// registerServiceOpLocked registers a service with all its checks, and
// records those checks in covered.
func (s *State) registerServiceOpLocked(se *serviceEntry, covered map[string]bool) syncOp {
	req := &catalog.RegisterRequest{Node: cloneNode(s.node), SkipNodeUpdate: true, Service: cloneService(se.svc)}
	type sent struct {
		ce      *checkEntry
		version uint64
		copy    *catalog.Check
	}
	var checks []sent
	for _, id := range sortedKeys(s.checks) {
		ce := s.checks[id]
		if ce.deleted || ce.check.ServiceID != se.svc.ID {
			continue
		}
		c := cloneCheck(ce.check)
		req.Checks = append(req.Checks, c)
		checks = append(checks, sent{ce, ce.version, c})
		covered[id] = true
	}
	v := se.version
	return syncOp{
		cmd: req,
		done: func() {
			if se.version == v {
				se.inSync = true
			}
			for _, c := range checks {
				c.ce.synced = c.copy
				if c.ce.version == c.version {
					c.ce.inSync = true
				}
			}
		},
	}
}

func (s *State) registerCheckOpLocked(ce *checkEntry) syncOp {
	c := cloneCheck(ce.check)
	v := ce.version
	return syncOp{
		cmd: &catalog.RegisterRequest{Node: cloneNode(s.node), SkipNodeUpdate: true, Checks: []*catalog.Check{c}},
		done: func() {
			ce.synced = c
			if ce.version == v {
				ce.inSync = true
			}
		},
		failed: func(err error) {
			// The catalog lost the check's service: register it again.
			if errors.Is(err, catalog.ErrNotFound) && c.ServiceID != "" {
				if se := s.services[c.ServiceID]; se != nil && !se.deleted {
					se.inSync = false
				}
			}
		},
	}
}

func (s *State) statusOp(updates []catalog.CheckUpdate, entries []*checkEntry) syncOp {
	versions := make([]uint64, len(entries))
	for i, ce := range entries {
		versions[i] = ce.version
	}
	return syncOp{
		cmd: &catalog.CheckStatusRequest{Updates: slices.Clone(updates)},
		done: func() {
			for i, ce := range entries {
				if ce.synced != nil {
					synced := *ce.synced
					synced.Status, synced.Output = updates[i].Status, updates[i].Output
					ce.synced = &synced
				}
				if ce.version == versions[i] {
					ce.inSync = true
				}
			}
		},
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}
