// Package raftstore replicates the catalog with hashicorp/raft: a
// Badger-backed raft log and stable store, the FSM adapter over the catalog
// store, a TCP transport that multiplexes Raft and server RPC on one port
// behind a pluggable Network (TLS-ready), cluster formation
// (bootstrap_expect, retry_join, join, leave, remove), writes accepted on
// any server and forwarded to the leader, and reads in Consul's three
// consistency modes.
//
// Durability: the raft log is fsynced on every append (batched: concurrent
// writers share appends and fsyncs). The catalog store is not fsynced; it
// records the index it applied in the same Badger transaction as the data,
// so after a crash raft replays the log and the store skips what it already
// holds. Raft restores a snapshot on start only when the store is behind
// the newest snapshot.
package raftstore
