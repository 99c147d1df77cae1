// Command scalebench measures node liveness at scale (issue 4): a 3-server
// cluster of real agent processes (bin/beacon) on loopback, and N
// simulated agents in this process (internal/simagent), each a real client
// agent with 10 services whose TTL checks it heartbeats locally and a
// node lease it renews with the leader. For each N, and for an idle
// cluster first, it reports the registration time, Raft applies per second
// and leader CPU in steady state, the time to detect a killed agent, and
// the checks wrongly marked critical across one forced leader failover. It
// prints a table.
package main
