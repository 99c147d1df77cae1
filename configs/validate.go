package configs

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"time"
)

// ErrInvalid is wrapped by every error about a bad configuration value.
var ErrInvalid = errors.New("invalid configuration")

// A FieldError is a bad configuration value, located as precisely as its
// source allows: file and line for values from files, the flag or key name
// otherwise.
type FieldError struct {
	File  string // empty when the value did not come from a file
	Line  int
	Field string // "ports.http" in files, "http-port" for flags; may be empty for syntax errors
	Err   error
}

func (e *FieldError) Error() string {
	msg := e.Err.Error()
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.File != "" {
		msg = fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg)
	}
	return msg
}

// Unwrap returns ErrInvalid and the underlying cause.
func (e *FieldError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// fieldErr names field in err; nil stays nil.
func fieldErr(field string, err error) error {
	if err == nil {
		return nil
	}
	return &FieldError{Field: field, Err: err}
}

// Validate reports the first field of the merged configuration that cannot
// work, naming it by its flag where it has one, else by its file key.
func (c Config) Validate() error {
	for _, check := range []func() error{c.validateAgent, c.validatePorts, c.validateAddrs, c.validateTuning, c.validateDefinitions} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) validateAgent() error {
	switch {
	case c.NodeName == "":
		return fieldErr("node", errors.New("a node name is required (-node)"))
	case c.Datacenter == "":
		return fieldErr("datacenter", errEmpty)
	case !c.Dev && c.DataDir == "":
		return fieldErr("data-dir", errors.New("required unless -dev"))
	case c.BootstrapExpect > 0 && !c.Server:
		return fieldErr("bootstrap-expect", errors.New("only servers bootstrap (add -server)"))
	}
	return errors.Join(
		fieldErr("bootstrap-expect", atLeastZero(c.BootstrapExpect)),
		fieldErr("log-level", checkLogLevel(c.LogLevel)),
	)
}

func (c Config) validatePorts() error {
	return errors.Join(
		fieldErr("server-port", checkPort(c.Ports.Server)),
		fieldErr("http-port", checkListenPort(c.Ports.HTTP)),
		fieldErr("dns-port", checkListenPort(c.Ports.DNS)),
	)
}

func (c Config) validateAddrs() error {
	if err := checkIP(c.BindAddr); err != nil {
		return fieldErr("bind", err)
	}
	if c.Advertise != "" {
		if err := checkIP(c.Advertise); err != nil {
			return fieldErr("advertise", err)
		}
	}
	if len(c.ClientAddrs) == 0 {
		return fieldErr("client", errors.New("at least one address is required"))
	}
	for _, a := range c.ClientAddrs {
		if err := checkIP(a); err != nil {
			return fieldErr("client", err)
		}
	}
	for _, a := range c.RetryJoin {
		if err := checkJoinAddr(a); err != nil {
			return fieldErr("retry-join", err)
		}
	}
	return nil
}

func (c Config) validateTuning() error {
	return errors.Join(
		fieldErr("raft_multiplier", between(1, 10)(c.RaftMultiplier)),
		fieldErr("check_update_interval", atLeastZero(c.CheckUpdateInterval)),
		fieldErr("lease_ttl", checkLeaseTTL(c.LeaseTTL)),
		fieldErr("lease_expiry_rate", checkExpiryRate(c.LeaseExpiryRate)),
		fieldErr("reconnect_timeout", checkReconnectTimeout(c.ReconnectTimeout)),
		fieldErr("limits.http_max_conns_per_client", atLeastZero(c.Limits.HTTPMaxConnsPerClient)),
		fieldErr("limits.request_rate", checkRate(c.Limits.RequestRate)),
		fieldErr("limits.request_burst", atLeastZero(c.Limits.RequestBurst)),
		fieldErr("telemetry.prometheus_retention_time", atLeastZero(c.Telemetry.PrometheusRetentionTime)),
	)
}

func (c Config) validateDefinitions() error {
	for i, s := range c.Services {
		if err := s.validate(); err != nil {
			return fieldErr(fmt.Sprintf("services[%d]", i), err)
		}
	}
	for i, chk := range c.Checks {
		if err := chk.validate(true); err != nil {
			return fieldErr(fmt.Sprintf("checks[%d]", i), err)
		}
	}
	return nil
}

// The checks below are shared by Validate, the flags and the file decoder,
// so a value is judged the same wherever it comes from.

var errEmpty = errors.New("must not be empty")

func notEmpty(s string) error {
	if s == "" {
		return errEmpty
	}
	return nil
}

func between(lo, hi int) func(int) error {
	return func(v int) error {
		if v < lo || v > hi {
			return fmt.Errorf("must be %d..%d, got %d", lo, hi, v)
		}
		return nil
	}
}

func checkPort(p int) error       { return between(0, 65535)(p) }
func checkListenPort(p int) error { return between(-1, 65535)(p) }

func atLeastZero[T int | time.Duration](v T) error {
	if v < 0 {
		return fmt.Errorf("must not be negative, got %v", v)
	}
	return nil
}

// MinLeaseTTL is the shortest node lease: agents renew every third of it.
const MinLeaseTTL = 300 * time.Millisecond

func checkLeaseTTL(d time.Duration) error {
	if d < MinLeaseTTL {
		return fmt.Errorf("must be at least %s, got %s", MinLeaseTTL, d)
	}
	return nil
}

// MinReconnectTimeout is the shortest reconnect_timeout, as Consul's.
const MinReconnectTimeout = 8 * time.Hour

func checkReconnectTimeout(d time.Duration) error {
	if d < MinReconnectTimeout {
		return fmt.Errorf("must be at least %s, got %s", MinReconnectTimeout, d)
	}
	return nil
}

func checkExpiryRate(r float64) error {
	if !(r >= 1) || math.IsInf(r, 0) {
		return fmt.Errorf("must be a number of expiries per second, at least 1, got %v", r)
	}
	return nil
}

func checkRate(r float64) error {
	if !(r >= 0) || math.IsInf(r, 0) {
		return fmt.Errorf("must be a non-negative number, got %v", r)
	}
	return nil
}

func checkIP(s string) error {
	if net.ParseIP(s) == nil {
		return fmt.Errorf("%q is not an IP address", s)
	}
	return nil
}

func checkJoinAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" {
		return fmt.Errorf("%q must be HOST:PORT", a)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q has a bad port", a)
	}
	return nil
}

func checkLogLevel(s string) error {
	_, err := ParseLogLevel(s)
	return err
}
