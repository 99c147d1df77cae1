// Package simagent runs simulated agents for liveness tests and the scale
// harness: each is a real client agent started in this process (agent.New,
// no HTTP or DNS listener) with N services, each with a TTL check that a
// goroutine heartbeats through the agent's local state, as an application
// would through /v1/agent/check/pass. Heartbeats stay on the agent (they
// never reach the servers); the agent itself renews its node's lease with
// the leader.
package simagent
