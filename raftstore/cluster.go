package raftstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// Cluster formation. A server without Raft state contacts its RetryJoin
// addresses every RetryInterval, exchanging the servers each knows (so
// discovery is transitive). Once it knows BootstrapExpect servers without
// state, it bootstraps with exactly those; every such server computes the
// same set, so they all bootstrap the same configuration, once. If a server
// it reaches has bootstrapped already with a set that includes it, it
// bootstraps with that same set (identical entry at index 1, which raft
// allows), so no server of the initial set depends on replication to learn
// its cluster. Otherwise, if any server it reaches is part of a cluster, it
// asks that cluster's leader to add it as a voter. A server that has state
// already (a restart) skips all this: raft knows its peers.

func (s *Server) joinLoop() {
	defer s.wg.Done()
	if s.hasState() || (s.cfg.BootstrapExpect == 0 && len(s.cfg.RetryJoin) == 0) {
		return
	}
	for {
		if s.hasState() || s.joinRound() {
			return
		}
		select {
		case <-time.After(s.cfg.RetryInterval):
		case <-s.shutdownCh:
			return
		}
	}
}

// joinRound runs one round of discovery; it reports whether this server is
// now part of a cluster.
func (s *Server) joinRound() bool {
	var (
		via  string
		boot []Peer
	)
	for _, addr := range s.cfg.RetryJoin {
		if addr == s.self.Addr {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RPCTimeout)
		var resp StatusResponse
		err := s.pool.call(ctx, addr, "Status", &StatusRequest{From: s.self, Known: s.knownPeers()}, &resp)
		cancel()
		if err != nil {
			s.log.Debug("retry-join: server unreachable", "addr", addr, "error", err)
			continue
		}
		s.mergeKnown(append(resp.Known, resp.Self))
		if resp.HasState && via == "" {
			via = addr
		}
		if boot == nil && containsPeer(resp.Bootstrap, s.self) {
			boot = resp.Bootstrap
		}
	}
	if s.hasState() {
		return true
	}
	if boot != nil {
		return s.bootstrapWith(boot)
	}
	if via != "" {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RPCTimeout)
		defer cancel()
		if err := s.membership(ctx, MembershipRequest{Op: "join", Peer: s.self}, via); err != nil {
			s.log.Info("retry-join: join failed, will retry", "via", via, "error", err)
			return false
		}
		s.log.Info("joined cluster", "via", via)
		return true
	}
	known := s.knownPeers()
	if s.cfg.BootstrapExpect == 0 || len(known) < s.cfg.BootstrapExpect {
		return false
	}
	return s.bootstrapWith(known)
}

func (s *Server) bootstrapWith(peers []Peer) bool {
	var conf raft.Configuration
	for _, p := range peers {
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
	}
	err := s.awaitFor(s.cfg.RPCTimeout, s.raft.BootstrapCluster(conf))
	if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		s.log.Error("bootstrap failed", "error", err)
		return false
	}
	s.bootstrap.Store(true)
	s.mu.Lock()
	s.bootstrapSet = peers
	s.mu.Unlock()
	s.log.Info("bootstrapped cluster", "servers", len(peers))
	return true
}

// advertisedBootstrap returns the set this server bootstrapped with while
// the cluster's configuration is still exactly that set, and nil otherwise:
// once membership has changed (a server removed, added or moved), a server
// without state must join the cluster as it is now, not bootstrap with its
// original, stale configuration.
func (s *Server) advertisedBootstrap() []Peer {
	s.mu.Lock()
	boot := s.bootstrapSet
	s.mu.Unlock()
	if boot == nil {
		return nil
	}
	servers, _, err := s.Configuration()
	if err != nil || len(servers) != len(boot) {
		return nil
	}
	for _, srv := range servers {
		if !srv.Voter || !containsPeer(boot, Peer{ID: srv.ID, Addr: srv.Address}) {
			return nil
		}
	}
	return boot
}

func containsPeer(peers []Peer, p Peer) bool {
	for _, q := range peers {
		if q == p {
			return true
		}
	}
	return false
}

// hasState reports whether this server is part of a cluster: it had Raft
// state at start, bootstrapped, or has received a configuration.
func (s *Server) hasState() bool {
	if s.bootstrap.Load() {
		return true
	}
	f := s.raft.GetConfiguration()
	if s.awaitFor(s.cfg.RPCTimeout, f) == nil && len(f.Configuration().Servers) > 0 {
		s.bootstrap.Store(true)
		return true
	}
	return false
}

func (s *Server) knownPeers() []Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Peer, 0, len(s.known))
	for _, p := range s.known {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) mergeKnown(peers []Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range peers {
		if p.ID != "" && p.Addr != "" {
			s.known[p.ID] = p
		}
	}
}

// status answers a Status RPC, learning of the caller and its peers.
func (s *Server) status(req *StatusRequest) StatusResponse {
	s.mergeKnown(append(req.Known, req.From))
	return StatusResponse{Self: s.self, HasState: s.hasState(), Leader: s.Leader().Addr, Known: s.knownPeers(), Bootstrap: s.advertisedBootstrap()}
}

