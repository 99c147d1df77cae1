package raftstore

import "errors"

// Errors a caller of Server may need to tell apart.
var (
	// ErrNoLeader: the cluster has no leader this server can reach, so a
	// write or a non-stale read cannot be served. Safe to retry.
	ErrNoLeader = errors.New("no cluster leader")
	// ErrOutcomeUnknown: a write was handed to a leader that lost leadership
	// (or became unreachable) before confirming it; it may or may not have
	// been committed. Retrying a non-idempotent write may apply it twice.
	ErrOutcomeUnknown = errors.New("write outcome unknown")
	// ErrNotReady: this server just became leader and did not finish
	// applying every earlier entry (or lost leadership) within the read's
	// deadline, so it could not serve a consistent read.
	ErrNotReady = errors.New("leader not ready for consistent reads")
	// ErrShutdown: the server is shutting down.
	ErrShutdown = errors.New("server shut down")
)
