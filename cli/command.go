package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
)

// Environment variables for the common flags' defaults, and the default
// agent address.
const (
	envHTTPAddr     = "BEACON_HTTP_ADDR"
	envHTTPToken    = "BEACON_HTTP_TOKEN"
	defaultHTTPAddr = "127.0.0.1:8500"
)

// Output formats.
const (
	formatTable = "table"
	formatJSON  = "json"
)

// invocation is one run of a command: its flags, environment and client.
type invocation struct {
	*env
	cmd      *command
	fs       *flag.FlagSet
	httpAddr string
	token    string
	format   string
	stale    bool
}

// newInvocation creates the command's flag set with the common flags.
func newInvocation(c *command, e *env) *invocation {
	inv := &invocation{env: e, cmd: c}
	fs := flag.NewFlagSet("beacon "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := e.getenv(envHTTPAddr)
	if addr == "" {
		addr = defaultHTTPAddr
	}
	fs.StringVar(&inv.httpAddr, "http-addr", addr,
		"The agent's HTTP address, host:port or http(s)://host:port (env "+envHTTPAddr+").")
	// The token's default is applied after parsing, so -h never prints it.
	fs.StringVar(&inv.token, "token", "",
		"ACL token sent as X-Consul-Token (default: env "+envHTTPToken+").")
	fs.StringVar(&inv.format, "format", formatTable,
		"Output format: table (for people) or json (the API's JSON, for scripts).")
	if c.read {
		fs.BoolVar(&inv.stale, "stale", false,
			"Let any server answer, even one that is behind the leader.")
	}
	inv.fs = fs
	return inv
}

// parse parses args. ok is false when the command must stop and return
// code: 0 after -h, 1 after a bad flag (the error and the usage line are
// already printed).
func (inv *invocation) parse(args []string) (rest []string, code int, ok bool) {
	err := inv.fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		inv.printHelp(inv.stdout)
		return nil, 0, false
	}
	if !inv.flagSet("token") {
		inv.token = inv.getenv(envHTTPToken)
	}
	if err == nil && inv.format != formatTable && inv.format != formatJSON {
		err = fmt.Errorf("invalid -format %q: want table or json", inv.format)
	}
	if err != nil {
		return nil, inv.usageError(err.Error()), false
	}
	return inv.fs.Args(), 0, true
}

// flagSet reports whether the flag was given on the command line.
func (inv *invocation) flagSet(name string) bool {
	set := false
	inv.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// usageError prints msg and the usage line, and returns exit code 1.
func (inv *invocation) usageError(msg string) int {
	fmt.Fprintf(inv.stderr, "beacon %s: %s\n", inv.cmd.name, msg)
	fmt.Fprintf(inv.stderr, "Usage: beacon %s %s\nRun 'beacon %s -h' for details.\n", inv.cmd.name, inv.cmd.usage, inv.cmd.name)
	return 1
}

// wantArgs checks the number of positional arguments.
func (inv *invocation) wantArgs(args []string, lo, hi int) (code int, ok bool) {
	if len(args) >= lo && len(args) <= hi {
		return 0, true
	}
	if len(args) < lo {
		return inv.usageError("missing arguments"), false
	}
	return inv.usageError(fmt.Sprintf("too many arguments (expected at most %d, got %d)", hi, len(args))), false
}

// printHelp writes the command's usage, help text and flags.
func (inv *invocation) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: beacon %s %s\n\n", inv.cmd.name, inv.cmd.usage)
	if inv.cmd.help != "" {
		fmt.Fprintf(w, "%s\n\n", strings.TrimRight(strings.TrimLeft(inv.cmd.help, "\n"), " \n"))
	} else {
		fmt.Fprintf(w, "  %s.\n\n", inv.cmd.synopsis)
	}
	fmt.Fprint(w, "Options:\n\n")
	inv.fs.SetOutput(w)
	inv.fs.PrintDefaults()
	inv.fs.SetOutput(io.Discard)
}

