package configs

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

// ErrHelp is returned by Load when -h or -help was given.
var ErrHelp = flag.ErrHelp

// cliFlags is what the command line asked for. Flag values are checked as
// they are parsed but applied only after the files (flags win), so each
// set flag leaves a setter in apply.
type cliFlags struct {
	dev     bool
	sources []source // -config-file and -config-dir, in the order given
	apply   []func(*Config)
}

// source is a -config-file (dir false) or -config-dir.
type source struct {
	path string
	dir  bool
}

func parseFlags(args []string, out io.Writer) (*cliFlags, error) {
	f := &cliFlags{}
	fs := flag.NewFlagSet("beacon agent", flag.ContinueOnError)
	fs.SetOutput(out)
	f.defineSources(fs)
	f.defineAgent(fs)
	f.defineNetwork(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

func (f *cliFlags) defineSources(fs *flag.FlagSet) {
	fs.BoolFunc("dev", "run a single in-memory server with every listener on 127.0.0.1", func(s string) (err error) {
		f.dev, err = strconv.ParseBool(s)
		return err
	})
	fs.Func("config-file", "configuration `file`, HCL (.hcl) or JSON (.json); repeatable, later files win", func(s string) error {
		f.sources = append(f.sources, source{path: s})
		return nil
	})
	fs.Func("config-dir", "`directory` whose *.hcl and *.json files are read in lexical order; repeatable", func(s string) error {
		f.sources = append(f.sources, source{path: s, dir: true})
		return nil
	})
}

func (f *cliFlags) defineAgent(fs *flag.FlagSet) {
	d := Default()
	boolFlag(fs, f, "server", "run as a server (Raft voter)", func(c *Config, v bool) { c.Server = v })
	flagVar(fs, f, "node", fmt.Sprintf("`name` of this node, unique in the cluster (default %q)", d.NodeName),
		checked(notEmpty), func(c *Config, v string) { c.NodeName = v })
	flagVar(fs, f, "datacenter", fmt.Sprintf("datacenter `name` (default %q)", d.Datacenter),
		checked(notEmpty), func(c *Config, v string) { c.Datacenter = v })
	flagVar(fs, f, "data-dir", "`directory` for persistent state (required unless -dev)",
		checked(nil), func(c *Config, v string) { c.DataDir = v })
	flagVar(fs, f, "bootstrap-expect", "`number` of servers to wait for before bootstrapping the cluster",
		intFlag(atLeastZero[int]), func(c *Config, v int) { c.BootstrapExpect = v })
	flagVar(fs, f, "retry-join", "`HOST:PORT` of another server's -server-port (repeatable)",
		checked(checkJoinAddr), func(c *Config, v string) { c.RetryJoin = append(c.RetryJoin, v) })
	flagVar(fs, f, "log-level", fmt.Sprintf("log `level`: trace, debug, info, warn or error (default %q)", d.LogLevel),
		checked(checkLogLevel), func(c *Config, v string) { c.LogLevel = v })
	boolFlag(fs, f, "log-json", "log as JSON", func(c *Config, v bool) { c.LogJSON = v })
	boolFlag(fs, f, "enable-script-checks", "allow checks that run programs (args)", func(c *Config, v bool) { c.EnableScriptChecks = v })
	boolFlag(fs, f, "enable-debug", "serve /debug/pprof on the HTTP port", func(c *Config, v bool) { c.EnableDebug = v })
	boolFlag(fs, f, "ui", "serve the web dashboard", func(c *Config, v bool) { c.UI = v })
	flagVar(fs, f, "lease-ttl", fmt.Sprintf("node liveness lease `duration`: a node that does not renew within it is failed (default %s)", d.LeaseTTL),
		parseLeaseTTL, func(c *Config, v time.Duration) { c.LeaseTTL = v })
}

func (f *cliFlags) defineNetwork(fs *flag.FlagSet) {
	d := Default()
	flagVar(fs, f, "bind", fmt.Sprintf("`address` the server port binds to; go-sockaddr templates allowed (default %q)", d.BindAddr),
		resolveAddr, func(c *Config, v string) { c.BindAddr = v })
	flagVar(fs, f, "advertise", "`address` other servers reach this one at; templates allowed (default: -bind)",
		resolveAdvertise, func(c *Config, v string) { c.Advertise = v })
	flagVar(fs, f, "client", fmt.Sprintf("space-separated `addresses` for HTTP and DNS; templates allowed (default %q)", d.ClientAddrs[0]),
		resolveAddrs, func(c *Config, v []string) { c.ClientAddrs = v })
	flagVar(fs, f, "http-port", fmt.Sprintf("HTTP API `port`, -1 disables (default %d)", d.Ports.HTTP),
		intFlag(checkListenPort), func(c *Config, v int) { c.Ports.HTTP = v })
	flagVar(fs, f, "dns-port", fmt.Sprintf("DNS `port`, -1 disables (default %d)", d.Ports.DNS),
		intFlag(checkListenPort), func(c *Config, v int) { c.Ports.DNS = v })
	flagVar(fs, f, "server-port", fmt.Sprintf("Raft and server RPC `port` (default %d)", d.Ports.Server),
		intFlag(checkPort), func(c *Config, v int) { c.Ports.Server = v })
}

// flagVar defines a flag whose value parse turns into a T, which set
// stores once the files have been read.
func flagVar[T any](fs *flag.FlagSet, f *cliFlags, name, usage string, parse func(string) (T, error), set func(*Config, T)) {
	fs.Func(name, usage, func(s string) error {
		v, err := parse(s)
		if err != nil {
			return err
		}
		f.apply = append(f.apply, func(c *Config) { set(c, v) })
		return nil
	})
}

// boolFlag is flagVar for a flag that may be given without a value.
func boolFlag(fs *flag.FlagSet, f *cliFlags, name, usage string, set func(*Config, bool)) {
	fs.BoolFunc(name, usage, func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("want true or false")
		}
		f.apply = append(f.apply, func(c *Config) { set(c, v) })
		return nil
	})
}

// checked parses a string flag that check accepts (nil: any).
func checked(check func(string) error) func(string) (string, error) {
	return func(s string) (string, error) {
		if check == nil {
			return s, nil
		}
		return s, check(s)
	}
}

// intFlag parses an integer flag that check accepts.
func intFlag(check func(int) error) func(string) (int, error) {
	return func(s string) (int, error) {
		v, err := strconv.Atoi(s)
		if err != nil {
			return 0, errors.New("not an integer")
		}
		return v, check(v)
	}
}
