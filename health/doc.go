// Package health runs an agent's health checks and aggregates their
// statuses. Each runner is a small type with Start and Stop that reports a
// check's status through a Notify callback, and only when the status or
// output changes: a check that stays passing with the same output reports
// nothing, so it never reaches Raft.
//
// The runners follow Consul's checks: TTL (a timer the application resets),
// HTTP, TCP, UDP, gRPC (the grpc.health.v1 protocol), H2PING (an HTTP/2
// PING), Script (a program run without a shell; the agent allows it only
// with enable_script_checks) and Alias (mirrors another service's or
// node's checks). The probing runners share one loop (a random first
// offset, then every Interval) and one reporter (thresholds, output cut to
// catalog.MaxCheckOutput); Alias instead follows the catalog with blocking
// reads through the AliasSource interface defined here.
//
// Runners know nothing of the agent's local state or of the catalog's
// storage; the agent's local state (agent/local) owns them, feeds TTL
// updates and decides what to sync. health imports only catalog, for its
// types and limits.
package health
