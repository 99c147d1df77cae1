package local

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

// AddService registers svc with checks, or replaces the registration of
// the service with the same ID. Defaults: ID is the name; Weights are
// {1, 1}; a check's ID is service:<ID> (service:<ID>:<n>, from 1, when
// there are several), its name "Service '<name>' check", its status
// critical. A check that existed keeps its status and output, so
// re-registering does not flap. With replaceExistingChecks, the service's
// checks absent from checks are removed; otherwise they stay.
func (s *State) AddService(svc catalog.Service, checks []catalog.Check, replaceExistingChecks bool) error {
	if err := s.prepareService(&svc); err != nil {
		return err
	}
	prepared := make([]catalog.Check, len(checks))
	for i, c := range checks {
		if c.CheckID == "" {
			c.CheckID = "service:" + svc.ID
			if len(checks) > 1 {
				c.CheckID += fmt.Sprintf(":%d", i+1)
			}
		}
		if c.Name == "" {
			c.Name = fmt.Sprintf("Service '%s' check", svc.Service)
		}
		c.ServiceID = svc.ID
		if err := s.prepareCheck(&c); err != nil {
			return err
		}
		prepared[i] = c
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	var stop []runner
	if replaceExistingChecks {
		keep := map[string]bool{}
		for _, c := range prepared {
			keep[c.CheckID] = true
		}
		for id, ce := range s.checks {
			if ce.check.ServiceID == svc.ID && !ce.deleted && !keep[id] && !health.IsMaintenance(id) {
				r, err := s.removeCheckLocked(ce)
				stop = append(stop, r...)
				if err != nil {
					s.log.Warn("removing a replaced check's file failed", "check", id, "error", err)
				}
			}
		}
	}
	err := s.putServiceLocked(svc)
	for i := 0; err == nil && i < len(prepared); i++ {
		var old []runner
		old, err = s.putCheckLocked(prepared[i])
		stop = append(stop, old...)
	}
	s.mu.Unlock()
	stopAll(stop)
	return err
}

// prepareService applies defaults to svc and validates it.
func (s *State) prepareService(svc *catalog.Service) error {
	if svc.Service == "" {
		return invalid("Missing service name")
	}
	if svc.ID == "" {
		svc.ID = svc.Service
	}
	if ip := net.ParseIP(strings.Trim(svc.Address, "[]")); ip != nil && ip.IsUnspecified() {
		return invalid("Invalid service address")
	}
	if svc.Weights == (catalog.Weights{}) {
		svc.Weights = catalog.Weights{Passing: 1, Warning: 1}
	}
	svc.Node = s.cfg.Node.Node
	svc.RaftIndex = catalog.RaftIndex{}
	req := catalog.RegisterRequest{Node: s.cfg.Node, Service: svc}
	if err := req.Validate(); err != nil {
		return invalid("Validation failed: " + err.Error())
	}
	return nil
}

// AddCheck registers a check, or replaces the one with the same ID. ID
// defaults to the name; a check of a service (ServiceID set) needs the
// service registered (else ErrUnknownService).
func (s *State) AddCheck(c catalog.Check) error {
	if c.Name == "" {
		return invalid("Missing check name")
	}
	if c.CheckID == "" {
		c.CheckID = c.Name
	}
	if err := s.prepareCheck(&c); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	stop, err := s.putCheckLocked(c)
	s.mu.Unlock()
	stopAll(stop)
	return err
}

// prepareCheck applies defaults to a user-defined check and validates it:
// exactly one kind, and one this agent can run.
func (s *State) prepareCheck(c *catalog.Check) error {
	if c.CheckID == health.NodeLivenessID {
		return invalid(fmt.Sprintf("Invalid check: check ID %q is reserved for the node liveness check", c.CheckID))
	}
	switch c.Status {
	case "":
		c.Status = catalog.HealthCritical
	case catalog.HealthPassing, catalog.HealthWarning, catalog.HealthCritical:
	default:
		return invalid(fmt.Sprintf("Invalid check status: '%s'", c.Status))
	}
	c.Node = s.cfg.Node.Node
	c.Output = health.Truncate(c.Output)
	c.RaftIndex = catalog.RaftIndex{}
	d := &c.Definition
	if d.Interval < 0 || d.Timeout < 0 || d.TTL < 0 || d.DeregisterCriticalServiceAfter < 0 ||
		d.SuccessBeforePassing < 0 || d.FailuresBeforeWarning < 0 || d.FailuresBeforeCritical < 0 {
		return invalid("Invalid check: durations and thresholds must not be negative")
	}
	kinds := health.Types(*d)
	switch {
	case len(kinds) == 0:
		return invalid("Invalid check: TTL must be > 0 for TTL checks")
	case len(kinds) > 1:
		return kindsError(kinds)
	}
	c.Type = kinds[0]
	if err := s.checkKind(c); err != nil {
		return err
	}
	if d.DeregisterCriticalServiceAfter > 0 && d.DeregisterCriticalServiceAfter < s.cfg.MinDeregisterAfter {
		d.DeregisterCriticalServiceAfter = s.cfg.MinDeregisterAfter
	}
	req := catalog.RegisterRequest{Node: s.cfg.Node, Checks: []*catalog.Check{c}}
	if err := req.Validate(); err != nil {
		return invalid("Invalid check: " + err.Error())
	}
	return nil
}

// checkKind validates the fields of c's kind, with Consul's messages where
// Consul has one, and raises a short interval to MinCheckInterval.
func (s *State) checkKind(c *catalog.Check) error {
	d := &c.Definition
	switch c.Type {
	case health.TypeTTL:
		if d.Interval > 0 {
			return invalid("Invalid check: Interval and TTL cannot both be specified")
		}
		return nil
	case health.TypeAlias:
		// Like Consul, an alias ignores Interval: it follows the catalog.
		if s.cfg.AliasSource == nil {
			return invalid("Invalid check: alias checks are not available on this agent")
		}
		return nil
	case health.TypeScript:
		if !s.cfg.EnableScriptChecks {
			return invalid("Scripts are disabled on this agent; to enable, configure 'enable_script_checks' to true")
		}
	}
	if d.Interval <= 0 {
		return invalid("Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks")
	}
	d.Interval = max(d.Interval, s.cfg.MinCheckInterval)
	switch c.Type {
	case health.TypeHTTP:
		if u, err := url.Parse(d.HTTP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid(fmt.Sprintf("Invalid check: HTTP must be an http:// or https:// URL, got %q", d.HTTP))
		}
	case health.TypeTCP:
		return hostPort("TCP", d.TCP)
	case health.TypeUDP:
		return hostPort("UDP", d.UDP)
	case health.TypeH2Ping:
		return hostPort("H2PING", d.H2PING)
	case health.TypeGRPC:
		server, _, _ := strings.Cut(d.GRPC, "/")
		if _, _, err := net.SplitHostPort(server); err != nil {
			return invalid(fmt.Sprintf("Invalid check: GRPC must be host:port or host:port/service, got %q", d.GRPC))
		}
	}
	return nil
}

func hostPort(field, v string) error {
	if _, _, err := net.SplitHostPort(v); err != nil {
		return invalid(fmt.Sprintf("Invalid check: %s must be host:port, got %q", field, v))
	}
	return nil
}

// kindsError rejects a definition of several kinds, in Consul's words
// when one of them is an alias.
func kindsError(kinds []string) error {
	if slices.Contains(kinds, health.TypeAlias) {
		if slices.Contains(kinds, health.TypeTTL) {
			return invalid("Invalid check: TTL must be not be set for Alias checks")
		}
		return invalid("Invalid check: Interval cannot be set for Alias checks")
	}
	return invalid(fmt.Sprintf("Invalid check: a check has one kind, got %s", strings.Join(kinds, " and ")))
}

// putServiceLocked stores a service, persisting it first.
func (s *State) putServiceLocked(svc catalog.Service) error {
	if err := s.persistService(&svc); err != nil {
		return err
	}
	se := s.services[svc.ID]
	if se == nil || se.deleted {
		se = &serviceEntry{}
		s.services[svc.ID] = se
	}
	se.svc, se.inSync, se.deleted = svc, false, false
	se.version = s.bumpLocked()
	// Its checks carry its name and tags.
	for _, ce := range s.checks {
		if ce.check.ServiceID == svc.ID && !ce.deleted {
			ce.check.ServiceName, ce.check.ServiceTags = svc.Service, svc.Tags
		}
	}
	return nil
}

// putCheckLocked stores a prepared check, keeping the status and output
// of a check it replaces, persists it and starts its runner. It returns
// the replaced runner, to stop once State.mu is released.
func (s *State) putCheckLocked(c catalog.Check) ([]runner, error) {
	if c.ServiceID != "" {
		se := s.services[c.ServiceID]
		if se == nil || se.deleted {
			return nil, fmt.Errorf("%w: %q", ErrUnknownService, c.ServiceID)
		}
		c.ServiceName, c.ServiceTags = se.svc.Service, se.svc.Tags
	}
	old := s.checks[c.CheckID]
	var ttlExpires time.Time
	if old != nil && !old.deleted {
		c.Status, c.Output = old.check.Status, old.check.Output
		if old.ttl != nil && c.Type == health.TypeTTL {
			ttlExpires = old.ttl.Expires()
		}
	}
	if err := s.persistCheck(&c, ttlExpires); err != nil {
		return nil, err
	}
	ce := &checkEntry{check: c}
	if old != nil && !old.deleted {
		// A deleted entry's catalog copy may be on its way out (a
		// deregistration in flight): a re-added check starts with none, so
		// the next sync registers it whole rather than updating a check
		// the catalog no longer has.
		ce.synced = old.synced
		if old.check.Status == catalog.HealthCritical {
			ce.criticalSince = old.criticalSince
		}
	}
	if c.Status == catalog.HealthCritical && ce.criticalSince.IsZero() {
		ce.criticalSince = time.Now()
	}
	s.checks[c.CheckID] = ce
	ce.version = s.bumpLocked()
	s.startRunnerLocked(ce, ttlExpires)
	if old == nil {
		return nil, nil
	}
	return detachRunnerLocked(old), nil
}

// RemoveService deregisters a service and its checks.
func (s *State) RemoveService(id string) error {
	s.mu.Lock()
	se := s.services[id]
	if se == nil || se.deleted {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownService, id)
	}
	stop, err := s.removeServiceLocked(se)
	s.mu.Unlock()
	stopAll(stop)
	return err
}