// membership runs a membership change on the leader: directly when this
// server leads, otherwise through via (or the known leader when via is
// empty), which forwards it to its leader.
func (s *Server) membership(ctx context.Context, req MembershipRequest, via string) error {
	for {
		if via == "" && s.IsLeader() {
			return s.membershipLocal(&req)
		}
		target := via
		if target == "" {
			target = s.Leader().Addr
		}
		if target != "" {
			var resp MembershipResponse
			err := s.pool.call(ctx, target, "Membership", &req, &resp)
			switch {
			case err != nil:
				return err
			case resp.ErrMsg != "":
				return errors.New(resp.ErrMsg)
			case !resp.NotLeader:
				return nil
			}
			if via != "" {
				// via is not the leader: ask it who is.
				var st StatusResponse
				if err := s.pool.call(ctx, via, "Status", &StatusRequest{From: s.self}, &st); err == nil && st.Leader != "" {
					via = st.Leader
					continue
				}
			}
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-s.shutdownCh:
			return ErrShutdown
		}
	}
}

// membershipLocal applies a membership change on the leader.
func (s *Server) membershipLocal(req *MembershipRequest) error {
	servers, _, err := s.Configuration()
	if err != nil {
		return err
	}
	p := req.Peer
	switch req.Op {
	case "join":
		for _, srv := range servers {
			switch {
			case srv.ID == p.ID && srv.Address == p.Addr:
				return nil // already a member
			case srv.ID == p.ID || srv.Address == p.Addr:
				// the same server under a new address, or a new server on
				// an old address: drop the stale entry first.
				if err := s.awaitFor(s.cfg.ApplyTimeout, s.raft.RemoveServer(raft.ServerID(srv.ID), 0, 0)); err != nil {
					return fmt.Errorf("remove stale server %s: %w", srv.ID, err)
				}
			}
		}
		return s.awaitFor(s.cfg.ApplyTimeout, s.raft.AddVoter(raft.ServerID(p.ID), raft.ServerAddress(p.Addr), 0, 0))
	case "remove":
		for _, srv := range servers {
			if (p.ID != "" && srv.ID == p.ID) || (p.ID == "" && srv.Address == p.Addr) {
				return s.awaitFor(s.cfg.ApplyTimeout, s.raft.RemoveServer(raft.ServerID(srv.ID), 0, 0))
			}
		}
		return nil // not (or no longer) a member: removal is idempotent
	case "transfer":
		if p.ID == "" {
			return s.awaitFor(s.cfg.ApplyTimeout, s.raft.LeadershipTransfer())
		}
		for _, srv := range servers {
			if srv.ID == p.ID {
				return s.awaitFor(s.cfg.ApplyTimeout, s.raft.LeadershipTransferToServer(raft.ServerID(srv.ID), raft.ServerAddress(srv.Address)))
			}
		}
		return fmt.Errorf("server %q is not a member", p.ID)
	}
	return fmt.Errorf("unknown membership operation %q", req.Op)
}

// ServerInfo is one member of the Raft configuration.
type ServerInfo struct {
	ID      string
	Address string
	Voter   bool
	Leader  bool
}

// Configuration returns the Raft configuration this server holds and its
// index.
func (s *Server) Configuration() ([]ServerInfo, uint64, error) {
	f := s.raft.GetConfiguration()
	if err := s.awaitFor(s.cfg.RPCTimeout, f); err != nil {
		return nil, 0, err
	}
	leader := s.Leader().ID
	var out []ServerInfo
	for _, srv := range f.Configuration().Servers {
		out = append(out, ServerInfo{ID: string(srv.ID), Address: string(srv.Address), Voter: srv.Suffrage == raft.Voter, Leader: string(srv.ID) == leader})
	}
	// The future's Index is not filled in by raft; its stats carry the
	// latest configuration's index.
	idx, _ := strconv.ParseUint(s.raft.Stats()["latest_configuration_index"], 10, 64)
	return out, idx, nil
}

// Join asks the cluster reachable at addr to add this server as a voter.
func (s *Server) Join(ctx context.Context, addr string) error {
	return s.membership(ctx, MembershipRequest{Op: "join", Peer: s.self}, addr)
}

// RemoveServer removes a server (by ID, or by address when ID is empty)
// from the cluster, as an operator does for a dead server.
func (s *Server) RemoveServer(ctx context.Context, p Peer) error {
	return s.membership(ctx, MembershipRequest{Op: "remove", Peer: p}, "")
}

// TransferLeadership asks the leader to hand leadership to the server with
// the given ID (any suitable one when empty).
func (s *Server) TransferLeadership(ctx context.Context, id string) error {
	return s.membership(ctx, MembershipRequest{Op: "transfer", Peer: Peer{ID: id}}, "")
}

// Leave removes this server from the cluster gracefully: a leader first
// hands leadership over, then the leader removes this server. It returns
// once the leader has committed the removal (this server may never see
// that entry: the leader stops replicating to it); call Shutdown after.
func (s *Server) Leave(ctx context.Context) error {
	servers, _, err := s.Configuration()
	if err != nil {
		return err
	}
	if len(servers) <= 1 {
		return nil
	}
	if s.IsLeader() {
		if err := s.await(ctx, s.raft.LeadershipTransfer()); err != nil {
			s.log.Warn("leadership transfer before leave failed; removing self as leader", "error", err)
		}
	}
	for {
		err := s.membership(ctx, MembershipRequest{Op: "remove", Peer: s.self}, "")
		if err == nil {
			s.log.Info("left cluster")
			return nil
		}
		// Others may be leaving at the same time: once this server is
		// the last one (or no longer a member), there is nothing to leave.
		if servers, _, cerr := s.Configuration(); cerr == nil && (len(servers) <= 1 || !slices.ContainsFunc(servers, func(si ServerInfo) bool { return si.ID == s.self.ID })) {
			return nil
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("leave: %w (last error: %v)", ctx.Err(), err)
		}
	}
}
