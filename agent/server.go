package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/beacon-sd/beacon/agent/httpapi"
	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/raftstore"
)

// serverStore adapts a raftstore.Server to httpapi.Store and httpapi.Cluster.
type serverStore struct {
	s *raftstore.Server
}

var (
	_ httpapi.Store   = serverStore{}
	_ httpapi.Cluster = serverStore{}
)

func (a serverStore) Apply(ctx context.Context, cmd catalog.Command) (catalog.Result, error) {
	return a.s.Apply(ctx, cmd)
}

func (a serverStore) Read(ctx context.Context, mode httpapi.Consistency) (httpapi.ReadInfo, error) {
	m := raftstore.Default
	switch mode {
	case httpapi.Stale:
		m = raftstore.Stale
	case httpapi.Consistent:
		m = raftstore.Consistent
	}
	info, err := a.s.Read(ctx, m)
	return httpapi.ReadInfo{KnownLeader: info.KnownLeader, LastContact: info.LastContact}, err
}

func (a serverStore) View(fn func(*catalog.ReadTx) error) error { return a.s.Store().View(fn) }

func (a serverStore) Hub() *catalog.WatchHub { return a.s.Store().Hub() }

func (a serverStore) Leader() string { return a.s.Leader().Addr }

func (a serverStore) Configuration() ([]httpapi.RaftServer, uint64, error) {
	servers, index, err := a.s.Configuration()
	if err != nil {
		return nil, 0, err
	}
	out := make([]httpapi.RaftServer, len(servers))
	for i, s := range servers {
		out[i] = httpapi.RaftServer{ID: s.ID, Node: s.ID, Address: s.Address, Leader: s.Leader, Voter: s.Voter}
	}
	return out, index, nil
}

func (a serverStore) RemovePeer(ctx context.Context, id, address string) error {
	servers, _, err := a.s.Configuration()
	if err != nil {
		return err
	}
	for _, s := range servers {
		if (id != "" && s.ID == id) || (id == "" && s.Address == address) {
			return a.s.RemoveServer(ctx, raftstore.Peer{ID: s.ID, Addr: s.Address})
		}
	}
	if id != "" {
		return fmt.Errorf("id %q was not found in the Raft configuration", id)
	}
	return fmt.Errorf("address %q was not found in the Raft configuration", address)
}

func (a serverStore) TransferLeader(ctx context.Context, id string) error {
	return a.s.TransferLeadership(ctx, id)
}

func (a serverStore) Snapshot(ctx context.Context, w io.Writer) (uint64, error) {
	if _, err := a.s.Read(ctx, raftstore.Default); err != nil {
		return 0, err
	}
	return a.s.SnapshotTo(w)
}

// Restore runs on the leader; a follower streams the snapshot to the
// leader's API over the server port.
func (a serverStore) Restore(ctx context.Context, r io.Reader) error {
	err := a.s.Restore(ctx, r)
	if !errors.Is(err, raftstore.ErrNotLeader) {
		return err
	}
	leader := a.s.Leader().Addr
	if leader == "" {
		return raftstore.ErrNoLeader
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://beacon-server/v1/snapshot", r)
	if err != nil {
		return err
	}
	resp, err := serverHTTPClient(func(ctx context.Context) (net.Conn, error) {
		return raftstore.DialHTTP(ctx, raftstore.TCP{}, leader)
	}).Do(req)
	if err != nil {
		return fmt.Errorf("forward restore to leader %s: %w", leader, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("leader %s: %s", leader, bytes.TrimSpace(msg))
	}
	return nil
}

// serverHTTPClient is an HTTP client whose connections come from dial.
func serverHTTPClient(dial func(ctx context.Context) (net.Conn, error)) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return dial(ctx)
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// NodeState reads a node's catalog entries (for anti-entropy) from the
// leader's state.
func (a serverStore) NodeState(ctx context.Context, node string) (*catalog.Node, []*catalog.Service, []*catalog.Check, error) {
	if _, err := a.s.Read(ctx, raftstore.Default); err != nil {
		return nil, nil, nil, err
	}
	var (
		n      *catalog.Node
		svcs   []*catalog.Service
		checks []*catalog.Check
	)
	err := a.s.Store().View(func(tx *catalog.ReadTx) error {
		n, svcs, _ = tx.NodeServices(node)
		checks, _ = tx.NodeChecks(node)
		return tx.Err()
	})
	return n, svcs, checks, err
}