func (s *State) removeServiceLocked(se *serviceEntry) ([]runner, error) {
	var stop []runner
	var errs []error
	for _, ce := range s.checks {
		if ce.check.ServiceID == se.svc.ID && !ce.deleted {
			r, err := s.removeCheckLocked(ce)
			stop, errs = append(stop, r...), append(errs, err)
		}
	}
	se.deleted, se.inSync = true, false
	se.version = s.bumpLocked()
	errs = append(errs, s.unpersistService(se.svc.ID))
	return stop, errors.Join(errs...)
}

// RemoveCheck deregisters a check.
func (s *State) RemoveCheck(id string) error {
	s.mu.Lock()
	ce := s.checks[id]
	if ce == nil || ce.deleted {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownCheck, id)
	}
	stop, err := s.removeCheckLocked(ce)
	s.mu.Unlock()
	stopAll(stop)
	return err
}

// removeCheckLocked marks a check for deregistration and removes its file;
// it returns its runners to stop.
func (s *State) removeCheckLocked(ce *checkEntry) ([]runner, error) {
	ce.deleted, ce.inSync, ce.deferUntil = true, false, time.Time{}
	ce.version = s.bumpLocked()
	return detachRunnerLocked(ce), s.unpersistCheck(ce.check.CheckID)
}

