package agent

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// TestShutdownEndsBlockingQueries: a shutdown does not wait for blocking
// queries to run out their wait (up to 10 min), which would make every
// shutdown take its whole grace period while a watcher is connected.
func TestShutdownEndsBlockingQueries(t *testing.T) {
	a := startDev(t)
	c := consulClient(t, a)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web", Name: "web"}); err != nil {
		t.Fatal(err)
	}
	_, meta, err := c.KV().Get("watched", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, qm, err := c.Agent().Service("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	queries := map[string]func() error{
		"kv ?index": func() error {
			_, _, err := c.KV().Get("watched", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
			return err
		},
		"agent service ?hash": func() error {
			_, _, err := c.Agent().Service("web", &api.QueryOptions{WaitHash: qm.LastContentHash, WaitTime: time.Minute})
			return err
		},
	}
	done := make(chan string, len(queries))
	for name, query := range queries {
		go func() {
			query()
			done <- name
		}()
	}
	select {
	case name := <-done:
		t.Fatalf("blocking query %s returned before any change", name)
	case <-time.After(200 * time.Millisecond): // long enough for both to be waiting
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	a.Shutdown(ctx, false)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("shutdown took %v with blocking queries in flight", d)
	}
	for range queries {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("a blocking query is still waiting after the shutdown")
		}
	}
}
