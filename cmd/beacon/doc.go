// Command beacon is the single beacon binary: `beacon agent` runs an agent
// (server, client or -dev), and the other subcommands are the CLI.
package main
