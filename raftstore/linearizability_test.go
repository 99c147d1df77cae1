package raftstore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/internal/testcluster"
	"github.com/beacon-sd/beacon/raftstore"
)

// The KV register workload: every write stores a value unique to it, so a
// CAS on a key's ModifyIndex (what the store offers) is a CAS on its value
// (what the model checks).

type regInput struct {
	Op       string // "get", "put", "cas"
	Key      string
	Value    string // put/cas: new value
	Expected string // cas: the value read before ("" = absent)
}

type regOutput struct {
	Value   string // get: the value read ("" = absent)
	OK      bool   // cas: whether it swapped
	Unknown bool   // write whose outcome is unknown
}

var registerModel = porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(regInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() []any { return []any{""} },
	Step: func(state, input, output any) []any {
		st, in, out := state.(string), input.(regInput), output.(regOutput)
		switch in.Op {
		case "get":
			if out.Value == st {
				return []any{st}
			}
			return nil
		case "put":
			if out.Unknown {
				return []any{in.Value, st} // it may or may not have happened
			}
			return []any{in.Value}
		default: // cas
			switch {
			case out.Unknown && st == in.Expected:
				return []any{in.Value, st}
			case out.Unknown:
				return []any{st}
			case out.OK && st == in.Expected:
				return []any{in.Value}
			case !out.OK && st != in.Expected:
				return []any{st}
			}
			return nil
		}
	},
	Equal: func(a, b any) bool { return a == b },
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		switch {
		case in.Op == "get":
			return fmt.Sprintf("get(%s) -> %q", in.Key, out.Value)
		case out.Unknown:
			return fmt.Sprintf("%s(%s, %q, exp %q) -> ?", in.Op, in.Key, in.Value, in.Expected)
		}
		return fmt.Sprintf("%s(%s, %q, exp %q) -> %v", in.Op, in.Key, in.Value, in.Expected, out.OK)
	},
}

// history records operations from concurrent clients.
type history struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

type regClient struct {
	id   int
	c    *testcluster.Cluster
	h    *history
	rng  *rand.Rand
	seq  int
	keys []string
}

// server picks a random live server.
func (rc *regClient) server() *raftstore.Server {
	for range 10 {
		if s := rc.c.Server(rc.rng.IntN(len(rc.c.Members))); s != nil {
			return s
		}
	}
	return nil
}

// get does a consistent read; it returns ok=false (and records nothing)
// when the read failed, which has no effect to model.
func (rc *regClient) get(key string) (*catalog.KVEntry, bool) {
	s := rc.server()
	if s == nil {
		return nil, false
	}
	call := rc.h.now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := s.Read(ctx, raftstore.Consistent); err != nil {
		return nil, false
	}
	var e *catalog.KVEntry
	if err := s.Store().View(func(tx *catalog.ReadTx) error { e, _ = tx.KV(key); return nil }); err != nil {
		return nil, false
	}
	val := ""
	if e != nil {
		val = string(e.Value)
	}
	rc.h.add(porcupine.Operation{ClientId: rc.id, Input: regInput{Op: "get", Key: key}, Call: call, Output: regOutput{Value: val}, Return: rc.h.now()})
	return e, true
}

// write applies cmd and records it; a write that certainly did not apply
// (no leader) is not recorded, one with an unknown outcome is recorded as
// possibly taking effect at any time after its call.
func (rc *regClient) write(in regInput, cmd catalog.Command) {
	s := rc.server()
	if s == nil {
		return
	}
	call := rc.h.now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	res, err := s.Apply(ctx, cmd)
	cancel()
	ret := rc.h.now()
	out := regOutput{OK: res.OK}
	switch {
	case err == nil:
	case errors.Is(err, raftstore.ErrNoLeader):
		return
	default:
		out, ret = regOutput{Unknown: true}, math.MaxInt64
	}
	rc.h.add(porcupine.Operation{ClientId: rc.id, Input: in, Call: call, Output: out, Return: ret})
	if out.Unknown {
		// Back off as a real client would. Against a killed or cut-off
		// server a write fails at once, and a client retrying in a tight
		// loop piled up over a thousand unknown outcomes in 6 s; each may
		// take effect at any later time, and that many made the checker
		// run out of time.
		time.Sleep(time.Duration(50+rc.rng.IntN(50)) * time.Millisecond)
	}
}

