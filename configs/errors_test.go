package configs

import (
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fileErrorCase is one bad file and where and how Load must report it.
type fileErrorCase struct {
	name  string
	file  string // name; its extension picks the syntax
	src   string
	line  int
	field string // "" for HCL's own diagnostics
	msg   string // substring of the message
}

var fileErrorCases = []fileErrorCase{
	{"unknown key", "c.hcl", "node_name = \"n\"\nprots = 3\n", 2, "", `"prots" is not expected here`},
	{"unknown block", "c.hcl", "\nprots {\n http = 1\n}\n", 2, "", `Did you mean "ports"?`},
	{"unknown nested key", "c.hcl", "ports {\n htp = 1\n}\n", 2, "", `"htp" is not expected here`},
	{"unknown key JSON", "c.json", "{\n\"node_name\": \"n\",\n\"prots\": 3}", 3, "", `No argument or block type is named "prots"`},
	{"unknown service key", "c.json", "{\"service\": {\n\"nmae\": \"web\"}}", 2, "", `"nmae"`},
	{"HCL list of checks", "c.hcl", "service {\n name = \"a\"\n checks = [{ ttl = \"1s\" }]\n}", 3, "", `block of type "checks"`},
	{"HCL syntax", "c.hcl", "node_name = \n", 1, "", "invalid expression"},
	{"JSON syntax", "c.json", "{\n\"node_name\": }", 2, "", "missing JSON value"},
	{"JSON not an object", "c.json", "[1]", 1, "", "JSON object is required"},
	{"duplicate block", "c.hcl", "ports {}\nports {}\n", 2, "", "duplicate ports block"},
	{"variables", "c.hcl", "bind_addr = \"${x}\"", 1, "bind_addr", "variables not allowed"},
	{"port range", "server.hcl", "server = true\n\nports {\n  http = 70000\n}\n", 4, "ports.http", "must be -1..65535, got 70000"},
	{"server port -1", "c.hcl", "ports {\n server = -1\n}", 2, "ports.server", "must be 0..65535, got -1"},
	{"wrong type", "c.hcl", "ports {\n dns = \"x\"\n}", 2, "ports.dns", "a number is required"},
	{"fraction", "c.json", "{\"ports\": {\n\"dns\": 1.5}}", 2, "ports.dns", "whole number"},
	{"null", "c.hcl", "node_name = null", 1, "node_name", "null value is not allowed"},
	{"empty node name", "c.hcl", "node_name = \"\"", 1, "node_name", "must not be empty"},
	{"empty datacenter", "c.hcl", "datacenter = \"\"", 1, "datacenter", "must not be empty"},
	{"negative bootstrap", "c.hcl", "bootstrap_expect = -1", 1, "bootstrap_expect", "must not be negative"},
	{"bool", "c.hcl", "ui = \"yes\"", 1, "ui", "a bool is required"},
	{"bad duration", "c.hcl", "\ncheck_update_interval = \"5\"", 2, "check_update_interval", `"5" is not a duration`},
	{"negative duration", "c.hcl", "telemetry {\n prometheus_retention_time = \"-1s\"\n}", 2, "telemetry.prometheus_retention_time", "must not be negative"},
	{"short lease", "c.hcl", "lease_ttl = \"100ms\"", 1, "lease_ttl", "must be at least 300ms, got 100ms"},
	{"expiry rate", "c.hcl", "lease_expiry_rate = 0", 1, "lease_expiry_rate", "at least 1, got 0"},
	{"reconnect timeout too short", "c.hcl", "reconnect_timeout = \"1h\"", 1, "reconnect_timeout", "at least 8h0m0s, got 1h0m0s"},
	{"raft multiplier", "c.hcl", "raft_multiplier = 11", 1, "raft_multiplier", "must be 1..10, got 11"},
	{"log level", "c.hcl", "log_level = \"loud\"", 1, "log_level", `unknown log level "loud"`},
	{"retry_join not a list", "c.hcl", "retry_join = \"a:1\"", 1, "retry_join", "list of string required"},
	{"retry_join without port", "c.hcl", "retry_join = [\"a:1\", \"b\"]", 1, "retry_join", `"b" must be HOST:PORT`},
	{"bind not an IP", "c.json", "{\"bind_addr\": \"localhost\"}", 1, "bind_addr", `"localhost" is not an IP address`},
	{"two bind addresses", "c.hcl", "bind_addr = \"10.0.0.1 10.0.0.2\"", 1, "bind_addr", "want exactly one"},
	{"empty client_addr", "c.hcl", "client_addr = \"\"", 1, "client_addr", "no address given"},
	{"node_meta type", "c.hcl", "node_meta = { a = [1] }", 1, "node_meta", "string required"},
	{"negative conns", "c.hcl", "limits {\n http_max_conns_per_client = -1\n}", 2, "limits.http_max_conns_per_client", "must not be negative"},
	{"negative rate", "c.hcl", "limits {\n request_rate = -0.5\n}", 2, "limits.request_rate", "non-negative number"},
	{"negative burst", "c.hcl", "limits {\n request_burst = -1\n}", 2, "limits.request_burst", "must not be negative"},
	{"service without name", "c.hcl", "\nservice {\n port = 80\n}", 2, "service[0]", "name: must not be empty"},
	{"second service without name", "c.json", "{\"services\": [\n{\"name\": \"a\"},\n{\"port\": 3}]}", 1, "services[1]", "name: must not be empty"},
	{"service port", "c.hcl", "service {\n name = \"a\"\n port = 70000\n}", 3, "service[0].port", "must be 0..65535"},
	{"service tags", "c.hcl", "service {\n name = \"a\"\n tags = \"x\"\n}", 3, "service[0].tags", "list of string required"},
	{"weights", "c.hcl", "service {\n name = \"a\"\n weights {\n  passing = 0\n }\n}", 4, "service[0].weights.passing", "must be 1..65535"},
	{"check without kind", "c.hcl", "service {\n name = \"a\"\n check {\n  name = \"c\"\n }\n}", 3, "service[0].check[0]", "one of ttl, http, tcp, udp, grpc or args is required"},
	{"check with two kinds", "c.hcl", "service {\n name = \"a\"\n check {\n  ttl = \"1s\"\n  tcp = \"h:1\"\n }\n}", 3, "service[0].check[0]", "ttl and tcp are exclusive"},
	{"check without interval", "c.json", "{\"service\": {\"name\": \"a\",\n \"checks\": [{\"http\": \"x\"}]}}", 2, "service[0].checks[0]", "interval: required for a http check"},
	{"check status", "c.hcl", "check {\n name = \"c\"\n ttl = \"1s\"\n status = \"ok\"\n}", 4, "check[0].status", `"ok" is not passing, warning or critical`},
	{"check counter", "c.hcl", "check {\n name = \"c\"\n ttl = \"1s\"\n failures_before_critical = -2\n}", 4, "check[0].failures_before_critical", "must not be negative"},
	{"check header type", "c.hcl", "check {\n name = \"c\"\n http = \"x\"\n header = { A = \"b\" }\n}", 4, "check[0].header", "list of string required"},
	{"check duration", "c.hcl", "check {\n name = \"c\"\n ttl = \"soon\"\n}", 3, "check[0].ttl", `"soon" is not a duration`},
	{"top-level check without name", "c.json", "{\"checks\": [{\"ttl\": \"1s\"}]}", 1, "checks[0]", "a top-level check needs a name"},
	{"service check with service_id", "c.hcl", "service {\n name = \"a\"\n check {\n  service_id = \"b\"\n  ttl = \"1s\"\n }\n}", 3, "service[0].check[0]", "service_id: only for top-level checks"},
}

func TestFileErrorsNameFileLineAndField(t *testing.T) {
	for _, tt := range fileErrorCases {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{tt.file: tt.src})
			path := filepath.Join(dir, tt.file)
			_, err := Load([]string{"-dev", "-config-file", path}, io.Discard)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v (%T), want a *FieldError wrapping ErrInvalid", err, err)
			}
			if fe.File != path || fe.Line != tt.line || fe.Field != tt.field {
				t.Errorf("located at %s:%d field %q, want %s:%d field %q", fe.File, fe.Line, fe.Field, path, tt.line, tt.field)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.msg)
			}
			prefix := path + ":" + strconv.Itoa(tt.line) + ": "
			if tt.field != "" {
				prefix += tt.field + ": "
			}
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("err = %q, want it to start with %q", err, prefix)
			}
		})
	}
}

