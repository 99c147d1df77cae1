package raftstore

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// Config configures one server of the Raft group. Defaults live only in
// DefaultConfig; timeouts are fields so tests can shrink them.
type Config struct {
	// NodeID is the server's Raft ID; it must be unique in the cluster and
	// stable across restarts.
	NodeID string
	// BindAddr is the TCP address the server listens on for Raft and
	// server-to-server RPC ("host:port"; port 0 picks one).
	BindAddr string
	// Advertise is the address other servers dial; empty means the bound
	// address.
	Advertise string
	// DataDir holds raft/, state/ and snapshots/. Empty: everything in
	// memory (dev mode).
	DataDir string

	// BootstrapExpect is how many servers must know of each other before
	// they bootstrap the cluster together. 0 means never bootstrap; join an
	// existing cluster through RetryJoin instead.
	BootstrapExpect int
	// RetryJoin lists other servers' addresses to find the cluster through.
	RetryJoin []string
	// RetryInterval is the pause between rounds of contacting RetryJoin.
	RetryInterval time.Duration

	// Raft timing.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration

	// MaxAppendEntries bounds how many entries are appended (and fsynced)
	// together and how many are applied to the FSM in one batch.
	MaxAppendEntries int
	// SnapshotThreshold is how many log entries since the last snapshot
	// trigger a new one; SnapshotInterval how often that is checked.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// TrailingLogs is how many entries stay in the log after a snapshot, so
	// a slightly lagging follower catches up from the log, not a snapshot.
	TrailingLogs uint64
	// SnapshotsRetained is how many snapshot files to keep on disk.
	SnapshotsRetained int

	// ApplyTimeout bounds how long a write waits to be enqueued on the
	// leader; RPCTimeout bounds one server-to-server call.
	ApplyTimeout time.Duration
	RPCTimeout   time.Duration

	// LogBadger and StateBadger size the Raft log store and the catalog.
	LogBadger   catalog.BadgerTuning
	StateBadger catalog.BadgerTuning
	// Events is the event log's retention.
	Events catalog.EventRetention

	// Network carries Raft and RPC traffic; nil means plain TCP.
	Network Network
	// Logger receives the server's and raft's logs; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the defaults for a LAN cluster.
func DefaultConfig() Config {
	return Config{
		BindAddr:           "127.0.0.1:8300",
		RetryInterval:      2 * time.Second,
		HeartbeatTimeout:   1000 * time.Millisecond,
		ElectionTimeout:    1000 * time.Millisecond,
		LeaderLeaseTimeout: 500 * time.Millisecond,
		CommitTimeout:      5 * time.Millisecond,
		MaxAppendEntries:   512,
		SnapshotThreshold:  16384,
		SnapshotInterval:   30 * time.Second,
		TrailingLogs:       10240,
		SnapshotsRetained:  2,
		ApplyTimeout:       10 * time.Second,
		RPCTimeout:         10 * time.Second,
		LogBadger:          catalog.DefaultBadgerTuning(),
		StateBadger:        catalog.DefaultBadgerTuning(),
		Events:             catalog.DefaultOptions().Events,
	}
}

// Validate reports the first setting that cannot work, naming the field.
func (c Config) Validate() error {
	switch {
	case c.NodeID == "":
		return errors.New("raftstore: NodeID must be set")
	case c.BootstrapExpect < 0:
		return fmt.Errorf("raftstore: BootstrapExpect must not be negative, got %d", c.BootstrapExpect)
	case c.MaxAppendEntries < 1 || c.MaxAppendEntries > 1024:
		return fmt.Errorf("raftstore: MaxAppendEntries must be in [1, 1024], got %d", c.MaxAppendEntries)
	case c.ElectionTimeout < c.HeartbeatTimeout:
		return fmt.Errorf("raftstore: ElectionTimeout (%s) must be at least HeartbeatTimeout (%s)", c.ElectionTimeout, c.HeartbeatTimeout)
	case c.RetryInterval <= 0:
		return fmt.Errorf("raftstore: RetryInterval must be positive, got %s", c.RetryInterval)
	case c.ApplyTimeout <= 0 || c.RPCTimeout <= 0:
		return errors.New("raftstore: ApplyTimeout and RPCTimeout must be positive")
	}
	if _, _, err := net.SplitHostPort(c.BindAddr); err != nil {
		return fmt.Errorf("raftstore: BindAddr %q: %w", c.BindAddr, err)
	}
	if c.Advertise != "" {
		if _, _, err := net.SplitHostPort(c.Advertise); err != nil {
			return fmt.Errorf("raftstore: Advertise %q: %w", c.Advertise, err)
		}
	}
	for _, a := range c.RetryJoin {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("raftstore: RetryJoin address %q: %w", a, err)
		}
	}
	if err := c.LogBadger.Validate(); err != nil {
		return fmt.Errorf("raftstore: LogBadger: %w", err)
	}
	if err := c.StateBadger.Validate(); err != nil {
		return fmt.Errorf("raftstore: StateBadger: %w", err)
	}
	return nil
}
