package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/beacon-sd/beacon/agent/httpapi"
	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
	"github.com/beacon-sd/beacon/raftstore"
)

// aliasWait bounds one blocking read of an alias check, as Consul's
// MaxQueryTime for them: after it the check re-reads anyway, so a change
// that woke nothing (a service without checks deregistered, say) is seen
// within it.
const aliasWait = time.Minute

// aliasSource returns the catalog as this agent's alias checks read it:
// its own store on a server, a server's API on a client. Both are stale
// reads, as Consul's alias checks make.
func (a *Agent) aliasSource() health.AliasSource {
	if a.server != nil {
		return storeAliasSource{server: a.server, wait: aliasWait}
	}
	return remoteAliasSource{remote: a.remote, wait: aliasWait}
}

var (
	_ health.AliasSource = storeAliasSource{}
	_ health.AliasSource = remoteAliasSource{}
)

// storeAliasSource reads a server's catalog store and waits on its watch
// hub. The tables' indexes are cluster-wide, so any registration or
// check change wakes every alias check; each wake-up is one local read.
type storeAliasSource struct {
	server *raftstore.Server
	wait   time.Duration
}

var aliasWatchKeys = []catalog.WatchKey{
	catalog.TableWatch(catalog.TableNodes),
	catalog.TableWatch(catalog.TableServices),
	catalog.TableWatch(catalog.TableChecks),
}

func (src storeAliasSource) NodeHealth(ctx context.Context, node string, minIndex uint64) (health.NodeHealth, uint64, error) {
	store := src.server.Store()
	var deadline <-chan time.Time
	if minIndex > 0 {
		t := time.NewTimer(src.wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		// Registered before the read, so a change between the read and
		// the wait still wakes it.
		w := store.Hub().Watch(aliasWatchKeys...)
		nh, idx, err := readNodeHealth(store, node)
		if err != nil || minIndex == 0 || idx > minIndex {
			w.Stop()
			return nh, idx, err
		}
		select {
		case <-w.C():
			w.Stop()
		case <-deadline:
			w.Stop()
			return nh, idx, nil
		case <-ctx.Done():
			w.Stop()
			return health.NodeHealth{}, 0, ctx.Err()
		}
	}
}

// readNodeHealth reads node's entries in one view, with the highest of
// the index of the nodes, services and checks tables.
func readNodeHealth(store *catalog.Store, node string) (health.NodeHealth, uint64, error) {
	var (
		nh  health.NodeHealth
		idx uint64
	)
	err := store.View(func(tx *catalog.ReadTx) error {
		n, svcs, sidx := tx.NodeServices(node)
		checks, cidx := tx.NodeChecks(node)
		nh, idx = nodeHealth(n, svcs, checks), max(sidx, cidx)
		return tx.Err()
	})
	return nh, idx, err
}

func nodeHealth(n *catalog.Node, svcs []*catalog.Service, checks []*catalog.Check) health.NodeHealth {
	nh := health.NodeHealth{Found: n != nil, Checks: checks}
	for _, s := range svcs {
		nh.ServiceIDs = append(nh.ServiceIDs, s.ID)
	}
	return nh
}

// remoteAliasSource asks a server, through the client agent's connection
// to the servers, with a blocking GET /v1/internal/node/<node>.
type remoteAliasSource struct {
	remote *remote
	wait   time.Duration
}

func (src remoteAliasSource) NodeHealth(ctx context.Context, node string, minIndex uint64) (health.NodeHealth, uint64, error) {
	q := url.Values{"stale": {""}}
	if minIndex > 0 {
		q.Set("index", strconv.FormatUint(minIndex, 10))
		q.Set("wait", src.wait.String())
	}
	u := "http://beacon-server/v1/internal/node/" + url.PathEscape(node) + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return health.NodeHealth{}, 0, err
	}
	resp, err := src.remote.client.Do(req)
	if err != nil {
		return health.NodeHealth{}, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return health.NodeHealth{}, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return health.NodeHealth{}, 0, fmt.Errorf("server: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var st httpapi.NodeState
	if err := json.Unmarshal(body, &st); err != nil {
		return health.NodeHealth{}, 0, fmt.Errorf("server: decoding node %s: %w", node, err)
	}
	idx, err := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	if err != nil {
		return health.NodeHealth{}, 0, fmt.Errorf("server: bad X-Consul-Index %q", resp.Header.Get("X-Consul-Index"))
	}
	return nodeHealth(st.Node, st.Services, st.Checks), idx, nil
}