func TestFileErrorsAreAllReported(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.hcl":  "ports {\n http = 70000\n}\nlog_level = \"loud\"\n",
		"b.json": "{\"raft_multiplier\": 0}",
	})
	_, err := Load([]string{"-dev", "-config-dir", dir}, io.Discard)
	if err == nil {
		t.Fatal("Load succeeded, want errors")
	}
	for _, want := range []string{"a.hcl:2: ports.http:", "a.hcl:4: log_level:", "b.json:1: raft_multiplier:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to contain %q", err, want)
		}
	}
}

func TestSourceErrorsNameTheFlag(t *testing.T) {
	dir := writeFiles(t, map[string]string{"c.yaml": "node_name: x", "ok.hcl": ""})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"-config-file", dir + "/nope.hcl"}, "config-file: stat " + dir + "/nope.hcl"},
		{"unknown extension", []string{"-config-file", dir + "/c.yaml"}, "config-file: " + dir + "/c.yaml: unknown format"},
		{"directory as file", []string{"-config-file", dir}, "config-file: " + dir + ": unknown format"},
		{"missing dir", []string{"-config-dir", dir + "/nope"}, "config-dir: open " + dir + "/nope"},
		{"file as dir", []string{"-config-dir", dir + "/ok.hcl"}, "config-dir:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(append([]string{"-dev"}, tt.args...), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"no data dir", func(c *Config) { c.DataDir = "" }, "data-dir: required unless -dev"},
		{"bootstrap without server", func(c *Config) { c.BootstrapExpect = 3 }, "bootstrap-expect: only servers bootstrap"},
		{"empty datacenter", func(c *Config) { c.Datacenter = "" }, "datacenter: must not be empty"},
		{"no client address", func(c *Config) { c.ClientAddrs = nil }, "client: at least one address"},
		{"bad client address", func(c *Config) { c.ClientAddrs = []string{"x"} }, `client: "x" is not an IP address`},
		{"bad advertise", func(c *Config) { c.Advertise = "x" }, `advertise: "x" is not an IP address`},
		{"http port", func(c *Config) { c.Ports.HTTP = -2 }, "http-port: must be -1..65535, got -2"},
		{"server port", func(c *Config) { c.Ports.Server = -1 }, "server-port: must be 0..65535, got -1"},
		{"rate", func(c *Config) { c.Limits.RequestRate = -1 }, "limits.request_rate:"},
		{"check interval", func(c *Config) { c.CheckUpdateInterval = -1 }, "check_update_interval: must not be negative"},
		{"lease ttl", func(c *Config) { c.LeaseTTL = 0 }, "lease_ttl: must be at least 300ms, got 0s"},
		{"expiry rate", func(c *Config) { c.LeaseExpiryRate = 0.5 }, "lease_expiry_rate: must be a number of expiries per second, at least 1, got 0.5"},
		{"reconnect timeout", func(c *Config) { c.ReconnectTimeout = 3600e9 }, "reconnect_timeout: must be at least 8h0m0s, got 1h0m0s"},
		{"service", func(c *Config) { c.Services = []ServiceDefinition{{Name: "a", Weights: Weights{}}} }, "services[0]: weights: passing: must be 1..65535, got 0"},
		{"service check", func(c *Config) {
			c.Services = []ServiceDefinition{{Name: "a", Weights: DefaultWeights, Checks: []CheckDefinition{{HTTP: "x"}}}}
		}, "services[0]: checks[0]: interval: required for a http check"},
		{"node check", func(c *Config) { c.Checks = []CheckDefinition{{Name: "c", TTL: -1}} }, "checks[0]: ttl: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.DataDir = "/d"
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate(base) = %v", err)
			}
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want an ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}
