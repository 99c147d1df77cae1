package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// Bodies of the agent's registration endpoints, with Consul's field names.
// Each object also accepts its keys in snake_case (deregister_critical_
// service_after, script_args, tls_skip_verify, service_id, …), as Consul's
// configuration format writes them: keys are matched without underscores
// and case-insensitively. Keys of user maps (Meta, Header) are kept as is.

// agentServiceBody is the body of PUT /v1/agent/service/register.
type agentServiceBody struct {
	Kind              string
	ID                string
	Name              string
	Tags              []string
	Address           string
	Port              int
	Meta              map[string]string
	Weights           *catalog.Weights
	EnableTagOverride bool
	Check             *agentCheckBody
	Checks            []*agentCheckBody
	Connect           *struct {
		Native         bool
		SidecarService json.RawMessage
	}
}

func (b *agentServiceBody) UnmarshalJSON(data []byte) error {
	type plain agentServiceBody
	return decodeAgentAliased(data, (*plain)(b))
}

// agentCheckBody is a check in a service registration, or the body of PUT
// /v1/agent/check/register (which names its ID "ID").
type agentCheckBody struct {
	ID                             string
	CheckID                        string
	Name                           string
	Notes                          string
	ServiceID                      string
	Status                         string
	ScriptArgs                     []string
	Args                           []string
	DockerContainerID              string
	Shell                          string
	Interval                       agentDuration
	Timeout                        agentDuration
	TTL                            agentDuration
	HTTP                           string
	Header                         map[string][]string
	Method                         string
	Body                           string
	TLSServerName                  string
	TLSSkipVerify                  bool
	TCP                            string
	TCPUseTLS                      bool
	UDP                            string
	GRPC                           string
	GRPCUseTLS                     bool
	H2PING                         string
	H2PingUseTLS                   *bool // absent: true, Consul's default
	OSService                      string
	AliasNode                      string
	AliasService                   string
	SuccessBeforePassing           int
	FailuresBeforeWarning          int
	FailuresBeforeCritical         int
	DeregisterCriticalServiceAfter agentDuration
}

func (b *agentCheckBody) UnmarshalJSON(data []byte) error {
	type plain agentCheckBody
	return decodeAgentAliased(data, (*plain)(b))
}

// decodeAgentAliased decodes one JSON object into v, its keys stripped of
// underscores so snake_case matches v's field names.
func decodeAgentAliased(data []byte, v any) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	// Two spellings of one key ("ID" and "I_D") must decode the same way
	// every time, not in map order: the one without underscores wins, as
	// Consul's canonical key beats its alias, else the first in sorted order.
	norm := make(map[string]json.RawMessage, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		n := strings.ReplaceAll(k, "_", "")
		if _, dup := norm[n]; dup && n != k {
			continue
		}
		norm[n] = raw[k]
	}
	buf, err := json.Marshal(norm)
	if err != nil {
		return err
	}
	return json.Unmarshal(buf, v)
}

// agentDuration is a duration written as a Go duration string ("10s") or
// a number of nanoseconds.
type agentDuration time.Duration

func (d *agentDuration) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*d = 0
	case string:
		if v == "" {
			*d = 0
			return nil
		}
		p, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid duration %q", v)
		}
		*d = agentDuration(p)
	case float64:
		*d = agentDuration(v)
	default:
		return fmt.Errorf("invalid duration %s", data)
	}
	return nil
}

// empty reports whether b sets nothing (Consul ignores an empty "Check").
func (b *agentCheckBody) empty() bool { return reflect.ValueOf(*b).IsZero() }

// toCheck converts a check body, rejecting kinds beacon does not have.
func (b *agentCheckBody) toCheck() (catalog.Check, error) {
	id := b.CheckID
	if id == "" {
		id = b.ID
	}
	args := b.ScriptArgs
	if len(args) == 0 {
		args = b.Args
	}
	switch {
	case b.DockerContainerID != "":
		return catalog.Check{}, badRequest("check type docker is not supported yet")
	case b.OSService != "":
		return catalog.Check{}, badRequest("check type os_service is not supported yet")
	case b.TCPUseTLS || b.TLSServerName != "":
		return catalog.Check{}, badRequest("Invalid check: TCPUseTLS and TLSServerName are not supported yet")
	case b.H2PING != "" && b.H2PingUseTLS != nil && !*b.H2PingUseTLS:
		// H2PING checks run over TLS; the catalog's definition has no
		// field to record the cleartext variant.
		return catalog.Check{}, badRequest("Invalid check: H2PingUseTLS false (cleartext HTTP/2) is not supported yet")
	}
	return catalog.Check{
		CheckID: id, Name: b.Name, Notes: b.Notes, ServiceID: b.ServiceID, Status: b.Status,
		Definition: catalog.CheckDefinition{
			Interval: time.Duration(b.Interval), Timeout: time.Duration(b.Timeout), TTL: time.Duration(b.TTL),
			HTTP: b.HTTP, Method: b.Method, Header: b.Header, Body: b.Body, TLSSkipVerify: b.TLSSkipVerify,
			TCP: b.TCP, UDP: b.UDP, GRPC: b.GRPC, GRPCUseTLS: b.GRPCUseTLS, H2PING: b.H2PING, Args: args,
			AliasNode: b.AliasNode, AliasService: b.AliasService,
			DeregisterCriticalServiceAfter: time.Duration(b.DeregisterCriticalServiceAfter),
			SuccessBeforePassing:           b.SuccessBeforePassing,
			FailuresBeforeWarning:          b.FailuresBeforeWarning,
			FailuresBeforeCritical:         b.FailuresBeforeCritical,
		},
	}, nil
}

