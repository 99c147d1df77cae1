package simagent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/agent"
	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/simagent"
	"github.com/beacon-sd/beacon/raftstore"
)

// leaseTTL is the node lease of every test cluster: short, so that
// expiries come within a test, and above the 1 s election timeout.
const leaseTTL = 2 * time.Second

// leaseArgs are the flags that set it, for servers and agents alike.
var leaseArgs = []string{"-lease-ttl", leaseTTL.String()}

// startSims starts n simulated agents joined to servers, kills them when
// the test ends, and waits until the catalog holds every one.
func startSims(t *testing.T, servers []*agent.Agent, n int, cfg simagent.Config) []*simagent.Agent {
	t.Helper()
	for _, s := range servers {
		cfg.Servers = append(cfg.Servers, s.Server().Self().Addr)
	}
	cfg.DataDir = t.TempDir()
	cfg.Args = append(cfg.Args, leaseArgs...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sims, err := simagent.StartMany(ctx, n, cfg, 32)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { simagent.KillAll(sims) })
	for _, s := range sims {
		if err := s.WaitSynced(ctx); err != nil {
			t.Fatalf("%s: not in the catalog: %v", s.Name(), err)
		}
	}
	return sims
}

// view reads a server's catalog after a consistent read barrier, so that
// it reflects every committed write.
func view(t *testing.T, s *agent.Agent, fn func(tx *catalog.ReadTx) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Server().Read(ctx, raftstore.Consistent); err != nil {
		t.Fatal(err)
	}
	if err := s.Server().Store().View(fn); err != nil {
		t.Fatal(err)
	}
}

// apply commits a command on a server, failing the test on error.
func apply(t *testing.T, s *agent.Agent, cmd catalog.Command) catalog.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Server().Apply(ctx, cmd)
	if err != nil {
		t.Fatalf("%T: %v", cmd, err)
	}
	return res
}

// getJSON decodes a GET answer of an agent's HTTP API.
func getJSON(a *agent.Agent, path string, v any) error {
	resp, err := http.Get("http://" + a.HTTPAddr() + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// expiredTotal sums the lease expiries every server has written.
func expiredTotal(servers []*agent.Agent) (expired, revived uint64) {
	for _, s := range servers {
		st := s.Leases().Stats()
		expired, revived = expired+st.NodesExpired, revived+st.NodesRevived
	}
	return expired, revived
}
