package local

import (
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

// startRunnerLocked starts the runner of ce's kind. A TTL check runs until
// ttlExpires when set (a restored or carried-over state), else one TTL
// from now. Checks without a kind (maintenance) have no runner.
func (s *State) startRunnerLocked(ce *checkEntry, ttlExpires time.Time) {
	c := &ce.check
	if c.Type == health.TypeTTL {
		ce.ttl = &health.TTL{CheckID: c.CheckID, TTL: c.Definition.TTL, Notify: s.notifyFor(ce)}
		if ttlExpires.IsZero() {
			ce.ttl.Start()
		} else {
			ce.ttl.StartUntil(ttlExpires)
		}
		return
	}
	newRunner := runnerKinds[c.Type]
	if newRunner == nil {
		return
	}
	// Registration rejects what this agent may not run; a check restored
	// from the data directory was accepted under an earlier configuration.
	if reason := s.refuseLocked(c.Type); reason != "" {
		s.log.Warn("not running a restored check", "check", c.CheckID, "reason", reason)
		if c.Status != catalog.HealthCritical || c.Output != reason {
			s.setStatusLocked(ce, catalog.HealthCritical, reason)
		}
		return
	}
	r := newRunner(s, c, s.notifyFor(ce))
	r.Start()
	ce.runner = r
}

// refuseLocked says why this agent may not run checks of a kind ("" if
// it may).
func (s *State) refuseLocked(kind string) string {
	switch {
	case kind == health.TypeScript && !s.cfg.EnableScriptChecks:
		return "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' to true"
	case kind == health.TypeAlias && s.cfg.AliasSource == nil:
		return "alias checks are not available on this agent"
	}
	return ""
}

// notifyFor is the Notify of ce's runner.
func (s *State) notifyFor(ce *checkEntry) health.Notify {
	return func(_, status, output string) { s.report(ce, status, output) }
}

// startableRunner is a runner of a probing or alias check.
type startableRunner interface {
	Start()
	Stop()
}

// runnerKinds builds the runner of each kind but TTL from a prepared
// check.
var runnerKinds = map[string]func(s *State, c *catalog.Check, notify health.Notify) startableRunner{
	health.TypeHTTP: func(_ *State, c *catalog.Check, notify health.Notify) startableRunner {
		d := c.Definition
		return &health.HTTP{
			CheckID: c.CheckID, URL: d.HTTP, Method: d.Method, Header: d.Header, Body: d.Body,
			TLSSkipVerify: d.TLSSkipVerify, Interval: d.Interval, Timeout: d.Timeout,
			Thresholds: thresholds(d), Notify: notify,
		}
	},
	health.TypeTCP: func(_ *State, c *catalog.Check, notify health.Notify) startableRunner {
		d := c.Definition
		return &health.TCP{CheckID: c.CheckID, Address: d.TCP, Interval: d.Interval, Timeout: d.Timeout, Thresholds: thresholds(d), Notify: notify}
	},
	health.TypeUDP: func(_ *State, c *catalog.Check, notify health.Notify) startableRunner {
		d := c.Definition
		return &health.UDP{CheckID: c.CheckID, Address: d.UDP, Interval: d.Interval, Timeout: d.Timeout, Thresholds: thresholds(d), Notify: notify}
	},
	health.TypeGRPC: func(_ *State, c *catalog.Check, notify health.Notify) startableRunner {
		d := c.Definition
		return &health.GRPC{
			CheckID: c.CheckID, Target: d.GRPC, UseTLS: d.GRPCUseTLS, TLSSkipVerify: d.TLSSkipVerify,
			Interval: d.Interval, Timeout: d.Timeout, Thresholds: thresholds(d), Notify: notify,
		}
	},
	// H2PING checks use TLS, Consul's default: the catalog's definition has
	// no field to record H2PingUseTLS = false.
	health.TypeH2Ping: func(_ *State, c *catalog.Check, notify health.Notify) startableRunner {
		d := c.Definition
		return &health.H2Ping{
			CheckID: c.CheckID, Address: d.H2PING, UseTLS: true, TLSSkipVerify: d.TLSSkipVerify,
			Interval: d.Interval, Timeout: d.Timeout, Thresholds: thresholds(d), Notify: notify,
		}
	},
	health.TypeScript: func(_ *State, c *catalog.Check, notify health.Notify) startableRunner {
		d := c.Definition
		return &health.Script{CheckID: c.CheckID, Args: d.Args, Interval: d.Interval, Timeout: d.Timeout, Thresholds: thresholds(d), Notify: notify}
	},
	// An alias without AliasNode mirrors a service on this node.
	health.TypeAlias: func(s *State, c *catalog.Check, notify health.Notify) startableRunner {
		d := c.Definition
		node := d.AliasNode
		if node == "" {
			node = s.cfg.Node.Node
		}
		return &health.Alias{
			CheckID: c.CheckID, Node: node, ServiceID: d.AliasService, OwnNode: s.cfg.Node.Node,
			Source: s.cfg.AliasSource, Notify: notify,
		}
	},
}

func thresholds(d catalog.CheckDefinition) health.Thresholds {
	return health.Thresholds{
		SuccessBeforePassing:   d.SuccessBeforePassing,
		FailuresBeforeWarning:  d.FailuresBeforeWarning,
		FailuresBeforeCritical: d.FailuresBeforeCritical,
	}
}

// report receives a runner's status change. Reports from a runner whose
// check was since replaced or removed are dropped, and so is a TTL expiry
// that an update has already pushed back.
func (s *State) report(ce *checkEntry, status, output string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.checks[ce.check.CheckID] != ce || ce.deleted {
		return
	}
	var expires time.Time
	if ce.ttl != nil {
		if !ce.ttl.Expired() {
			return
		}
		expires = ce.ttl.Expires()
	}
	statusChanged := ce.check.Status != status
	if !s.setStatusLocked(ce, status, output) || !statusChanged {
		return
	}
	// Status changes are persisted, so a restart does not flap the check;
	// output-only changes are not (the next run refreshes them).
	if err := s.persistCheck(&ce.check, expires); err != nil {
		s.log.Warn("persisting a check's status failed", "check", ce.check.CheckID, "error", err)
	}
	s.log.Debug("check status changed", "check", ce.check.CheckID, "status", status)
}
