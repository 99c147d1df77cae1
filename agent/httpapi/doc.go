// Package httpapi is beacon's /v1 HTTP API, wire-compatible with the core
// of Consul's: the handlers, the blocking-query helper, the read headers
// (X-Consul-Index, -KnownLeader, -LastContact) and the mapping of errors to
// status codes. It sees the replicated catalog through the small Store and
// Cluster interfaces it defines; the agent wires them to raftstore.
package httpapi
