package cli

import (
	"fmt"
	"io"
)

// Run runs the subcommand named by args[0] and returns the exit code.
// getenv reads the environment (BEACON_HTTP_ADDR, BEACON_HTTP_TOKEN).
func Run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "beacon: missing command")
		return 1
	}
	fmt.Fprintf(stderr, "beacon: unknown command %q\n", args[0])
	return 1
}
