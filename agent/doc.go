// Package agent wires a beacon agent together from a configs.Config: it
// builds the components (today the Raft server; the HTTP API, DNS, proxy
// and health checking as they arrive), starts and stops them in order, and
// owns the node's local state.
package agent
