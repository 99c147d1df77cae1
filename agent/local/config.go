package local

import (
	"errors"
	"fmt"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

// Config is the local state's settings. Durations are fields so tests can
// shrink them; DefaultConfig holds the defaults.
type Config struct {
	// Node is this node's catalog entry (ID, Node, Address, Datacenter,
	// TaggedAddresses, Meta), registered by anti-entropy.
	Node catalog.Node
	// Dir holds the persisted services, checks and TTL check state
	// (<data-dir>/local); "" keeps everything in memory (dev mode).
	Dir string
	// SyncInterval is the period of full syncs, randomised ±25%.
	SyncInterval time.Duration
	// CheckUpdateInterval is how long an output-only change of a check may
	// stay unsynced (Consul's check_update_interval); 0 syncs every change.
	CheckUpdateInterval time.Duration
	// RetryMin and RetryMax bound the exponential backoff after a failed
	// sync; the retry is a full sync.
	RetryMin, RetryMax time.Duration
	// ApplyTimeout bounds each catalog call of a sync.
	ApplyTimeout time.Duration
	// MinCheckInterval raises shorter intervals of the checks that probe
	// (HTTP, TCP, UDP, gRPC, H2PING, script) (Consul: 1s).
	MinCheckInterval time.Duration
	// MinDeregisterAfter raises shorter DeregisterCriticalServiceAfter
	// values (Consul: 1m).
	MinDeregisterAfter time.Duration
	// ReapInterval is how often services whose check stayed critical
	// longer than its DeregisterCriticalServiceAfter are deregistered.
	ReapInterval time.Duration
	// EnableScriptChecks allows checks that run a program (Args); without
	// it they are rejected with Consul's message.
	EnableScriptChecks bool
	// AliasSource is the catalog as alias checks read it; nil rejects
	// alias checks.
	AliasSource health.AliasSource
}

// DefaultConfig returns Consul's timings; the caller sets Node and Dir.
func DefaultConfig() Config {
	return Config{
		SyncInterval:        time.Minute,
		CheckUpdateInterval: 5 * time.Minute,
		RetryMin:            time.Second,
		RetryMax:            time.Minute,
		ApplyTimeout:        30 * time.Second,
		MinCheckInterval:    time.Second,
		MinDeregisterAfter:  time.Minute,
		ReapInterval:        30 * time.Second,
	}
}

// Validate checks the settings New needs.
func (c Config) Validate() error {
	var errs []error
	if c.Node.Node == "" {
		errs = append(errs, errors.New("local: Node.Node (the node name) is required"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"SyncInterval", c.SyncInterval}, {"RetryMin", c.RetryMin}, {"RetryMax", c.RetryMax},
		{"ApplyTimeout", c.ApplyTimeout}, {"ReapInterval", c.ReapInterval},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("local: %s must be positive, got %s", d.name, d.v))
		}
	}
	if c.CheckUpdateInterval < 0 || c.MinCheckInterval < 0 || c.MinDeregisterAfter < 0 {
		errs = append(errs, errors.New("local: CheckUpdateInterval, MinCheckInterval and MinDeregisterAfter must not be negative"))
	}
	return errors.Join(errs...)
}
