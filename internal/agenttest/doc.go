// Package agenttest starts real beacon agents in the test's process — a dev
// agent, a cluster of server agents on loopback, client agents joined to
// them — on ephemeral ports, and stops them when the test ends.
package agenttest
