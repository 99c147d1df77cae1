package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

// Run runs the subcommand named by args[0] and returns the exit code.
// getenv reads the environment (BEACON_HTTP_ADDR, BEACON_HTTP_TOKEN).
// Only commands given "-" as an input argument read os.Stdin.
func Run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return run(args, &env{stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: getenv})
}

// env is everything a command may touch outside its arguments.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one leaf of the command tree, e.g. "kv get".
type command struct {
	name     string
	synopsis string
	usage    string // first line of help: arguments after the name
	help     string // the rest of the help text
	read     bool   // takes -stale
	run      func(inv *invocation, args []string) int
}

// commands is the dispatch table, one entry per leaf command; each family
// file defines its own entries.
func commands() []*command {
	var all []*command
	for _, family := range [][]*command{
		membersCommands, catalogCommands, servicesCommands, kvCommands,
		snapshotCommands, operatorCommands, infoCommands,
	} {
		all = append(all, family...)
	}
	return all
}

// run dispatches args to the longest matching command name.
func run(args []string, e *env) int {
	if e.getenv == nil {
		e.getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		printUsage(e.stderr, "")
		return 1
	}
	if isHelpArg(args[0]) {
		return runHelp(args[1:], e)
	}
	all := commands()
	for n := min(len(args), 3); n >= 1; n-- {
		name := strings.Join(args[:n], " ")
		for _, c := range all {
			if c.name == name {
				return c.run(newInvocation(c, e), args[n:])
			}
		}
	}
	return unknown(args, e)
}

// unknown answers a family name without a valid subcommand ("beacon kv")
// with the family's subcommands, and anything else with the full list.
func unknown(args []string, e *env) int {
	prefix := args[0]
	if len(args) > 1 && args[0] == "operator" && args[1] == "raft" {
		prefix = "operator raft"
	}
	rest := args[len(strings.Fields(prefix)):]
	if !hasFamily(prefix) {
		fmt.Fprintf(e.stderr, "beacon: unknown command %q\n\n", args[0])
		printUsage(e.stderr, "")
		return 1
	}
	if len(rest) > 0 && isHelpArg(rest[0]) {
		printUsage(e.stdout, prefix)
		return 0
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "beacon %s: unknown subcommand %q\n\n", prefix, rest[0])
	}
	printUsage(e.stderr, prefix)
	return 1
}

func hasFamily(prefix string) bool {
	for _, c := range commands() {
		if strings.HasPrefix(c.name, prefix+" ") {
			return true
		}
	}
	return false
}

func isHelpArg(s string) bool {
	switch s {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// runHelp serves "beacon help [COMMAND…]".
func runHelp(args []string, e *env) int {
	if len(args) == 0 {
		printUsage(e.stdout, "")
		return 0
	}
	name := strings.Join(args, " ")
	for _, c := range commands() {
		if c.name == name {
			newInvocation(c, e).printHelp(e.stdout)
			return 0
		}
	}
	if hasFamily(name) {
		printUsage(e.stdout, name)
		return 0
	}
	fmt.Fprintf(e.stderr, "beacon help: unknown command %q\n", name)
	return 1
}

// printUsage lists the commands whose names start with prefix ("" for all).
func printUsage(w io.Writer, prefix string) {
	if prefix == "" {
		fmt.Fprint(w, "Usage: beacon <command> [subcommand] [options] [args]\n\n")
	} else {
		fmt.Fprintf(w, "Usage: beacon %s <subcommand> [options] [args]\n\n", prefix)
	}
	fmt.Fprint(w, "Commands:\n")
	all := commands()
	sort.SliceStable(all, func(i, j int) bool { return all[i].name < all[j].name })
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, c := range all {
		if prefix == "" || strings.HasPrefix(c.name, prefix+" ") {
			fmt.Fprintf(tw, "    %s\t%s\n", c.name, c.synopsis)
		}
	}
	tw.Flush()
	fmt.Fprint(w, "\nRun 'beacon <command> -h' for a command's options.\n")
}
