package configs

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeFiles writes each name → content under a new directory (creating
// subdirectories) and returns the directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// expandArgs replaces $DIR in each argument with dir.
func expandArgs(args []string, dir string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	return out
}

// loadCase is one named Load test: files written to $DIR, the arguments,
// and a check of the result.
type loadCase struct {
	name  string
	files map[string]string
	args  []string // $DIR is the files' directory
	check func(t *testing.T, c Config)
}

func runLoadCases(t *testing.T, tests []loadCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			c, err := Load(expandArgs(tt.args, dir), io.Discard)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

const fullHCL = `
node_name  = "n1"
datacenter = "east"
data_dir   = "/var/lib/beacon"
server     = true
bootstrap_expect = 3
retry_join = ["10.0.0.1:8300", "10.0.0.2:8300"]
bind_addr      = "10.0.0.9"
advertise_addr = "192.0.2.9"
client_addr    = "127.0.0.1 10.0.0.9"
log_level  = "debug"
log_json   = true
enable_script_checks = true
enable_debug = true
ui = true
node_meta = { rack = "r1", zone = "a" }
leave_on_terminate = false
raft_multiplier = 5
check_update_interval = "2m"
ports {
  http   = 18500
  dns    = -1
  server = 18300
}
limits {
  http_max_conns_per_client = 50
  request_rate  = 2.5
  request_burst = 10
}
telemetry {
  disable_hostname = true
  prometheus_retention_time = "90s"
}
service {
  id   = "web-1"
  name = "web"
  tags = ["a", "b"]
  address = "10.0.0.9"
  port = 8080
  meta = { v = "1" }
  enable_tag_override = true
  weights {
    passing = 5
    warning = 2
  }
  check {
    http     = "http://127.0.0.1:8080/"
    method   = "POST"
    header   = { X-A = ["1", "2"] }
    body     = "{}"
    tls_skip_verify = true
    interval = "10s"
    timeout  = "1s"
    deregister_critical_service_after = "1h"
    success_before_passing   = 2
    failures_before_warning  = 1
    failures_before_critical = 3
    status = "passing"
  }
  check {
    ttl = "30s"
  }
}
service {
  name = "db"
}
check {
  id = "disk"
  name = "disk"
  notes = "df"
  args = ["/bin/check-disk", "-w", "90"]
  interval = "1m"
}
check {
  name = "grpc"
  service_id = "web-1"
  grpc = "127.0.0.1:9090"
  grpc_use_tls = true
  interval = "5s"
}
check {
  name = "tcp"
  tcp = "127.0.0.1:22"
  interval = "5s"
}
check {
  name = "udp"
  udp = "127.0.0.1:53"
  interval = "5s"
}
`

// fullJSON is fullHCL in JSON, using the plural "services" and "checks".
const fullJSON = `{
  "node_name": "n1", "datacenter": "east", "data_dir": "/var/lib/beacon",
  "server": true, "bootstrap_expect": 3,
  "retry_join": ["10.0.0.1:8300", "10.0.0.2:8300"],
  "bind_addr": "10.0.0.9", "advertise_addr": "192.0.2.9", "client_addr": "127.0.0.1 10.0.0.9",
  "log_level": "debug", "log_json": true, "enable_script_checks": true,
  "enable_debug": true, "ui": true, "node_meta": {"rack": "r1", "zone": "a"},
  "leave_on_terminate": false, "raft_multiplier": 5, "check_update_interval": "2m",
  "ports": {"http": 18500, "dns": -1, "server": 18300},
  "limits": {"http_max_conns_per_client": 50, "request_rate": 2.5, "request_burst": 10},
  "telemetry": {"disable_hostname": true, "prometheus_retention_time": "90s"},
  "services": [
    {
      "id": "web-1", "name": "web", "tags": ["a", "b"], "address": "10.0.0.9", "port": 8080,
      "meta": {"v": "1"}, "enable_tag_override": true, "weights": {"passing": 5, "warning": 2},
      "checks": [
        {
          "http": "http://127.0.0.1:8080/", "method": "POST", "header": {"X-A": ["1", "2"]},
          "body": "{}", "tls_skip_verify": true, "interval": "10s", "timeout": "1s",
          "deregister_critical_service_after": "1h", "success_before_passing": 2,
          "failures_before_warning": 1, "failures_before_critical": 3, "status": "passing"
        },
        {"ttl": "30s"}
      ]
    },
    {"name": "db"}
  ],
  "checks": [
    {"id": "disk", "name": "disk", "notes": "df", "args": ["/bin/check-disk", "-w", "90"], "interval": "1m"},
    {"name": "grpc", "service_id": "web-1", "grpc": "127.0.0.1:9090", "grpc_use_tls": true, "interval": "5s"},
    {"name": "tcp", "tcp": "127.0.0.1:22", "interval": "5s"},
    {"name": "udp", "udp": "127.0.0.1:53", "interval": "5s"}
  ]
}`

func checkFull(t *testing.T, c Config) {
	t.Helper()
	if c.NodeName != "n1" || c.Datacenter != "east" || c.DataDir != "/var/lib/beacon" || !c.Server ||
		c.BootstrapExpect != 3 || c.LogLevel != "debug" || !c.LogJSON || !c.EnableScriptChecks ||
		!c.EnableDebug || !c.UI || c.LeaveOnTerminate || c.RaftMultiplier != 5 ||
		c.CheckUpdateInterval != 2*time.Minute {
		t.Errorf("agent fields = %+v", c)
	}
	if c.BindAddr != "10.0.0.9" || c.Advertise != "192.0.2.9" || !slices.Equal(c.ClientAddrs, []string{"127.0.0.1", "10.0.0.9"}) ||
		!slices.Equal(c.RetryJoin, []string{"10.0.0.1:8300", "10.0.0.2:8300"}) {
		t.Errorf("addresses: bind %q advertise %q client %q join %q", c.BindAddr, c.Advertise, c.ClientAddrs, c.RetryJoin)
	}
	if c.Ports != (Ports{HTTP: 18500, DNS: -1, Server: 18300}) || c.DNSAddrs() != nil || c.ServerAddr() != "10.0.0.9:18300" {
		t.Errorf("ports = %+v", c.Ports)
	}
	if c.Limits != (Limits{HTTPMaxConnsPerClient: 50, RequestRate: 2.5, RequestBurst: 10}) ||
		c.Telemetry != (Telemetry{DisableHostname: true, PrometheusRetentionTime: 90 * time.Second}) {
		t.Errorf("limits %+v telemetry %+v", c.Limits, c.Telemetry)
	}
	if !maps.Equal(c.NodeMeta, map[string]string{"rack": "r1", "zone": "a"}) {
		t.Errorf("node meta = %v", c.NodeMeta)
	}
	want := []ServiceDefinition{
		{
			ID: "web-1", Name: "web", Tags: []string{"a", "b"}, Address: "10.0.0.9", Port: 8080,
			Meta: map[string]string{"v": "1"}, EnableTagOverride: true, Weights: Weights{Passing: 5, Warning: 2},
			Checks: []CheckDefinition{
				{
					HTTP: "http://127.0.0.1:8080/", Method: "POST", Header: map[string][]string{"X-A": {"1", "2"}},
					Body: "{}", TLSSkipVerify: true, Interval: 10 * time.Second, Timeout: time.Second,
					DeregisterCriticalServiceAfter: time.Hour, SuccessBeforePassing: 2,
					FailuresBeforeWarning: 1, FailuresBeforeCritical: 3, Status: "passing",
				},
				{TTL: 30 * time.Second},
			},
		},
		{Name: "db", Weights: DefaultWeights},
	}
	if !reflect.DeepEqual(c.Services, want) {
		t.Errorf("services =\n%+v\nwant\n%+v", c.Services, want)
	}
	wantChecks := []CheckDefinition{
		{ID: "disk", Name: "disk", Notes: "df", Args: []string{"/bin/check-disk", "-w", "90"}, Interval: time.Minute},
		{Name: "grpc", ServiceID: "web-1", GRPC: "127.0.0.1:9090", GRPCUseTLS: true, Interval: 5 * time.Second},
		{Name: "tcp", TCP: "127.0.0.1:22", Interval: 5 * time.Second},
		{Name: "udp", UDP: "127.0.0.1:53", Interval: 5 * time.Second},
	}
	if !reflect.DeepEqual(c.Checks, wantChecks) {
		t.Errorf("checks =\n%+v\nwant\n%+v", c.Checks, wantChecks)
	}
	var kinds []string
	for _, chk := range slices.Concat(c.Services[0].Checks, c.Checks) {
		kinds = append(kinds, chk.Kind())
	}
	if want := []string{"http", "ttl", "script", "grpc", "tcp", "udp"}; !slices.Equal(kinds, want) {
		t.Errorf("kinds = %q, want %q", kinds, want)
	}
}

func TestLoadFiles(t *testing.T) {
	runLoadCases(t, []loadCase{
		{
			name:  "every key in HCL",
			files: map[string]string{"full.hcl": fullHCL},
			args:  []string{"-config-file", "$DIR/full.hcl"},
			check: checkFull,
		},
		{
			name:  "every key in JSON",
			files: map[string]string{"full.json": fullJSON},
			args:  []string{"-config-file", "$DIR/full.json"},
			check: checkFull,
		},
		{
			name:  "upper-case extension",
			files: map[string]string{"full.JSON": fullJSON},
			args:  []string{"-config-file", "$DIR/full.JSON"},
			check: checkFull,
		},
		{
			name: "JSON singular service and check objects",
			files: map[string]string{"s.json": `{"data_dir": "/d",
				"service": {"name": "web", "check": {"ttl": "5s"}},
				"check": {"name": "n", "ttl": "1m"}}`},
			args: []string{"-config-file", "$DIR/s.json"},
			check: func(t *testing.T, c Config) {
				if len(c.Services) != 1 || len(c.Services[0].Checks) != 1 || c.Services[0].Checks[0].TTL != 5*time.Second ||
					len(c.Checks) != 1 || c.Checks[0].TTL != time.Minute {
					t.Errorf("services %+v checks %+v", c.Services, c.Checks)
				}
			},
		},
		{
			name:  "empty files change nothing",
			files: map[string]string{"a.hcl": "", "b.json": "{}"},
			args:  []string{"-data-dir", "/d", "-config-dir", "$DIR"},
			check: func(t *testing.T, c Config) {
				want := Default()
				want.DataDir = "/d"
				want.ConfigDirs = c.ConfigDirs
				want.files = c.files
				if !reflect.DeepEqual(c, want) {
					t.Errorf("config =\n%+v\nwant\n%+v", c, want)
				}
			},
		},
	})
}

func TestLoadMergesFiles(t *testing.T) {
	runLoadCases(t, []loadCase{
		{
			name: "config-dir reads .hcl and .json in lexical order, nothing else",
			files: map[string]string{
				"d/10-base.hcl":    `data_dir = "/d"` + "\nnode_name = \"base\"\nretry_join = [\"a:1\"]\nnode_meta = { a = \"1\", b = \"1\" }\nservice {\n name = \"one\"\n}",
				"d/20-more.json":   `{"node_name": "more", "retry_join": ["b:1"], "node_meta": {"b": "2"}, "service": {"name": "two"}}`,
				"d/30-last.HCL":    `datacenter = "last"`,
				"d/README.md":      `not = config`,
				"d/backup.hcl.bak": `node_name = "bak"`,
				"d/sub.hcl/x.hcl":  `node_name = "subdir"`,
			},
			args: []string{"-config-dir", "$DIR/d"},
			check: func(t *testing.T, c Config) {
				if c.NodeName != "more" || c.Datacenter != "last" {
					t.Errorf("node %q datacenter %q, want the later file's", c.NodeName, c.Datacenter)
				}
				if !slices.Equal(c.RetryJoin, []string{"a:1", "b:1"}) {
					t.Errorf("retry_join = %q, want both files' in order", c.RetryJoin)
				}
				if !maps.Equal(c.NodeMeta, map[string]string{"a": "1", "b": "2"}) {
					t.Errorf("node_meta = %v, want merged by key", c.NodeMeta)
				}
				if len(c.Services) != 2 || c.Services[0].Name != "one" || c.Services[1].Name != "two" {
					t.Errorf("services = %+v, want one then two", c.Services)
				}
				if got := c.Files(); len(got) != 3 || filepath.Base(got[2]) != "30-last.HCL" {
					t.Errorf("Files() = %q", got)
				}
			},
		},
		{
			name: "files apply in flag order, files and dirs interleaved",
			files: map[string]string{
				"a.hcl":   `node_name = "a"`,
				"d/b.hcl": `node_name = "b"`,
				"c.json":  `{"data_dir": "/c"}`,
			},
			args: []string{"-config-file", "$DIR/c.json", "-config-dir", "$DIR/d", "-config-file", "$DIR/a.hcl"},
			check: func(t *testing.T, c Config) {
				if c.NodeName != "a" || c.DataDir != "/c" {
					t.Errorf("node %q data dir %q", c.NodeName, c.DataDir)
				}
				if len(c.ConfigFiles) != 2 || len(c.ConfigDirs) != 1 || len(c.Files()) != 3 {
					t.Errorf("ConfigFiles %q ConfigDirs %q Files %q", c.ConfigFiles, c.ConfigDirs, c.Files())
				}
			},
		},
	})
}

func TestLoadPrecedence(t *testing.T) {
	file := map[string]string{"f.hcl": `
data_dir = "/file"
server = true
log_level = "warn"
retry_join = ["file:1"]
ports {
  http = 1111
}
`}
	runLoadCases(t, []loadCase{
		{
			name:  "default",
			args:  []string{"-data-dir", "/flag"},
			check: wantPortsLevel(8500, 8600, "info", "/flag"),
		},
		{
			name:  "file over default, field by field",
			files: file,
			args:  []string{"-config-file", "$DIR/f.hcl"},
			check: wantPortsLevel(1111, 8600, "warn", "/file"),
		},
		{
			name:  "flag over file",
			files: file,
			args:  []string{"-config-file", "$DIR/f.hcl", "-http-port", "2222", "-log-level", "error"},
			check: wantPortsLevel(2222, 8600, "error", "/file"),
		},
		{
			name:  "flag over file whatever the argument order",
			files: file,
			args:  []string{"-data-dir", "/flag", "-config-file", "$DIR/f.hcl"},
			check: wantPortsLevel(1111, 8600, "warn", "/flag"),
		},
		{
			name:  "false flag over true file",
			files: file,
			args:  []string{"-config-file", "$DIR/f.hcl", "-server=false"},
			check: func(t *testing.T, c Config) {
				if c.Server {
					t.Error("Server = true, want the flag's false")
				}
			},
		},
		{
			name:  "retry-join flags append to the file's",
			files: file,
			args:  []string{"-retry-join", "flag:1", "-config-file", "$DIR/f.hcl"},
			check: func(t *testing.T, c Config) {
				if !slices.Equal(c.RetryJoin, []string{"file:1", "flag:1"}) {
					t.Errorf("RetryJoin = %q", c.RetryJoin)
				}
			},
		},
	})
}

func wantPortsLevel(http, dns int, level, dataDir string) func(t *testing.T, c Config) {
	return func(t *testing.T, c Config) {
		t.Helper()
		if c.Ports.HTTP != http || c.Ports.DNS != dns || c.LogLevel != level || c.DataDir != dataDir {
			t.Errorf("http %d dns %d level %q data dir %q, want %d %d %q %q",
				c.Ports.HTTP, c.Ports.DNS, c.LogLevel, c.DataDir, http, dns, level, dataDir)
		}
	}
}

func TestLoadDev(t *testing.T) {
	runLoadCases(t, []loadCase{
		{
			name: "dev alone",
			args: []string{"-dev"},
			check: func(t *testing.T, c Config) {
				if !c.Dev || !c.Server || c.BootstrapExpect != 1 || c.DataDir != "" || c.BindAddr != "127.0.0.1" ||
					!slices.Equal(c.ClientAddrs, []string{"127.0.0.1"}) || c.NodeName == "" {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name: "file overrides dev's soft defaults",
			files: map[string]string{"f.hcl": `node_name = "file"
bind_addr = "10.1.2.3"
client_addr = "0.0.0.0"
ports {
  http = 1
  dns = 2
  server = 3
}`},
			args: []string{"-dev", "-config-file", "$DIR/f.hcl"},
			check: func(t *testing.T, c Config) {
				if c.NodeName != "file" || c.BindAddr != "10.1.2.3" || !slices.Equal(c.ClientAddrs, []string{"0.0.0.0"}) ||
					c.Ports != (Ports{HTTP: 1, DNS: 2, Server: 3}) {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name:  "flags override file and dev",
			files: map[string]string{"f.hcl": "node_name = \"file\"\nports {\n http = 1\n}"},
			args:  []string{"-config-file", "$DIR/f.hcl", "-dev", "-node", "flag", "-http-port", "18500", "-dns-port", "18600", "-bind", "127.0.0.2"},
			check: func(t *testing.T, c Config) {
				if c.NodeName != "flag" || c.Ports.HTTP != 18500 || c.Ports.DNS != 18600 || c.BindAddr != "127.0.0.2" {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name:  "dev still means one in-memory server",
			files: map[string]string{"f.hcl": "data_dir = \"/d\"\nserver = false\nbootstrap_expect = 3"},
			args:  []string{"-dev", "-config-file", "$DIR/f.hcl", "-bootstrap-expect", "5", "-data-dir", "/x"},
			check: func(t *testing.T, c Config) {
				if !c.Server || c.BootstrapExpect != 1 || c.DataDir != "" {
					t.Errorf("server %v bootstrap %d data dir %q", c.Server, c.BootstrapExpect, c.DataDir)
				}
			},
		},
	})
}

func TestLoadAgainRereadsFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.hcl": `log_level = "info"`})
	args := []string{"-dev", "-config-dir", dir}
	c, err := Load(args, io.Discard)
	if err != nil || c.LogLevel != "info" {
		t.Fatalf("Load = %q, %v", c.LogLevel, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.hcl"), []byte(`log_level = "debug"`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = Load(args, io.Discard)
	if err != nil || c.LogLevel != "debug" || len(c.Files()) != 2 {
		t.Fatalf("reload = %q %q, %v; want debug from the new file", c.LogLevel, c.Files(), err)
	}
}
