package local

import (
	"time"

	"github.com/beacon-sd/beacon/health"
)

// startRunnerLocked starts the runner of ce's kind. A TTL check runs until
// ttlExpires when set (a restored or carried-over state), else one TTL
// from now. Checks without a kind (maintenance) have no runner.
func (s *State) startRunnerLocked(ce *checkEntry, ttlExpires time.Time) {
	c := &ce.check
	d := c.Definition
	notify := func(_, status, output string) { s.report(ce, status, output) }
	th := health.Thresholds{
		SuccessBeforePassing:   d.SuccessBeforePassing,
		FailuresBeforeWarning:  d.FailuresBeforeWarning,
		FailuresBeforeCritical: d.FailuresBeforeCritical,
	}
	switch c.Type {
	case health.TypeTTL:
		ce.ttl = &health.TTL{CheckID: c.CheckID, TTL: d.TTL, Notify: notify}
		if ttlExpires.IsZero() {
			ce.ttl.Start()
		} else {
			ce.ttl.StartUntil(ttlExpires)
		}
	case health.TypeHTTP:
		r := &health.HTTP{
			CheckID: c.CheckID, URL: d.HTTP, Method: d.Method, Header: d.Header, Body: d.Body,
			TLSSkipVerify: d.TLSSkipVerify, Interval: d.Interval, Timeout: d.Timeout,
			Thresholds: th, Notify: notify,
		}
		r.Start()
		ce.runner = r
	case health.TypeTCP:
		r := &health.TCP{CheckID: c.CheckID, Address: d.TCP, Interval: d.Interval, Timeout: d.Timeout, Thresholds: th, Notify: notify}
		r.Start()
		ce.runner = r
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
