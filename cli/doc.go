// Package cli is beacon's command-line client: every subcommand except
// `agent` (members, catalog, services, kv, snapshot, operator, leave, info),
// talking to an agent's HTTP API.
package cli
