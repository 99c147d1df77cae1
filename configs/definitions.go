package configs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ServiceDefinition is a service declared in a configuration file, with
// Consul's field names. The agent converts it to a catalog registration.
type ServiceDefinition struct {
	ID                string // empty: Name
	Name              string
	Tags              []string
	Address           string // empty: the node's address
	Port              int
	Meta              map[string]string
	Weights           Weights
	EnableTagOverride bool
	Checks            []CheckDefinition // from check and checks, in order
}

// Weights are the DNS SRV weights of a service's instances by health.
// A service without a weights block gets DefaultWeights.
type Weights struct {
	Passing int
	Warning int
}

// DefaultWeights are Consul's weights when a service declares none.
var DefaultWeights = Weights{Passing: 1, Warning: 1}

// CheckDefinition is a health check declared in a configuration file,
// either inside a service or at the top level (a node check, or a service
// check when ServiceID is set). Exactly one of TTL, HTTP, TCP, UDP, GRPC
// and Args says what kind of check it is; see Kind.
type CheckDefinition struct {
	ID        string // empty: Name
	Name      string
	Notes     string
	ServiceID string // top-level checks only

	TTL           time.Duration
	HTTP          string
	Method        string
	Header        map[string][]string
	Body          string
	TLSSkipVerify bool
	TCP           string
	UDP           string
	GRPC          string
	GRPCUseTLS    bool
	H2PING        string   // host:port, pinged over TLS (h2ping_use_tls = false is rejected)
	Args          []string // a script check; needs EnableScriptChecks
	AliasNode     string   // an alias check: this node's checks, or AliasService's on it
	AliasService  string   // an alias check: this service instance's checks (on AliasNode, default this node)

	Interval                       time.Duration
	Timeout                        time.Duration
	DeregisterCriticalServiceAfter time.Duration
	SuccessBeforePassing           int
	FailuresBeforeWarning          int
	FailuresBeforeCritical         int
	Status                         string // initial status; empty: critical
}

// Kind is "ttl", "http", "tcp", "udp", "grpc", "h2ping", "script" or
// "alias", or "" when no kind is set. Validate ensures exactly one is.
func (c CheckDefinition) Kind() string {
	if k := c.kinds(); len(k) > 0 {
		return k[0]
	}
	return ""
}

func (c CheckDefinition) kinds() []string {
	var k []string
	for _, kind := range []struct {
		name string
		set  bool
	}{
		{"ttl", c.TTL > 0}, {"http", c.HTTP != ""}, {"tcp", c.TCP != ""},
		{"udp", c.UDP != ""}, {"grpc", c.GRPC != ""}, {"h2ping", c.H2PING != ""}, {"script", len(c.Args) > 0},
		{"alias", c.AliasService != "" || c.AliasNode != ""},
	} {
		if kind.set {
			k = append(k, kind.name)
		}
	}
	return k
}

func (s ServiceDefinition) validate() error {
	if s.Name == "" {
		return fieldErr("name", errEmpty)
	}
	err := errors.Join(
		fieldErr("port", checkPort(s.Port)),
		fieldErr("weights", s.Weights.validate()),
	)
	if err != nil {
		return err
	}
	for i, c := range s.Checks {
		if err := c.validate(false); err != nil {
			return fieldErr(fmt.Sprintf("checks[%d]", i), err)
		}
	}
	return nil
}

func (w Weights) validate() error {
	return errors.Join(
		fieldErr("passing", between(1, 65535)(w.Passing)),
		fieldErr("warning", between(0, 65535)(w.Warning)),
	)
}

// validate checks c field by field, then as a whole; topLevel says whether
// c stands alone (needing a name) or belongs to a service.
func (c CheckDefinition) validate(topLevel bool) error {
	if err := c.validateFields(); err != nil {
		return err
	}
	return c.validateKind(topLevel)
}

func (c CheckDefinition) validateFields() error {
	return errors.Join(
		fieldErr("ttl", atLeastZero(c.TTL)),
		fieldErr("interval", atLeastZero(c.Interval)),
		fieldErr("timeout", atLeastZero(c.Timeout)),
		fieldErr("deregister_critical_service_after", atLeastZero(c.DeregisterCriticalServiceAfter)),
		fieldErr("success_before_passing", atLeastZero(c.SuccessBeforePassing)),
		fieldErr("failures_before_warning", atLeastZero(c.FailuresBeforeWarning)),
		fieldErr("failures_before_critical", atLeastZero(c.FailuresBeforeCritical)),
		fieldErr("status", checkStatus(c.Status)),
	)
}

// validateKind checks the fields that only make sense together.
func (c CheckDefinition) validateKind(topLevel bool) error {
	kinds := c.kinds()
	switch {
	case topLevel && c.Name == "":
		return fieldErr("name", errors.New("a top-level check needs a name"))
	case !topLevel && c.ServiceID != "":
		return fieldErr("service_id", errors.New("only for top-level checks; a service's checks belong to it"))
	case len(kinds) == 0:
		return errors.New("one of ttl, http, tcp, udp, grpc or args is required (or h2ping, alias_service, alias_node)")
	case len(kinds) > 1:
		return fmt.Errorf("%s are exclusive: a check has one kind", strings.Join(kinds, " and "))
	case kinds[0] != "ttl" && kinds[0] != "alias" && c.Interval <= 0:
		return fieldErr("interval", fmt.Errorf("required for a %s check", kinds[0]))
	}
	return nil
}

func checkStatus(s string) error {
	switch s {
	case "", "passing", "warning", "critical":
		return nil
	}
	return fmt.Errorf("%q is not passing, warning or critical", s)
}