// UpdateTTL records a TTL check's status and output (the application's
// heartbeat) and restarts its TTL. Unknown checks are ErrUnknownCheck,
// other kinds ErrNotTTL. The state, with its expiry, is persisted so a
// restart within the TTL keeps it.
func (s *State) UpdateTTL(id, status, output string) error {
	switch status {
	case catalog.HealthPassing, catalog.HealthWarning, catalog.HealthCritical:
	default:
		return invalid(fmt.Sprintf("Invalid check status: '%s'", status))
	}
	output = health.Truncate(output)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	ce := s.checks[id]
	if ce == nil || ce.deleted {
		return fmt.Errorf("%w: %q", ErrUnknownCheck, id)
	}
	if ce.ttl == nil {
		return fmt.Errorf("%w: %q", ErrNotTTL, id)
	}
	expires := ce.ttl.Extend()
	s.setStatusLocked(ce, status, output)
	return s.persistCheck(&ce.check, expires)
}

// setStatusLocked applies a status and output. A status change is synced
// at once, and so is the first result after the check was added when the
// check had no output yet (a check registered critical that stays
// critical would otherwise show an empty output in the catalog for
// minutes); any other output-only change waits up to CheckUpdateInterval
// (a sync for another reason may carry it earlier). It reports whether
// anything changed.
func (s *State) setStatusLocked(ce *checkEntry, status, output string) bool {
	c := &ce.check
	first := !ce.reported && c.Output == ""
	ce.reported = true
	switch {
	case c.Status != status:
		if status == catalog.HealthCritical {
			ce.criticalSince = time.Now()
		} else {
			ce.criticalSince = time.Time{}
		}
		c.Status, c.Output = status, output
		ce.inSync, ce.deferUntil = false, time.Time{}
	case c.Output != output:
		c.Output = output
		if first || s.cfg.CheckUpdateInterval <= 0 {
			ce.inSync, ce.deferUntil = false, time.Time{}
		} else if ce.inSync && ce.deferUntil.IsZero() {
			ce.deferUntil = time.Now().Add(s.cfg.CheckUpdateInterval)
		}
	default:
		return false
	}
	ce.version = s.bumpLocked()
	return true
}
