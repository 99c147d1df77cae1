// Package local is an agent's local state: the services and checks
// registered on this node, their health-check runners, their persistence
// in the agent's data directory, and the anti-entropy that keeps the
// replicated catalog's entry for this node equal to them.
//
// The agent is authoritative for its node. A registration, deregistration
// or status change is pushed to the catalog at once (one command each); a
// full sync at start and every SyncInterval (±25%) also removes what the
// catalog holds on this node that the agent does not know — except the
// node liveness check, serfHealth, which the agent registers itself and
// never removes. Only changes reach Raft: a check whose status stays the
// same while its output changes is synced at most every
// CheckUpdateInterval.
//
// The catalog is seen through the Catalog interface defined here; the
// agent implements it over raftstore (or, on a client, over a server).
package local
