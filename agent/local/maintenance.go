package local

import (
	"fmt"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

// Default notes of the maintenance checks, as Consul words them.
const (
	DefaultNodeMaintenanceReason    = "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
	DefaultServiceMaintenanceReason = "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
)

// EnableNodeMaintenance adds the critical check _node_maintenance (Notes:
// reason, or the default) that takes every service of the node out of
// healthy answers. Already enabled: no change.
func (s *State) EnableNodeMaintenance(reason string) error {
	if reason == "" {
		reason = DefaultNodeMaintenanceReason
	}
	return s.addMaintenance(catalog.Check{CheckID: health.NodeMaintenanceID, Name: "Node Maintenance Mode", Notes: reason})
}

// DisableNodeMaintenance removes the node maintenance check, if present.
func (s *State) DisableNodeMaintenance() error {
	return s.removeMaintenance(health.NodeMaintenanceID)
}

// EnableServiceMaintenance adds the critical check
// _service_maintenance:<id> to a registered service (else
// ErrUnknownService). Already enabled: no change.
func (s *State) EnableServiceMaintenance(id, reason string) error {
	if s.Service(id) == nil {
		return fmt.Errorf("%w: %q", ErrUnknownService, id)
	}
	if reason == "" {
		reason = DefaultServiceMaintenanceReason
	}
	return s.addMaintenance(catalog.Check{
		CheckID: health.ServiceMaintenancePrefix + id, Name: "Service Maintenance Mode", Notes: reason, ServiceID: id,
	})
}

// DisableServiceMaintenance removes a registered service's maintenance
// check, if present (an unknown service is ErrUnknownService).
func (s *State) DisableServiceMaintenance(id string) error {
	if s.Service(id) == nil {
		return fmt.Errorf("%w: %q", ErrUnknownService, id)
	}
	return s.removeMaintenance(health.ServiceMaintenancePrefix + id)
}

func (s *State) addMaintenance(c catalog.Check) error {
	c.Node, c.Status = s.cfg.Node.Node, catalog.HealthCritical
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if ce := s.checks[c.CheckID]; ce != nil && !ce.deleted {
		return nil
	}
	_, err := s.putCheckLocked(c) // no runner: nothing to stop
	return err
}

func (s *State) removeMaintenance(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ce := s.checks[id]
	if ce == nil || ce.deleted {
		return nil
	}
	_, err := s.removeCheckLocked(ce) // no runner: nothing to stop
	return err
}
