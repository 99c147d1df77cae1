package catalog

import (
	"fmt"
	"slices"
)

// register upserts a node and, optionally, a service and checks on it.
// Every check's service is found before anything is written, so a failed
// registration changes nothing.
func (a *applier) register(r *RegisterRequest) error {
	node := r.Node
	var svc *Service
	if r.Service != nil {
		s := *r.Service
		s.Node = node.Node
		svc = &s
	}
	checks := make([]*Check, 0, len(r.Checks))
	for _, c := range r.Checks {
		chk := *c
		chk.Node = node.Node
		if err := a.fillCheckService(&chk, svc); err != nil {
			return err
		}
		checks = append(checks, &chk)
	}
	if _, err := a.ensureNode(&node, r.SkipNodeUpdate); err != nil {
		return err
	}
	if svc != nil {
		if _, err := a.ensureService(svc); err != nil {
			return err
		}
	}
	for _, c := range checks {
		if _, err := a.ensureCheck(c); err != nil {
			return err
		}
	}
	return nil
}

// fillCheckService copies the name and tags of a service check's service
// into it: pending (being registered with it) or the stored one. A missing
// service is ErrNotFound.
func (a *applier) fillCheckService(c *Check, pending *Service) error {
	if c.ServiceID == "" {
		c.ServiceName, c.ServiceTags = "", nil
		return nil
	}
	svc := pending
	if svc == nil || svc.ID != c.ServiceID {
		var stored Service
		found, err := a.get(kService(c.Node, c.ServiceID), &stored)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: service %q on node %q (for check %q)", ErrNotFound, c.ServiceID, c.Node, c.CheckID)
		}
		svc = &stored
	}
	c.ServiceName, c.ServiceTags = svc.Service, svc.Tags
	return nil
}

// ensureNode upserts a node (keeping an existing one as is if skipUpdate)
// and returns it as stored.
func (a *applier) ensureNode(n *Node, skipUpdate bool) (*Node, error) {
	var old Node
	raw, found, err := a.load(kNode(n.Node), &old)
	if err != nil {
		return nil, err
	}
	if found && skipUpdate {
		return &old, nil
	}
	if !found {
		// A node that left and registers again is a member again.
		if err := a.forgetMember(n.Node); err != nil {
			return nil, err
		}
	}
	wrote, err := a.write(kNode(n.Node), n, &n.RaftIndex, riIf(found, &old.RaftIndex), &old, raw)
	if !wrote || err != nil {
		return n, err
	}
	a.bumpTable(TableNodes)
	if err := a.bumpNodeServices(n.Node); err != nil {
		return nil, err
	}
	ev := *n
	return n, a.emit(Event{Type: EventPut, Table: TableNodes, Key: n.Node, Node: &ev})
}

// riIf returns ri if found, else nil.
func riIf(found bool, ri *RaftIndex) *RaftIndex {
	if found {
		return ri
	}
	return nil
}

// ensureService upserts a service instance (svc.Node must exist) and
// returns it as stored.
func (a *applier) ensureService(svc *Service) (*Service, error) {
	var old Service
	raw, found, err := a.load(kService(svc.Node, svc.ID), &old)
	if err != nil {
		return nil, err
	}
	wrote, err := a.write(kService(svc.Node, svc.ID), svc, &svc.RaftIndex, riIf(found, &old.RaftIndex), &old, raw)
	if !wrote || err != nil {
		return svc, err
	}
	renamed := found && old.Service != svc.Service
	if renamed {
		if err := a.del(kServiceName(old.Service, svc.Node, svc.ID)); err != nil {
			return nil, err
		}
		a.bumpService(old.Service)
	}
	if !found || renamed {
		if err := a.setEmpty(kServiceName(svc.Service, svc.Node, svc.ID)); err != nil {
			return nil, err
		}
	}
	a.bumpTable(TableServices)
	a.bumpService(svc.Service)
	ev := *svc
	if err := a.emit(Event{Type: EventPut, Table: TableServices, Key: svc.Node + "/" + svc.ID, Service: svc.Service, Svc: &ev}); err != nil {
		return nil, err
	}
	if renamed || (found && !slices.Equal(old.Tags, svc.Tags)) {
		return svc, a.refreshServiceChecks(svc)
	}
	return svc, nil
}

// refreshServiceChecks copies a changed service's name and tags into its
// checks.
func (a *applier) refreshServiceChecks(svc *Service) error {
	checks, err := prefixValues[Check](a.txn, kChecksOn(svc.Node))
	if err != nil {
		return err
	}
	for _, c := range checks {
		if c.ServiceID != svc.ID {
			continue
		}
		c.ServiceName, c.ServiceTags = svc.Service, svc.Tags
		if _, err := a.ensureCheck(c); err != nil {
			return err
		}
	}
	return nil
}

