package raftstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/testcluster"
	"github.com/beacon-sd/beacon/raftstore"
)

// hookLog records what a server's leadership hook was told.
type hookLog struct {
	mu    sync.Mutex
	calls []bool
}

func (h *hookLog) record(leading bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, leading)
}

func (h *hookLog) get() []bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

func (h *hookLog) last() (leading, ok bool) {
	c := h.get()
	if len(c) == 0 {
		return false, false
	}
	return c[len(c)-1], true
}

func TestCallLeaderAndLeadershipHooks(t *testing.T) {
	c := testcluster.New(t, 3)
	leader := c.WaitLeader()
	hooks := make([]*hookLog, len(c.Members))
	for i, m := range c.Members {
		hooks[i] = &hookLog{}
		id := m.ID
		m.Server.HandleLeader(func(_ context.Context, method string, body []byte) ([]byte, error) {
			if method == "fail" {
				return nil, errors.New("refused: " + string(body))
			}
			return []byte(id + ":" + string(body)), nil
		})
		m.Server.OnLeadership(hooks[i].record)
	}
	// The current leader is told at once; the others hear nothing.
	c.Eventually(5*time.Second, func() error {
		if l, ok := hooks[leader.Index].last(); !ok || !l {
			return fmt.Errorf("leader's hook calls = %v, want [true]", hooks[leader.Index].get())
		}
		return nil
	})
	for _, f := range c.Followers() {
		if calls := hooks[f.Index].get(); len(calls) != 0 {
			t.Fatalf("follower %s's hook was called: %v", f.ID, calls)
		}
	}

	// Every server's call runs on the leader.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range c.Members {
		out, err := m.Server.CallLeader(ctx, "echo", []byte("hi"))
		if err != nil || string(out) != leader.ID+":hi" {
			t.Fatalf("CallLeader via %s = %q, %v; want %q", m.ID, out, err, leader.ID+":hi")
		}
		if _, err := m.Server.CallLeader(ctx, "fail", []byte("x")); err == nil || err.Error() != "refused: x" {
			t.Fatalf("a LeaderFunc's error via %s = %v, want it as is", m.ID, err)
		}
	}
	if err := leader.Server.VerifyLeader(ctx); err != nil {
		t.Fatalf("VerifyLeader on the leader: %v", err)
	}
	if err := c.Followers()[0].Server.VerifyLeader(ctx); !errors.Is(err, raftstore.ErrNotLeader) {
		t.Fatalf("VerifyLeader on a follower = %v, want ErrNotLeader", err)
	}

	// A leadership transfer: the old leader is told false, the new one
	// true, and calls follow the new leader.
	if err := leader.Server.TransferLeadership(ctx, ""); err != nil {
		t.Fatal(err)
	}
	var next *testcluster.Member
	c.Eventually(10*time.Second, func() error {
		next = c.Leader()
		if next == nil || next.ID == leader.ID {
			return errors.New("no new leader yet")
		}
		if l, ok := hooks[next.Index].last(); !ok || !l {
			return fmt.Errorf("new leader's hook calls = %v", hooks[next.Index].get())
		}
		return nil
	})
	if got := hooks[leader.Index].get(); !slices.Equal(got, []bool{true, false}) {
		t.Fatalf("old leader's hook calls = %v, want [true false]", got)
	}
	c.Eventually(5*time.Second, func() error {
		for _, m := range c.Members {
			out, err := m.Server.CallLeader(ctx, "echo", []byte("again"))
			if err != nil || string(out) != next.ID+":again" {
				return fmt.Errorf("CallLeader via %s = %q, %v", m.ID, out, err)
			}
		}
		return nil
	})
}

func TestCallLeaderWithoutQuorumGivesUp(t *testing.T) {
	c := testcluster.New(t, 3)
	leader := c.WaitLeader()
	for _, m := range c.Members {
		m.Server.HandleLeader(func(context.Context, string, []byte) ([]byte, error) { return []byte("ok"), nil })
	}
	// The old leader alone in a minority: it cannot confirm it leads, so
	// it must not expire anything.
	c.Partition(leader.Index)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := leader.Server.VerifyLeader(ctx); err == nil {
		t.Fatal("VerifyLeader succeeded on a leader cut off from its quorum")
	}
	// Once it has stepped down, a call from it finds no leader and gives up
	// when its context ends.
	c.Eventually(10*time.Second, func() error {
		if leader.Server.IsLeader() {
			return errors.New("still leader")
		}
		return nil
	})
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if _, err := leader.Server.CallLeader(short, "echo", nil); !errors.Is(err, raftstore.ErrNoLeader) {
		t.Fatalf("CallLeader from a partitioned server = %v, want ErrNoLeader", err)
	}
	c.Heal()
}
