package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/beacon-sd/beacon/configs"
	"github.com/beacon-sd/beacon/raftstore"
)

// Agent is a running beacon agent. So far it runs the server role: a Raft
// member holding the replicated catalog.
type Agent struct {
	cfg    configs.Config
	log    *slog.Logger
	server *raftstore.Server
}

// New starts an agent from cfg.
func New(cfg configs.Config, log *slog.Logger) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Server {
		return nil, fmt.Errorf("client agents are not implemented yet: run with -server or -dev")
	}
	rc := raftstore.DefaultConfig()
	rc.NodeID = cfg.NodeName
	rc.BindAddr = cfg.ServerAddr()
	rc.Advertise = cfg.Advertise
	rc.DataDir = cfg.DataDir
	rc.BootstrapExpect = cfg.BootstrapExpect
	rc.RetryJoin = cfg.RetryJoin
	rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = cfg.RaftTiming()
	if cfg.Dev {
		// A single server needs no failure detection; elect at once.
		rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	}
	rc.Logger = log
	srv, err := raftstore.New(rc)
	if err != nil {
		return nil, err
	}
	return &Agent{cfg: cfg, log: log, server: srv}, nil
}

// Server returns the agent's Raft server.
func (a *Agent) Server() *raftstore.Server { return a.server }

// WaitLeader blocks until the cluster has a leader or ctx ends.
func (a *Agent) WaitLeader(ctx context.Context) error {
	for a.server.Leader().Addr == "" {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a cluster leader: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// Shutdown leaves the cluster gracefully (when leave is true) and stops.
func (a *Agent) Shutdown(ctx context.Context, leave bool) error {
	if leave && !a.cfg.Dev {
		if err := a.server.Leave(ctx); err != nil {
			a.log.Warn("graceful leave failed", "error", err)
		}
	}
	return a.server.Shutdown()
}
