package configs

import (
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// The raw* structs are the schema of a configuration file: every key HCL
// or JSON may set, Consul's snake_case names. Keys not listed are errors.
// Attributes stay *hcl.Attribute (nil when absent) so that each value is
// decoded, checked and reported with its own file and line.

type rawConfig struct {
	NodeName            *hcl.Attribute `hcl:"node_name,optional"`
	Datacenter          *hcl.Attribute `hcl:"datacenter,optional"`
	DataDir             *hcl.Attribute `hcl:"data_dir,optional"`
	Server              *hcl.Attribute `hcl:"server,optional"`
	BootstrapExpect     *hcl.Attribute `hcl:"bootstrap_expect,optional"`
	RetryJoin           *hcl.Attribute `hcl:"retry_join,optional"`
	BindAddr            *hcl.Attribute `hcl:"bind_addr,optional"`
	AdvertiseAddr       *hcl.Attribute `hcl:"advertise_addr,optional"`
	ClientAddr          *hcl.Attribute `hcl:"client_addr,optional"`
	LogLevel            *hcl.Attribute `hcl:"log_level,optional"`
	LogJSON             *hcl.Attribute `hcl:"log_json,optional"`
	EnableScriptChecks  *hcl.Attribute `hcl:"enable_script_checks,optional"`
	EnableDebug         *hcl.Attribute `hcl:"enable_debug,optional"`
	UI                  *hcl.Attribute `hcl:"ui,optional"`
	NodeMeta            *hcl.Attribute `hcl:"node_meta,optional"`
	LeaveOnTerminate    *hcl.Attribute `hcl:"leave_on_terminate,optional"`
	RaftMultiplier      *hcl.Attribute `hcl:"raft_multiplier,optional"`
	CheckUpdateInterval *hcl.Attribute `hcl:"check_update_interval,optional"`
	LeaseTTL            *hcl.Attribute `hcl:"lease_ttl,optional"`
	LeaseExpiryRate     *hcl.Attribute `hcl:"lease_expiry_rate,optional"`
	ReconnectTimeout    *hcl.Attribute `hcl:"reconnect_timeout,optional"`

	Ports     *rawPorts     `hcl:"ports,block"`
	Limits    *rawLimits    `hcl:"limits,block"`
	Telemetry *rawTelemetry `hcl:"telemetry,block"`

	// service blocks in HCL, "service": {...} or [...] and
	// "services": [...] in JSON; likewise check and checks.
	Service  []rawService `hcl:"service,block"`
	Services []rawService `hcl:"services,block"`
	Check    []rawCheck   `hcl:"check,block"`
	Checks   []rawCheck   `hcl:"checks,block"`
}

type rawPorts struct {
	HTTP   *hcl.Attribute `hcl:"http,optional"`
	DNS    *hcl.Attribute `hcl:"dns,optional"`
	Server *hcl.Attribute `hcl:"server,optional"`
}

type rawLimits struct {
	HTTPMaxConnsPerClient *hcl.Attribute `hcl:"http_max_conns_per_client,optional"`
	RequestRate           *hcl.Attribute `hcl:"request_rate,optional"`
	RequestBurst          *hcl.Attribute `hcl:"request_burst,optional"`
}

type rawTelemetry struct {
	DisableHostname         *hcl.Attribute `hcl:"disable_hostname,optional"`
	PrometheusRetentionTime *hcl.Attribute `hcl:"prometheus_retention_time,optional"`
}

type rawService struct {
	DefRange          hcl.Range      `hcl:",def_range"`
	ID                *hcl.Attribute `hcl:"id,optional"`
	Name              *hcl.Attribute `hcl:"name,optional"`
	Tags              *hcl.Attribute `hcl:"tags,optional"`
	Address           *hcl.Attribute `hcl:"address,optional"`
	Port              *hcl.Attribute `hcl:"port,optional"`
	Meta              *hcl.Attribute `hcl:"meta,optional"`
	EnableTagOverride *hcl.Attribute `hcl:"enable_tag_override,optional"`
	Weights           *rawWeights    `hcl:"weights,block"`
	Check             []rawCheck     `hcl:"check,block"`
	Checks            []rawCheck     `hcl:"checks,block"`
}

type rawWeights struct {
	Passing *hcl.Attribute `hcl:"passing,optional"`
	Warning *hcl.Attribute `hcl:"warning,optional"`
}

type rawCheck struct {
	DefRange      hcl.Range      `hcl:",def_range"`
	ID            *hcl.Attribute `hcl:"id,optional"`
	Name          *hcl.Attribute `hcl:"name,optional"`
	Notes         *hcl.Attribute `hcl:"notes,optional"`
	ServiceID     *hcl.Attribute `hcl:"service_id,optional"`
	TTL           *hcl.Attribute `hcl:"ttl,optional"`
	HTTP          *hcl.Attribute `hcl:"http,optional"`
	Method        *hcl.Attribute `hcl:"method,optional"`
	Header        *hcl.Attribute `hcl:"header,optional"`
	Body          *hcl.Attribute `hcl:"body,optional"`
	TLSSkipVerify *hcl.Attribute `hcl:"tls_skip_verify,optional"`
	TCP           *hcl.Attribute `hcl:"tcp,optional"`
	UDP           *hcl.Attribute `hcl:"udp,optional"`
	GRPC          *hcl.Attribute `hcl:"grpc,optional"`
	GRPCUseTLS    *hcl.Attribute `hcl:"grpc_use_tls,optional"`
	H2PING        *hcl.Attribute `hcl:"h2ping,optional"`
	H2PingUseTLS  *hcl.Attribute `hcl:"h2ping_use_tls,optional"`
	Args          *hcl.Attribute `hcl:"args,optional"`
	AliasNode     *hcl.Attribute `hcl:"alias_node,optional"`
	AliasService  *hcl.Attribute `hcl:"alias_service,optional"`

	Interval                       *hcl.Attribute `hcl:"interval,optional"`
	Timeout                        *hcl.Attribute `hcl:"timeout,optional"`
	DeregisterCriticalServiceAfter *hcl.Attribute `hcl:"deregister_critical_service_after,optional"`
	SuccessBeforePassing           *hcl.Attribute `hcl:"success_before_passing,optional"`
	FailuresBeforeWarning          *hcl.Attribute `hcl:"failures_before_warning,optional"`
	FailuresBeforeCritical         *hcl.Attribute `hcl:"failures_before_critical,optional"`
	Status                         *hcl.Attribute `hcl:"status,optional"`
}

// apply sets onto c every value r holds. Scalars override, lists append,
// node_meta merges by key.
func (d *decoder) apply(c *Config, r *rawConfig) {
	d.applyAgent(c, r)
	d.applyNetwork(c, r)
	d.applyTuning(c, r)
	for i := range r.Service {
		d.addService(c, &r.Service[i], fmt.Sprintf("service[%d]", i))
	}
	for i := range r.Services {
		d.addService(c, &r.Services[i], fmt.Sprintf("services[%d]", i))
	}
	c.Checks = append(c.Checks, d.checks(r.Check, "check", true)...)
	c.Checks = append(c.Checks, d.checks(r.Checks, "checks", true)...)
}

func (d *decoder) applyAgent(c *Config, r *rawConfig) {
	decode(d, r.NodeName, "node_name", &c.NodeName, notEmpty)
	decode(d, r.Datacenter, "datacenter", &c.Datacenter, notEmpty)
	decode(d, r.DataDir, "data_dir", &c.DataDir, nil)
	decode(d, r.Server, "server", &c.Server, nil)
	decode(d, r.BootstrapExpect, "bootstrap_expect", &c.BootstrapExpect, atLeastZero[int])
	decode(d, r.LogLevel, "log_level", &c.LogLevel, checkLogLevel)
	decode(d, r.LogJSON, "log_json", &c.LogJSON, nil)
	decode(d, r.EnableScriptChecks, "enable_script_checks", &c.EnableScriptChecks, nil)
	decode(d, r.EnableDebug, "enable_debug", &c.EnableDebug, nil)
	decode(d, r.UI, "ui", &c.UI, nil)
	decode(d, r.LeaveOnTerminate, "leave_on_terminate", &c.LeaveOnTerminate, nil)
	var meta map[string]string
	if decode(d, r.NodeMeta, "node_meta", &meta, nil) {
		c.NodeMeta = mergeMaps(c.NodeMeta, meta)
	}
}

func (d *decoder) applyNetwork(c *Config, r *rawConfig) {
	decodeAs(d, r.BindAddr, "bind_addr", &c.BindAddr, resolveAddr)
	decodeAs(d, r.AdvertiseAddr, "advertise_addr", &c.Advertise, resolveAdvertise)
	decodeAs(d, r.ClientAddr, "client_addr", &c.ClientAddrs, resolveAddrs)
	var join []string
	if decode(d, r.RetryJoin, "retry_join", &join, each(checkJoinAddr)) {
		c.RetryJoin = slices.Concat(c.RetryJoin, join)
	}
	if p := r.Ports; p != nil {
		decode(d, p.HTTP, "ports.http", &c.Ports.HTTP, checkListenPort)
		decode(d, p.DNS, "ports.dns", &c.Ports.DNS, checkListenPort)
		decode(d, p.Server, "ports.server", &c.Ports.Server, checkPort)
	}
}

func (d *decoder) applyTuning(c *Config, r *rawConfig) {
	decode(d, r.RaftMultiplier, "raft_multiplier", &c.RaftMultiplier, between(1, 10))
	decodeDuration(d, r.CheckUpdateInterval, "check_update_interval", &c.CheckUpdateInterval)
	decodeAs(d, r.LeaseTTL, "lease_ttl", &c.LeaseTTL, parseLeaseTTL)
	decode(d, r.LeaseExpiryRate, "lease_expiry_rate", &c.LeaseExpiryRate, checkExpiryRate)
	decodeAs(d, r.ReconnectTimeout, "reconnect_timeout", &c.ReconnectTimeout, parseReconnectTimeout)
	if l := r.Limits; l != nil {
		decode(d, l.HTTPMaxConnsPerClient, "limits.http_max_conns_per_client", &c.Limits.HTTPMaxConnsPerClient, atLeastZero[int])
		decode(d, l.RequestRate, "limits.request_rate", &c.Limits.RequestRate, checkRate)
		decode(d, l.RequestBurst, "limits.request_burst", &c.Limits.RequestBurst, atLeastZero[int])
	}
	if t := r.Telemetry; t != nil {
		decode(d, t.DisableHostname, "telemetry.disable_hostname", &c.Telemetry.DisableHostname, nil)
		decodeDuration(d, t.PrometheusRetentionTime, "telemetry.prometheus_retention_time", &c.Telemetry.PrometheusRetentionTime)
	}
}

// addService decodes a service block, named field in errors, and appends
// it to c.Services when it is valid.
func (d *decoder) addService(c *Config, r *rawService, field string) {
	errs := len(d.errs)
	s := ServiceDefinition{Weights: DefaultWeights}
	decode(d, r.ID, field+".id", &s.ID, nil)
	decode(d, r.Name, field+".name", &s.Name, notEmpty)
	decode(d, r.Tags, field+".tags", &s.Tags, nil)
	decode(d, r.Address, field+".address", &s.Address, nil)
	decode(d, r.Port, field+".port", &s.Port, checkPort)
	decode(d, r.Meta, field+".meta", &s.Meta, nil)
	decode(d, r.EnableTagOverride, field+".enable_tag_override", &s.EnableTagOverride, nil)
	if w := r.Weights; w != nil {
		decode(d, w.Passing, field+".weights.passing", &s.Weights.Passing, between(1, 65535))
		decode(d, w.Warning, field+".weights.warning", &s.Weights.Warning, between(0, 65535))
	}
	s.Checks = append(d.checks(r.Check, field+".check", false), d.checks(r.Checks, field+".checks", false)...)
	if len(d.errs) > errs {
		return
	}
	if err := s.validate(); err != nil {
		d.fail(r.DefRange, field, err)
		return
	}
	c.Services = append(c.Services, s)
}

// checks decodes the valid ones of a list of check blocks of type field.
func (d *decoder) checks(rs []rawCheck, field string, topLevel bool) []CheckDefinition {
	var defs []CheckDefinition
	for i := range rs {
		if def, ok := d.check(&rs[i], fmt.Sprintf("%s[%d]", field, i), topLevel); ok {
			defs = append(defs, def)
		}
	}
	return defs
}

// check decodes a check block, named field in errors; topLevel says
// whether it stands alone or belongs to a service.
func (d *decoder) check(r *rawCheck, field string, topLevel bool) (CheckDefinition, bool) {
	errs := len(d.errs)
	var c CheckDefinition
	decode(d, r.ID, field+".id", &c.ID, nil)
	decode(d, r.Name, field+".name", &c.Name, nil)
	decode(d, r.Notes, field+".notes", &c.Notes, nil)
	decode(d, r.ServiceID, field+".service_id", &c.ServiceID, nil)
	decodeDuration(d, r.TTL, field+".ttl", &c.TTL)
	decode(d, r.HTTP, field+".http", &c.HTTP, nil)
	decode(d, r.Method, field+".method", &c.Method, nil)
	decode(d, r.Header, field+".header", &c.Header, nil)
	decode(d, r.Body, field+".body", &c.Body, nil)
	decode(d, r.TLSSkipVerify, field+".tls_skip_verify", &c.TLSSkipVerify, nil)
	decode(d, r.TCP, field+".tcp", &c.TCP, nil)
	decode(d, r.UDP, field+".udp", &c.UDP, nil)
	decode(d, r.GRPC, field+".grpc", &c.GRPC, nil)
	decode(d, r.GRPCUseTLS, field+".grpc_use_tls", &c.GRPCUseTLS, nil)
	decode(d, r.H2PING, field+".h2ping", &c.H2PING, nil)
	var h2pingTLS bool
	decode(d, r.H2PingUseTLS, field+".h2ping_use_tls", &h2pingTLS, checkH2PingUseTLS)
	decode(d, r.Args, field+".args", &c.Args, nil)
	decode(d, r.AliasNode, field+".alias_node", &c.AliasNode, nil)
	decode(d, r.AliasService, field+".alias_service", &c.AliasService, nil)
	decodeDuration(d, r.Interval, field+".interval", &c.Interval)
	decodeDuration(d, r.Timeout, field+".timeout", &c.Timeout)
	decodeDuration(d, r.DeregisterCriticalServiceAfter, field+".deregister_critical_service_after", &c.DeregisterCriticalServiceAfter)
	decode(d, r.SuccessBeforePassing, field+".success_before_passing", &c.SuccessBeforePassing, atLeastZero[int])
	decode(d, r.FailuresBeforeWarning, field+".failures_before_warning", &c.FailuresBeforeWarning, atLeastZero[int])
	decode(d, r.FailuresBeforeCritical, field+".failures_before_critical", &c.FailuresBeforeCritical, atLeastZero[int])
	decode(d, r.Status, field+".status", &c.Status, checkStatus)
	if len(d.errs) > errs {
		return c, false
	}
	if err := c.validateKind(topLevel); err != nil {
		d.fail(r.DefRange, field, err)
		return c, false
	}
	return c, true
}

// checkH2PingUseTLS accepts h2ping_use_tls = true, the default: an h2ping
// check always uses TLS, as the catalog has no field to record otherwise.
func checkH2PingUseTLS(v bool) error {
	if !v {
		return errors.New("false (cleartext HTTP/2) is not supported yet: h2ping checks use TLS")
	}
	return nil
}
