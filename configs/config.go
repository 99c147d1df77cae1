package configs

import (
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of an agent, one sub-struct per
// component. Defaults live only in Default; Load fills the rest from files
// and flags.
type Config struct {
	NodeName   string
	Datacenter string
	DataDir    string // empty only in dev mode (everything in memory)
	Dev        bool
	Server     bool
	LogLevel   string
	LogJSON    bool
	NodeMeta   map[string]string

	BindAddr    string   // address the server port binds to
	Advertise   string   // address other servers dial; empty: BindAddr
	ClientAddrs []string // addresses the HTTP and DNS listeners bind to
	Ports       Ports

	BootstrapExpect int
	RetryJoin       []string

	// RaftMultiplier scales Raft's timing like Consul's raft_multiplier:
	// 1 for production-grade hardware, up to 10 for slow machines.
	RaftMultiplier int

	// LeaveOnTerminate makes SIGTERM leave the cluster gracefully. Consul
	// defaults servers to false; beacon always leaves unless told not to.
	LeaveOnTerminate bool

	EnableScriptChecks bool // allow checks with args (run a program)
	EnableDebug        bool // serve /debug/pprof on the HTTP port
	UI                 bool // serve the dashboard

	// CheckUpdateInterval is how long an unchanged check output may go
	// unsynced to the servers (Consul's check_update_interval).
	CheckUpdateInterval time.Duration

	// LeaseTTL is how long a node stays alive without renewing its
	// liveness lease with the leader (beacon's node failure detector, in
	// place of Consul's gossip); agents renew every third of it. The
	// servers' setting is the one that counts: agents learn it.
	LeaseTTL time.Duration
	// LeaseExpiryRate bounds the node and session expiries the leader
	// writes per second, so a mass expiry cannot flood the Raft log.
	LeaseExpiryRate float64
	// ReconnectTimeout is how long a failed node (its lease expired and
	// not renewed) stays in the catalog before the leader deregisters it
	// (Consul's reconnect_timeout; at least 8h).
	ReconnectTimeout time.Duration

	Limits    Limits
	Telemetry Telemetry

	Services []ServiceDefinition // registered when the agent starts
	Checks   []CheckDefinition   // node-level checks (or ServiceID set)

	// ConfigFiles and ConfigDirs are the -config-file and -config-dir
	// flags as given. To reload (SIGHUP), call Load again with the same
	// arguments.
	ConfigFiles []string
	ConfigDirs  []string

	files []string // every file read, in order; see Files
}

// Ports are the listener ports. -1 disables the HTTP or DNS listener.
type Ports struct {
	Server int // Raft and server RPC (Consul's 8300)
	HTTP   int
	DNS    int
}

// Limits bound what one client can ask of the HTTP API.
type Limits struct {
	HTTPMaxConnsPerClient int     // concurrent connections per client IP; 0: unlimited
	RequestRate           float64 // requests per second per client IP; 0: unlimited
	RequestBurst          int     // 0: see Burst
}

// Burst is the request burst to allow: RequestBurst, or when that is 0 the
// rate rounded up (at least 1).
func (l Limits) Burst() int {
	if l.RequestBurst > 0 {
		return l.RequestBurst
	}
	return max(1, int(math.Ceil(min(l.RequestRate, math.MaxInt32))))
}

// Telemetry configures metrics.
type Telemetry struct {
	DisableHostname bool // do not prefix gauges with the host name
	// PrometheusRetentionTime is how long a metric not updated stays on
	// /v1/agent/metrics?format=prometheus.
	PrometheusRetentionTime time.Duration
}

// Default returns the configuration of an agent started with no flags.
func Default() Config {
	host, _ := os.Hostname()
	return Config{
		NodeName:            host,
		Datacenter:          "dc1",
		LogLevel:            "info",
		BindAddr:            "0.0.0.0",
		ClientAddrs:         []string{"127.0.0.1"},
		Ports:               Ports{Server: 8300, HTTP: 8500, DNS: 8600},
		RaftMultiplier:      1,
		LeaveOnTerminate:    true,
		CheckUpdateInterval: 5 * time.Minute,
		LeaseTTL:            10 * time.Second,
		LeaseExpiryRate:     1000,
		ReconnectTimeout:    72 * time.Hour,
		Limits:              Limits{HTTPMaxConnsPerClient: 200},
		Telemetry:           Telemetry{PrometheusRetentionTime: 60 * time.Second},
	}
}

// devDefaults applies what -dev changes before files and flags are read,
// so either may still override it.
func devDefaults(c *Config) {
	c.BindAddr = "127.0.0.1"
	c.ClientAddrs = []string{"127.0.0.1"}
	if c.NodeName == "" {
		c.NodeName = "dev"
	}
}

// devForce applies what -dev always means, whatever files and flags say:
// one in-memory server, bootstrapped alone.
func devForce(c *Config) {
	c.Dev = true
	c.Server = true
	c.BootstrapExpect = 1
	c.DataDir = ""
}

// Files returns every configuration file Load read, in the order read.
func (c Config) Files() []string { return c.files }

// ServerAddr is the host:port the server port binds to.
func (c Config) ServerAddr() string {
	return net.JoinHostPort(c.BindAddr, strconv.Itoa(c.Ports.Server))
}

// HTTPAddrs are the host:port pairs the HTTP API listens on, one per
// client address; none when the HTTP port is -1.
func (c Config) HTTPAddrs() []string { return c.listenAddrs(c.Ports.HTTP) }

// DNSAddrs are the host:port pairs the DNS server listens on, one per
// client address; none when the DNS port is -1.
func (c Config) DNSAddrs() []string { return c.listenAddrs(c.Ports.DNS) }

func (c Config) listenAddrs(port int) []string {
	if port < 0 {
		return nil
	}
	addrs := make([]string, 0, len(c.ClientAddrs))
	for _, a := range c.ClientAddrs {
		addrs = append(addrs, net.JoinHostPort(a, strconv.Itoa(port)))
	}
	return addrs
}

// RaftTiming returns heartbeat and election timeouts scaled by
// RaftMultiplier (Consul's base: 1 s each, leader lease 500 ms).
func (c Config) RaftTiming() (heartbeat, election, lease time.Duration) {
	m := time.Duration(c.RaftMultiplier)
	return m * time.Second, m * time.Second, m * 500 * time.Millisecond
}

// ParseLogLevel accepts Consul's level names and returns the slog level.
func ParseLogLevel(s string) (int, error) {
	switch strings.ToLower(s) {
	case "trace":
		return -8, nil
	case "debug":
		return -4, nil
	case "info", "":
		return 0, nil
	case "warn", "warning":
		return 4, nil
	case "error", "err":
		return 8, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want trace, debug, info, warn or error)", s)
}
