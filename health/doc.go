// Package health runs an agent's health checks and aggregates their
// statuses. Each runner (TTL, HTTP, TCP) is a small type with Start and
// Stop that reports a check's status through a Notify callback, and only
// when the status or output changes: a check that stays passing with the
// same output reports nothing, so it never reaches Raft.
//
// Runners know nothing of the agent's local state or of the catalog; the
// agent's local state (agent/local) owns them, feeds TTL updates and
// decides what to sync. health imports only catalog, for its types and
// limits.
package health
