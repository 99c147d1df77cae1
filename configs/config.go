package configs

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of an agent, one sub-struct per
// component. Defaults live only in Default.
type Config struct {
	NodeName   string
	Datacenter string
	DataDir    string // empty only in dev mode (everything in memory)
	Dev        bool
	Server     bool
	LogLevel   string
	LogJSON    bool

	BindAddr  string // address the server port binds to
	Advertise string // address other servers dial; empty: BindAddr
	Ports     Ports

	BootstrapExpect int
	RetryJoin       []string

	// RaftMultiplier scales Raft's timing like Consul's raft_multiplier:
	// 1 for production-grade hardware, up to 10 for slow machines.
	RaftMultiplier int
}

// Ports are the listener ports.
type Ports struct {
	Server int // Raft and server RPC (Consul's 8300)
	HTTP   int
	DNS    int
}

// Default returns the configuration of an agent started with no flags.
func Default() Config {
	host, _ := os.Hostname()
	return Config{
		NodeName:       host,
		Datacenter:     "dc1",
		LogLevel:       "info",
		BindAddr:       "0.0.0.0",
		Ports:          Ports{Server: 8300, HTTP: 8500, DNS: 8600},
		RaftMultiplier: 1,
	}
}

// devOverrides applies -dev: one in-memory server, every listener on
// 127.0.0.1, bootstrapped alone.
func devOverrides(c *Config) {
	c.Dev = true
	c.Server = true
	c.BootstrapExpect = 1
	c.BindAddr = "127.0.0.1"
	c.DataDir = ""
	if c.NodeName == "" {
		c.NodeName = "dev"
	}
}

// ErrHelp is returned by LoadArgs when -h or -help was given.
var ErrHelp = flag.ErrHelp

// LoadArgs builds a Config from Default and the agent's command-line flags
// (Consul's names). Usage and flag errors are written to out.
func LoadArgs(args []string, out io.Writer) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("beacon agent", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.BoolVar(&c.Dev, "dev", false, "run a single in-memory server with every listener on 127.0.0.1")
	fs.BoolVar(&c.Server, "server", false, "run as a server (Raft voter)")
	fs.StringVar(&c.NodeName, "node", c.NodeName, "node name, unique in the cluster")
	fs.StringVar(&c.Datacenter, "datacenter", c.Datacenter, "datacenter name")
	fs.StringVar(&c.DataDir, "data-dir", "", "directory for persistent state (required unless -dev)")
	fs.StringVar(&c.BindAddr, "bind", c.BindAddr, "address the server port binds to")
	fs.StringVar(&c.Advertise, "advertise", "", "address other servers reach this one at")
	fs.IntVar(&c.Ports.Server, "server-port", c.Ports.Server, "Raft and server RPC port")
	fs.IntVar(&c.Ports.HTTP, "http-port", c.Ports.HTTP, "HTTP API port")
	fs.IntVar(&c.Ports.DNS, "dns-port", c.Ports.DNS, "DNS port")
	fs.IntVar(&c.BootstrapExpect, "bootstrap-expect", 0, "servers to wait for before bootstrapping the cluster")
	fs.Func("retry-join", "HOST:PORT of another server's -server-port (repeatable)", func(v string) error {
		c.RetryJoin = append(c.RetryJoin, v)
		return nil
	})
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "trace, debug, info, warn or error")
	fs.BoolVar(&c.LogJSON, "log-json", false, "log as JSON")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Dev {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		bind, name := c.BindAddr, c.NodeName
		devOverrides(&c)
		if set["bind"] {
			c.BindAddr = bind
		}
		if set["node"] {
			c.NodeName = name
		}
	}
	return c, c.Validate()
}

// Validate reports the first field that cannot work, naming it.
func (c Config) Validate() error {
	switch {
	case c.NodeName == "":
		return errors.New("node: a node name is required (-node)")
	case !c.Dev && c.DataDir == "":
		return errors.New("data-dir: required unless -dev")
	case c.BootstrapExpect < 0:
		return fmt.Errorf("bootstrap-expect: must not be negative, got %d", c.BootstrapExpect)
	case c.BootstrapExpect > 0 && !c.Server:
		return errors.New("bootstrap-expect: only servers bootstrap (add -server)")
	case c.RaftMultiplier < 1 || c.RaftMultiplier > 10:
		return fmt.Errorf("raft_multiplier: must be 1..10, got %d", c.RaftMultiplier)
	}
	for name, p := range map[string]int{"server-port": c.Ports.Server, "http-port": c.Ports.HTTP, "dns-port": c.Ports.DNS} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("%s: must be 0..65535, got %d", name, p)
		}
	}
	if net.ParseIP(c.BindAddr) == nil {
		return fmt.Errorf("bind: %q is not an IP address", c.BindAddr)
	}
	for _, a := range c.RetryJoin {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return fmt.Errorf("retry-join: %q must be HOST:PORT", a)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return fmt.Errorf("retry-join: %q has a bad port", a)
		}
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		return err
	}
	return nil
}

// ServerAddr is the host:port the server port binds to.
func (c Config) ServerAddr() string {
	return net.JoinHostPort(c.BindAddr, strconv.Itoa(c.Ports.Server))
}

// RaftTiming returns heartbeat and election timeouts scaled by
// RaftMultiplier (Consul's base: 1 s each, leader lease 500 ms).
func (c Config) RaftTiming() (heartbeat, election, lease time.Duration) {
	m := time.Duration(c.RaftMultiplier)
	return m * time.Second, m * time.Second, m * 500 * time.Millisecond
}

// ParseLogLevel accepts Consul's level names.
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
	return 0, fmt.Errorf("log-level: unknown level %q (want trace, debug, info, warn or error)", s)
}
