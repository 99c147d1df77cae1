// Package beacon is service discovery and coordination in one Go binary:
// agents register services and health checks into a catalog replicated
// with Raft and stored in Badger, and serve DNS, a local proxy, a
// Consul-compatible HTTP API and etcd-style coordination on top of it.
//
// This root package holds no code; it carries repository-wide tests (the
// package-doc rule and the import-direction rule of docs/ARCHITECTURE.md).
package beacon
