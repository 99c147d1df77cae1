package simagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/agent"
	"github.com/beacon-sd/beacon/agent/local"
	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/configs"
)

// Config describes a simulated agent (for StartMany, each of them).
type Config struct {
	// Name is the node name. StartMany names its agents Name-0, Name-1, …
	Name string
	// Servers are the servers' server-port addresses (-retry-join).
	Servers []string
	// DataDir is the base directory: the agent's data dir is DataDir/Name.
	DataDir string
	// Services is how many services the agent registers, each with one
	// TTL check (default 10). Service i is named ServiceName(i).
	Services int
	// CheckTTL is every check's TTL (default 30s); each check is
	// heartbeaten every third of it.
	CheckTTL time.Duration
	// Args are extra agent flags, e.g. "-lease-ttl", "2s".
	Args []string
	// Logger receives the agent's logs; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Services == 0 {
		c.Services = 10
	}
	if c.CheckTTL == 0 {
		c.CheckTTL = 30 * time.Second
	}
	return c
}

// ServiceName is the name (and ID) of a simulated agent's i-th service:
// every agent registers the same names, so each name has one instance per
// agent.
func ServiceName(i int) string { return fmt.Sprintf("sim-%d", i) }

// Agent is a running simulated agent.
type Agent struct {
	name   string
	a      *agent.Agent
	checks []string // TTL check IDs, heartbeaten

	stopOnce sync.Once
	stop     chan struct{} // closed to stop heartbeating
	done     chan struct{} // closed when the heartbeat goroutine ends

	mu  sync.Mutex // guards err
	err error      // the first failed heartbeat
}

// Start starts a client agent joined to cfg.Servers, registers its
// services with their checks passing and starts heartbeating them. It
// returns without waiting for anything to reach the catalog (WaitSynced).
func Start(cfg Config) (*Agent, error) {
	cfg = cfg.withDefaults()
	if cfg.Name == "" || cfg.DataDir == "" || len(cfg.Servers) == 0 {
		return nil, errors.New("simagent: Name, DataDir and Servers are required")
	}
	if cfg.Services < 0 || cfg.CheckTTL < 3*time.Millisecond {
		return nil, fmt.Errorf("simagent: Services must not be negative and CheckTTL must be at least 3ms, got %d and %s", cfg.Services, cfg.CheckTTL)
	}
	args := []string{"-node", cfg.Name, "-http-port", "-1", "-dns-port", "-1", "-bind", "127.0.0.1",
		"-data-dir", filepath.Join(cfg.DataDir, cfg.Name)}
	for _, s := range cfg.Servers {
		args = append(args, "-retry-join", s)
	}
	ac, err := configs.Load(append(args, cfg.Args...), io.Discard)
	if err != nil {
		return nil, fmt.Errorf("simagent %s: config: %w", cfg.Name, err)
	}
	a, err := agent.New(ac, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("simagent %s: %w", cfg.Name, err)
	}
	s := &Agent{name: cfg.Name, a: a, stop: make(chan struct{}), done: make(chan struct{})}
	for i := range cfg.Services {
		name := ServiceName(i)
		svc := catalog.Service{ID: name, Service: name, Port: 8000 + i}
		check := catalog.Check{Status: catalog.HealthPassing, Definition: catalog.CheckDefinition{TTL: cfg.CheckTTL}}
		if err := a.Local().AddService(svc, []catalog.Check{check}, true); err != nil {
			close(s.done)
			_ = s.Kill()
			return nil, fmt.Errorf("simagent %s: register %s: %w", cfg.Name, name, err)
		}
	}
	for _, c := range a.Local().Checks() {
		s.checks = append(s.checks, c.CheckID)
	}
	go s.heartbeat(cfg.CheckTTL / 3)
	return s, nil
}

// heartbeat marks every check passing each period, starting at a random
// offset so that many agents do not beat in step.
func (s *Agent) heartbeat(period time.Duration) {
	defer close(s.done)
	t := time.NewTimer(rand.N(period))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		for _, id := range s.checks {
			err := s.a.Local().UpdateTTL(id, catalog.HealthPassing, "")
			if errors.Is(err, local.ErrClosed) {
				return
			}
			if err != nil {
				s.mu.Lock()
				if s.err == nil {
					s.err = fmt.Errorf("simagent %s: heartbeat %s: %w", s.name, id, err)
				}
				s.mu.Unlock()
			}
		}
		t.Reset(period)
	}
}

// Name is the agent's node name.
func (s *Agent) Name() string { return s.name }

// Agent is the underlying agent.
func (s *Agent) Agent() *agent.Agent { return s.a }

// CheckIDs are the IDs of the agent's TTL checks.
func (s *Agent) CheckIDs() []string { return append([]string(nil), s.checks...) }

// Err returns the first heartbeat that failed, nil if none did.
func (s *Agent) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// WaitSynced blocks until the catalog holds the agent's node, services and
// checks, or ctx ends.
func (s *Agent) WaitSynced(ctx context.Context) error { return s.a.Local().WaitSynced(ctx) }

// Kill stops the agent as a crash would: heartbeats and lease renewals
// stop, nothing is deregistered. Stopping twice is harmless.
func (s *Agent) Kill() error { return s.shutdown(false) }

// Leave stops the agent gracefully: its node leaves the catalog and is
// listed as left.
func (s *Agent) Leave() error { return s.shutdown(true) }

func (s *Agent) shutdown(leave bool) error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.a.Shutdown(ctx, leave)
}

// StartMany starts n agents from cfg, at most concurrency at a time, named
// cfg.Name-0 … cfg.Name-(n-1) ("sim" when cfg.Name is empty). Agent i
// lists the servers rotated by i, so the agents spread their connections
// over the servers. If one fails to start, those started are killed and
// the first error is returned; so is ctx's error if it ends first.
func StartMany(ctx context.Context, n int, cfg Config, concurrency int) ([]*Agent, error) {
	if cfg.Name == "" {
		cfg.Name = "sim"
	}
	agents := make([]*Agent, n)
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	for range max(concurrency, 1) {
		wg.Go(func() {
			for i := range next {
				c := cfg
				c.Name = fmt.Sprintf("%s-%d", cfg.Name, i)
				c.Servers = rotate(cfg.Servers, i)
				a, err := Start(c)
				errMu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
				agents[i] = a
			}
		})
	}
feed:
	for i := range n {
		errMu.Lock()
		failed := firstErr != nil
		errMu.Unlock()
		if failed {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	err := firstErr
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		KillAll(agents)
		return nil, err
	}
	return agents, nil
}

// KillAll kills the agents (nil entries are skipped), several at a time.
func KillAll(agents []*Agent) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, a := range agents {
		if a == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_ = a.Kill()
		})
	}
	wg.Wait()
}

func rotate(s []string, k int) []string {
	if len(s) == 0 {
		return nil
	}
	k %= len(s)
	return append(append([]string(nil), s[k:]...), s[:k]...)
}