// toCatalog validates a service registration with Consul's messages and
// converts it; the local state applies the remaining defaults.
func (b *agentServiceBody) toCatalog() (catalog.Service, []catalog.Check, error) {
	switch {
	case b.Name == "":
		return catalog.Service{}, nil, badRequest("Missing service name")
	case b.Kind != "":
		return catalog.Service{}, nil, badRequest("Service kind %q is not supported yet", b.Kind)
	case b.Connect != nil && len(b.Connect.SidecarService) > 0 && string(b.Connect.SidecarService) != "null":
		return catalog.Service{}, nil, badRequest("Connect sidecar services are not supported yet")
	}
	if ip := net.ParseIP(strings.Trim(b.Address, "[]")); ip != nil && ip.IsUnspecified() {
		return catalog.Service{}, nil, badRequest("Invalid service address")
	}
	svc := catalog.Service{
		ID: b.ID, Service: b.Name, Tags: b.Tags, Address: b.Address, Port: b.Port,
		Meta: b.Meta, EnableTagOverride: b.EnableTagOverride, Weights: catalog.Weights{Passing: 1, Warning: 1},
	}
	if b.Weights != nil {
		switch {
		case b.Weights.Passing < 1:
			return svc, nil, badRequest("Invalid Weights: Passing must be greater than 0")
		case b.Weights.Warning < 0:
			return svc, nil, badRequest("Invalid Weights: Warning must be greater or equal than 0")
		}
		svc.Weights = *b.Weights
	}
	if err := agentCheckMeta(b.Meta); err != nil {
		return svc, nil, err
	}
	var bodies []*agentCheckBody
	if b.Check != nil && !b.Check.empty() {
		bodies = append(bodies, b.Check)
	}
	for _, c := range b.Checks {
		if c != nil {
			bodies = append(bodies, c)
		}
	}
	checks := make([]catalog.Check, 0, len(bodies))
	for _, cb := range bodies {
		if !agentValidStatus(cb.Status) {
			return svc, nil, badRequest("Status for checks must 'passing', 'warning', 'critical'")
		}
		c, err := cb.toCheck()
		if err != nil {
			return svc, nil, err
		}
		checks = append(checks, c)
	}
	return svc, checks, nil
}

func agentValidStatus(s string) bool {
	switch s {
	case "", catalog.HealthPassing, catalog.HealthWarning, catalog.HealthCritical:
		return true
	}
	return false
}

var agentMetaKeyRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// agentCheckMeta applies Consul's service metadata rules, with its messages.
func agentCheckMeta(meta map[string]string) error {
	if len(meta) > catalog.MaxMetaPairs {
		return badRequest("Invalid Service Meta: Node metadata cannot contain more than %d key/value pairs", catalog.MaxMetaPairs)
	}
	for k, v := range meta {
		switch {
		case k == "":
			return badRequest("Invalid Service Meta: Key cannot be blank")
		case !agentMetaKeyRE.MatchString(k):
			return badRequest("Invalid Service Meta: Key contains invalid characters: %q", k)
		case len(k) > catalog.MaxMetaKeyBytes:
			return badRequest("Invalid Service Meta: Key is too long (limit: %d characters)", catalog.MaxMetaKeyBytes)
		case strings.HasPrefix(k, "consul-"):
			return badRequest("Invalid Service Meta: Key prefix 'consul-' is reserved for internal use: %q", k)
		case len(v) > catalog.MaxMetaValueBytes:
			return badRequest("Invalid Service Meta: Value is too long (limit: %d characters)", catalog.MaxMetaValueBytes)
		}
	}
	return nil
}
