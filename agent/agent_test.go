package agent

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/configs"
)

// startDev starts a dev agent on ephemeral ports.
func startDev(t *testing.T, extra ...string) *Agent {
	t.Helper()
	args := append([]string{"-dev", "-http-port", "0", "-server-port", "0", "-dns-port", "-1"}, extra...)
	cfg, err := configs.LoadArgs(args, io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background(), false) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

func consulClient(t *testing.T, a *Agent) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDevAgentServesKV(t *testing.T) {
	a := startDev(t)
	kv := consulClient(t, a).KV()
	if _, err := kv.Put(&api.KVPair{Key: "hello", Value: []byte("world")}, nil); err != nil {
		t.Fatalf("put: %v", err)
	}
	p, meta, err := kv.Get("hello", nil)
	if err != nil || p == nil || string(p.Value) != "world" {
		t.Fatalf("get = %+v, %v", p, err)
	}
	if meta.LastIndex == 0 || !meta.KnownLeader {
		t.Fatalf("meta = %+v", meta)
	}
}