func (rc *regClient) step() {
	key := rc.keys[rc.rng.IntN(len(rc.keys))]
	rc.seq++
	val := fmt.Sprintf("c%d-%d", rc.id, rc.seq)
	switch r := rc.rng.IntN(10); {
	case r < 4:
		rc.get(key)
	case r < 7:
		rc.write(regInput{Op: "put", Key: key, Value: val}, put(key, val))
	default:
		e, ok := rc.get(key)
		if !ok {
			return
		}
		in := regInput{Op: "cas", Key: key, Value: val}
		cmd := &catalog.KVRequest{Op: catalog.KVCAS, Entry: catalog.KVEntry{Key: key, Value: []byte(val)}}
		if e != nil {
			in.Expected, cmd.Entry.ModifyIndex = string(e.Value), e.ModifyIndex
		}
		rc.write(in, cmd)
	}
}

// nemesis kills and restarts the leader and partitions a random server,
// one fault at a time, until stop closes.
func nemesis(c *testcluster.Cluster, rng *rand.Rand, stop <-chan struct{}, t *testing.T) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(300+rng.IntN(400)) * time.Millisecond):
		}
		switch rng.IntN(3) {
		case 0:
			if l := c.Leader(); l != nil {
				t.Logf("nemesis: kill leader %s", l.ID)
				c.Kill(l.Index)
				time.Sleep(time.Duration(200+rng.IntN(500)) * time.Millisecond)
				c.Restart(l.Index)
			}
		case 1:
			i := rng.IntN(len(c.Members))
			t.Logf("nemesis: partition %s", c.Members[i].ID)
			c.Partition(i)
			time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
			c.Heal()
		default:
			if l := c.Leader(); l != nil {
				t.Logf("nemesis: partition leader %s", l.ID)
				c.Partition(l.Index)
				time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
				c.Heal()
			}
		}
	}
}

func TestLinearizableUnderFaults(t *testing.T) {
	duration := 6 * time.Second
	if os.Getenv("BEACON_SOAK") != "" {
		duration = 60 * time.Second
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	c := testcluster.New(t, 3)
	h := &history{start: time.Now()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for id := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := &regClient{id: id, c: c, h: h, rng: rand.New(rand.NewPCG(seed, uint64(id))), keys: []string{"a", "b", "c"}}
			for {
				select {
				case <-stop:
					return
				default:
					rc.step()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		nemesis(c, rand.New(rand.NewPCG(seed, 99)), stop, t)
	}()
	time.Sleep(duration)
	close(stop)
	wg.Wait()
	for i := range c.Members {
		if c.Server(i) == nil {
			c.Restart(i)
		}
	}
	c.Heal()

	known := 0
	for _, op := range h.ops {
		if !op.Output.(regOutput).Unknown {
			known++
		}
	}
	t.Logf("history: %d operations (%d with a known outcome)", len(h.ops), known)
	if known < 50 {
		t.Fatalf("only %d operations completed: the workload did not exercise the cluster", known)
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel.ToModel(), h.ops, 60*time.Second)
	switch res {
	case porcupine.Ok:
	case porcupine.Illegal:
		path := filepath.Join(os.TempDir(), fmt.Sprintf("beacon-lin-%d.html", seed))
		if err := porcupine.VisualizePath(registerModel.ToModel(), info, path); err != nil {
			path = "(visualization failed: " + err.Error() + ")"
		}
		t.Fatalf("history is not linearizable (seed %d); visualization: %s", seed, path)
	default:
		t.Fatalf("linearizability check did not finish in 60s (result %s, seed %d, %d operations)", res, seed, len(h.ops))
	}
}