// client builds the HTTP client from the common flags; on a bad address it
// prints the error and returns nil.
// start parses the flags, checks the positional argument count (lo..hi)
// and makes the client: the common opening of every command that calls
// the agent. ok false means return code.
func (inv *invocation) start(args []string, lo, hi int) (rest []string, c *client, code int, ok bool) {
	if args, code, ok = inv.parse(args); !ok {
		return nil, nil, code, false
	}
	if code, ok = inv.wantArgs(args, lo, hi); !ok {
		return nil, nil, code, false
	}
	if c = inv.client(); c == nil {
		return nil, nil, 1, false
	}
	return args, c, 0, true
}

func (inv *invocation) client() *client {
	c, err := newClient(inv.httpAddr, inv.token)
	if err != nil {
		inv.usageError(err.Error())
		return nil
	}
	return c
}

// query returns the read options every read sends (?stale).
func (inv *invocation) query() url.Values {
	q := url.Values{}
	if inv.stale {
		q.Set("stale", "")
	}
	return q
}

// json reports whether the user asked for JSON output.
func (inv *invocation) json() bool { return inv.format == formatJSON }

// fail prints err for the failed action ("querying members") and returns
// exit code 1. A connection failure is printed as is: it names the agent.
func (inv *invocation) fail(action string, err error) int {
	var ce *connError
	if errors.As(err, &ce) {
		fmt.Fprintln(inv.stderr, ce.Error())
	} else {
		fmt.Fprintf(inv.stderr, "Error %s: %v\n", action, err)
	}
	return 1
}

// errorf prints a formatted error line and returns exit code 1.
func (inv *invocation) errorf(format string, args ...any) int {
	fmt.Fprintf(inv.stderr, format+"\n", args...)
	return 1
}

// printf writes to stdout.
func (inv *invocation) printf(format string, args ...any) {
	fmt.Fprintf(inv.stdout, format, args...)
}

// printJSON writes raw API JSON indented; a body that is not JSON is
// written unchanged.
func (inv *invocation) printJSON(raw []byte) int {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "    "); err != nil {
		inv.stdout.Write(raw)
		return 0
	}
	buf.WriteByte('\n')
	inv.stdout.Write(buf.Bytes())
	return 0
}

// printValue writes v as indented JSON.
func (inv *invocation) printValue(v any) int {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return inv.errorf("Error encoding JSON: %v", err)
	}
	inv.stdout.Write(append(b, '\n'))
	return 0
}

// table returns an aligned-column writer on stdout; call Flush when done.
func (inv *invocation) table() *tabwriter.Writer {
	return tabwriter.NewWriter(inv.stdout, 0, 8, 2, ' ', 0)
}

// row writes one tab-separated table row.
func row(w io.Writer, cols ...any) {
	for i, c := range cols {
		if i > 0 {
			io.WriteString(w, "\t")
		}
		fmt.Fprint(w, c)
	}
	io.WriteString(w, "\n")
}

// stringList is a repeatable string flag (-tag a -tag b).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// metaFlag is a repeatable k=v flag (-meta k=v).
type metaFlag map[string]string

func (m metaFlag) String() string { return "" }

func (m metaFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	m[k] = val
	return nil
}

// readInput reads a command's data argument: "@file" reads the file, "-"
// reads stdin, anything else is the data itself.
func (inv *invocation) readInput(arg string) ([]byte, error) {
	switch {
	case arg == "-":
		b, err := io.ReadAll(inv.stdin)
		if err != nil {
			return nil, fmt.Errorf("failed to read stdin: %w", err)
		}
		return b, nil
	case strings.HasPrefix(arg, "@"):
		b, err := os.ReadFile(arg[1:])
		if err != nil {
			return nil, fmt.Errorf("failed to read file: %w", err)
		}
		return b, nil
	}
	return []byte(arg), nil
}