// ensureCheck upserts a check (its node, and its service if it has one,
// must exist; ServiceName and ServiceTags filled in) and returns it as
// stored. A critical check invalidates the sessions bound to it.
func (a *applier) ensureCheck(c *Check) (*Check, error) {
	var old Check
	raw, found, err := a.load(kCheck(c.Node, c.CheckID), &old)
	if err != nil {
		return nil, err
	}
	wrote, err := a.write(kCheck(c.Node, c.CheckID), c, &c.RaftIndex, riIf(found, &old.RaftIndex), &old, raw)
	if !wrote || err != nil {
		return c, err
	}
	a.bumpTable(TableChecks)
	if found {
		if err := a.bumpForCheck(&old); err != nil {
			return nil, err
		}
	}
	if err := a.bumpForCheck(c); err != nil {
		return nil, err
	}
	ev := *c
	if err := a.emit(Event{Type: EventPut, Table: TableChecks, Key: c.Node + "/" + c.CheckID, Service: c.ServiceName, Check: &ev}); err != nil {
		return nil, err
	}
	if c.Status == HealthCritical {
		return c, a.invalidateSessionsUnder(kSessionsOnCheck(c.Node, c.CheckID))
	}
	return c, nil
}

// bumpForCheck bumps the service indexes a check's health feeds: its
// service's, or every service's on its node for a node check.
func (a *applier) bumpForCheck(c *Check) error {
	if c.ServiceID != "" {
		a.bumpService(c.ServiceName)
		return nil
	}
	return a.bumpNodeServices(c.Node)
}

// deregister removes a check, a service (and its checks) or a node (and
// everything on it). A missing one is no error.
func (a *applier) deregister(r *DeregisterRequest) error {
	switch {
	case r.CheckID != "":
		var c Check
		found, err := a.get(kCheck(r.Node, r.CheckID), &c)
		if !found || err != nil {
			return err
		}
		return a.deleteCheck(&c)
	case r.ServiceID != "":
		var svc Service
		found, err := a.get(kService(r.Node, r.ServiceID), &svc)
		if !found || err != nil {
			return err
		}
		return a.deleteService(&svc)
	}
	var n Node
	found, err := a.get(kNode(r.Node), &n)
	if !found || err != nil {
		return err
	}
	return a.deleteNode(&n)
}

// deleteCheck removes a stored check and invalidates the sessions bound
// to it.
func (a *applier) deleteCheck(c *Check) error {
	if err := a.invalidateSessionsUnder(kSessionsOnCheck(c.Node, c.CheckID)); err != nil {
		return err
	}
	if err := a.del(kCheck(c.Node, c.CheckID)); err != nil {
		return err
	}
	a.bumpTable(TableChecks)
	if err := a.bumpForCheck(c); err != nil {
		return err
	}
	return a.emit(Event{Type: EventDelete, Table: TableChecks, Key: c.Node + "/" + c.CheckID, Service: c.ServiceName})
}

// deleteService removes a stored service instance and its checks.
func (a *applier) deleteService(svc *Service) error {
	checks, err := prefixValues[Check](a.txn, kChecksOn(svc.Node))
	if err != nil {
		return err
	}
	for _, c := range checks {
		if c.ServiceID == svc.ID {
			if err := a.deleteCheck(c); err != nil {
				return err
			}
		}
	}
	if err := a.del(kService(svc.Node, svc.ID)); err != nil {
		return err
	}
	if err := a.del(kServiceName(svc.Service, svc.Node, svc.ID)); err != nil {
		return err
	}
	a.bumpTable(TableServices)
	a.bumpService(svc.Service)
	return a.emit(Event{Type: EventDelete, Table: TableServices, Key: svc.Node + "/" + svc.ID, Service: svc.Service})
}

// deleteNode removes a stored node with its sessions (invalidated), its
// services and its checks.
func (a *applier) deleteNode(n *Node) error {
	if err := a.invalidateSessionsUnder(kSessionsOn(n.Node)); err != nil {
		return err
	}
	svcs, err := prefixValues[Service](a.txn, kServicesOn(n.Node))
	if err != nil {
		return err
	}
	for _, svc := range svcs {
		if err := a.deleteService(svc); err != nil {
			return err
		}
	}
	checks, err := prefixValues[Check](a.txn, kChecksOn(n.Node))
	if err != nil {
		return err
	}
	for _, c := range checks {
		if err := a.deleteCheck(c); err != nil {
			return err
		}
	}
	if err := a.del(kNode(n.Node)); err != nil {
		return err
	}
	a.bumpTable(TableNodes)
	return a.emit(Event{Type: EventDelete, Table: TableNodes, Key: n.Node})
}

// checkStatus sets the status and output of existing checks; missing ones
// are skipped, unchanged ones not rewritten.
func (a *applier) checkStatus(r *CheckStatusRequest) error {
	for _, u := range r.Updates {
		var c Check
		found, err := a.get(kCheck(u.Node, u.CheckID), &c)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		c.Status, c.Output = u.Status, u.Output
		if _, err := a.ensureCheck(&c); err != nil {
			return err
		}
	}
	return nil
}
