package agenttest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/agent"
	"github.com/beacon-sd/beacon/configs"
)

// logger is quiet unless BEACON_TEST_LOG is set.
func logger(name string) *slog.Logger {
	if os.Getenv("BEACON_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("agent", name)
}

// Start starts an agent from command-line style args (ports default to
// ephemeral, DNS off) and stops it when the test ends.
func Start(t testing.TB, name string, args ...string) *agent.Agent {
	t.Helper()
	base := []string{"-node", name, "-http-port", "0", "-server-port", "0", "-dns-port", "-1", "-bind", "127.0.0.1"}
	cfg, err := configs.Load(append(base, args...), io.Discard)
	if err != nil {
		t.Fatalf("agent %s: config: %v", name, err)
	}
	a, err := agent.New(cfg, logger(name))
	if err != nil {
		t.Fatalf("agent %s: %v", name, err)
	}
	t.Cleanup(func() { Stop(a) })
	return a
}

// Stop shuts an agent down without leaving (as a crash would, minus the
// data loss); stopping twice is harmless.
func Stop(a *agent.Agent) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = a.Shutdown(ctx, false)
}

// Dev starts a dev agent and waits until it leads.
func Dev(t testing.TB, args ...string) *agent.Agent {
	t.Helper()
	a := Start(t, "dev", append([]string{"-dev"}, args...)...)
	WaitLeader(t, a)
	return a
}

// Cluster starts n server agents, each with its own data dir, joined
// through the first, and waits for a leader.
func Cluster(t testing.TB, n int) []*agent.Agent {
	t.Helper()
	return ClusterArgs(t, n)
}

// ClusterArgs is Cluster with extra flags for every server (e.g.
// "-lease-ttl", "2s").
func ClusterArgs(t testing.TB, n int, args ...string) []*agent.Agent {
	t.Helper()
	servers := make([]*agent.Agent, n)
	base := []string{"-server", "-bootstrap-expect", fmt.Sprint(n)}
	servers[0] = Start(t, "s1", slices.Concat(base, []string{"-data-dir", t.TempDir()}, args)...)
	first := servers[0].Server().Self().Addr
	for i := 1; i < n; i++ {
		servers[i] = Start(t, fmt.Sprintf("s%d", i+1), slices.Concat(base, []string{"-data-dir", t.TempDir(), "-retry-join", first}, args)...)
	}
	for _, s := range servers {
		WaitLeader(t, s)
	}
	return servers
}

// Client starts a client agent joined to the given servers.
func Client(t testing.TB, name string, servers ...*agent.Agent) *agent.Agent {
	t.Helper()
	args := []string{"-data-dir", t.TempDir()}
	for _, s := range servers {
		args = append(args, "-retry-join", s.Server().Self().Addr)
	}
	a := Start(t, name, args...)
	WaitLeader(t, a)
	return a
}

// WaitLeader waits until a knows a cluster leader.
func WaitLeader(t testing.TB, a *agent.Agent) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
}

// Leader returns the server among servers that leads, waiting (up to 15s)
// until all of them name it.
func Leader(t testing.TB, servers ...*agent.Agent) *agent.Agent {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if l := agreedLeader(servers); l != nil {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatal("no leader that every server agrees on within 15s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func agreedLeader(servers []*agent.Agent) *agent.Agent {
	var leader *agent.Agent
	for _, s := range servers {
		if s.Server().IsLeader() {
			leader = s
		}
	}
	if leader == nil {
		return nil
	}
	for _, s := range servers {
		if s.Server().Leader().ID != leader.Server().Self().ID {
			return nil
		}
	}
	return leader
}

// HTTPURL is the agent's API base URL.
func HTTPURL(a *agent.Agent) string { return "http://" + a.HTTPAddr() }

// Eventually polls fn every 20ms until it returns nil, failing the test
// with fn's last error once within has passed.
func Eventually(t testing.TB, within time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
