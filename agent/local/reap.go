package local

import (
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// reap deregisters the services that have a check critical for longer
// than its DeregisterCriticalServiceAfter (Consul's reaping of critical
// services).
func (s *State) reap() {
	now := time.Now()
	s.mu.Lock()
	var stop []runner
	for _, ce := range s.checks {
		after := ce.check.Definition.DeregisterCriticalServiceAfter
		if ce.deleted || after <= 0 || ce.check.ServiceID == "" || ce.check.Status != catalog.HealthCritical ||
			ce.criticalSince.IsZero() || now.Sub(ce.criticalSince) < after {
			continue
		}
		se := s.services[ce.check.ServiceID]
		if se == nil || se.deleted {
			continue
		}
		r, err := s.removeServiceLocked(se)
		stop = append(stop, r...)
		s.log.Info("deregistered a service whose check stayed critical", "service", se.svc.ID, "check", ce.check.CheckID, "critical_for", now.Sub(ce.criticalSince).Round(time.Second))
		if err != nil {
			s.log.Warn("removing a reaped service's files failed", "service", se.svc.ID, "error", err)
		}
	}
	s.mu.Unlock()
	stopAll(stop)
}
