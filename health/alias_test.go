package health

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// fakeAliasSource is an AliasSource over nodes the test sets; a blocked
// read wakes at the next change.
type fakeAliasSource struct {
	mu      sync.Mutex // guards the following
	nodes   map[string]NodeHealth
	index   uint64
	err     error
	reads   int
	changed chan struct{}
}

func newFakeAliasSource() *fakeAliasSource {
	return &fakeAliasSource{nodes: map[string]NodeHealth{}, index: 1, changed: make(chan struct{})}
}

// set replaces node's state (nil checks and services: not registered).
func (f *fakeAliasSource) set(node string, nh NodeHealth) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes[node] = nh
	f.bumpLocked()
}

func (f *fakeAliasSource) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
	f.bumpLocked()
}

func (f *fakeAliasSource) bumpLocked() {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeAliasSource) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *fakeAliasSource) NodeHealth(ctx context.Context, node string, minIndex uint64) (NodeHealth, uint64, error) {
	for {
		f.mu.Lock()
		f.reads++
		if f.err != nil {
			err := f.err
			f.mu.Unlock()
			return NodeHealth{}, 0, err
		}
		if minIndex == 0 || f.index > minIndex {
			nh, idx := f.nodes[node], f.index
			f.mu.Unlock()
			return nh, idx, nil
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return NodeHealth{}, 0, ctx.Err()
		}
	}
}

func chk(node, id, serviceID, status, output string) *catalog.Check {
	return &catalog.Check{Node: node, CheckID: id, Name: id + " check", ServiceID: serviceID, Status: status, Output: output}
}

func TestAliasEvaluate(t *testing.T) {
	const (
		P = catalog.HealthPassing
		W = catalog.HealthWarning
		C = catalog.HealthCritical
	)
	web := NodeHealth{Found: true, ServiceIDs: []string{"web", "db"}}
	with := func(nh NodeHealth, checks ...*catalog.Check) NodeHealth {
		nh.Checks = checks
		return nh
	}
	tests := []struct {
		name       string
		alias      *Alias
		nh         NodeHealth
		wantStatus string
		wantOutput string
	}{
		{name: "service without checks", alias: &Alias{Node: "n1", ServiceID: "web"}, nh: web,
			wantStatus: P, wantOutput: "No checks found."},
		{name: "service passing", alias: &Alias{Node: "n1", ServiceID: "web"},
			nh:         with(web, chk("n1", "serfHealth", "", P, ""), chk("n1", "w", "web", P, "fine")),
			wantStatus: P, wantOutput: "All checks passing."},
		{name: "service warning", alias: &Alias{Node: "n1", ServiceID: "web"},
			nh:         with(web, chk("n1", "w1", "web", P, ""), chk("n1", "w2", "web", W, "slow")),
			wantStatus: W, wantOutput: `Aliased check "w2 check" failing: slow`},
		{name: "critical beats warning", alias: &Alias{Node: "n1", ServiceID: "web"},
			nh:         with(web, chk("n1", "w1", "web", W, "slow"), chk("n1", "w2", "web", C, "down"), chk("n1", "w3", "web", W, "")),
			wantStatus: C, wantOutput: `Aliased check "w2 check" failing: down`},
		{name: "node check counts for the service", alias: &Alias{Node: "n1", ServiceID: "web"},
			nh:         with(web, chk("n1", "serfHealth", "", C, "Agent not live or unreachable"), chk("n1", "w", "web", P, "")),
			wantStatus: C, wantOutput: `Aliased check "serfHealth check" failing: Agent not live or unreachable`},
		{name: "other services do not count", alias: &Alias{Node: "n1", ServiceID: "web"},
			nh:         with(web, chk("n1", "d", "db", C, "db down"), chk("n1", "w", "web", P, "")),
			wantStatus: P, wantOutput: "All checks passing."},
		{name: "service not registered", alias: &Alias{Node: "n1", ServiceID: "api"}, nh: web,
			wantStatus: C, wantOutput: "Service api could not be found on node n1"},
		{name: "node not registered, service alias", alias: &Alias{Node: "n9", ServiceID: "web"}, nh: NodeHealth{},
			wantStatus: C, wantOutput: "Service web could not be found on node n9"},
		{name: "node alias", alias: &Alias{Node: "n1"},
			nh:         with(web, chk("n1", "serfHealth", "", P, ""), chk("n1", "w", "web", C, "service checks do not count")),
			wantStatus: P, wantOutput: "All checks passing."},
		{name: "node alias critical", alias: &Alias{Node: "n1"},
			nh:         with(web, chk("n1", "disk", "", C, "full")),
			wantStatus: C, wantOutput: `Aliased check "disk check" failing: full`},
		{name: "node not registered", alias: &Alias{Node: "n9"}, nh: NodeHealth{},
			wantStatus: C, wantOutput: "Node n9 could not be found"},
		{name: "a node alias on its own node ignores itself", alias: &Alias{CheckID: "me", Node: "n1", OwnNode: "n1"},
			nh:         with(web, chk("n1", "me", "", C, "my own last status"), chk("n1", "serfHealth", "", P, "")),
			wantStatus: P, wantOutput: "All checks passing."},
		{name: "a check of the same ID on another node counts", alias: &Alias{CheckID: "me", Node: "n1", OwnNode: "n2"},
			nh:         with(web, chk("n1", "me", "", C, "down")),
			wantStatus: C, wantOutput: `Aliased check "me check" failing: down`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, output := tt.alias.evaluate(tt.nh)
			if status != tt.wantStatus || output != tt.wantOutput {
				t.Fatalf("evaluate = %q, %q; want %q, %q", status, output, tt.wantStatus, tt.wantOutput)
			}
		})
	}
}

// TestAliasFollowsSource: the alias reports each change of the aliased
// service as the source delivers it, and nothing while nothing changes.
func TestAliasFollowsSource(t *testing.T) {
	src := newFakeAliasSource()
	state := func(status string) NodeHealth {
		return NodeHealth{Found: true, ServiceIDs: []string{"web"}, Checks: []*catalog.Check{chk("n1", "w", "web", status, "out")}}
	}
	src.set("n1", state(catalog.HealthPassing))
	rec := &recorder{}
	c := &Alias{CheckID: "a", Node: "n1", ServiceID: "web", Source: src, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	steps := []struct {
		name       string
		change     func()
		wantStatus string
		wantOutput string
	}{
		{name: "initial", change: func() {}, wantStatus: catalog.HealthPassing, wantOutput: "All checks passing."},
		{name: "service goes critical", change: func() { src.set("n1", state(catalog.HealthCritical)) },
			wantStatus: catalog.HealthCritical, wantOutput: `Aliased check "w check" failing: out`},
		{name: "service recovers", change: func() { src.set("n1", state(catalog.HealthPassing)) },
			wantStatus: catalog.HealthPassing, wantOutput: "All checks passing."},
		{name: "service deregistered", change: func() { src.set("n1", NodeHealth{Found: true}) },
			wantStatus: catalog.HealthCritical, wantOutput: "Service web could not be found on node n1"},
		{name: "node gone", change: func() { src.set("n1", NodeHealth{}) },
			wantStatus: catalog.HealthCritical, wantOutput: "Service web could not be found on node n1"},
		{name: "back", change: func() { src.set("n1", state(catalog.HealthWarning)) },
			wantStatus: catalog.HealthWarning, wantOutput: `Aliased check "w check" failing: out`},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.change()
			var got report
			waitFor(t, st.wantStatus+": "+st.wantOutput, func() bool {
				all := rec.all()
				if len(all) == 0 {
					return false
				}
				got = all[len(all)-1]
				return got.status == st.wantStatus && got.output == st.wantOutput
			})
			if got.checkID != "a" {
				t.Fatalf("report for %q, want a", got.checkID)
			}
		})
	}
	// Node gone reports the same as service deregistered: one report for
	// the two. Six steps, five distinct results.
	if n := len(rec.all()); n != 5 {
		t.Fatalf("%d reports, want 5: %+v", n, rec.all())
	}
	// Between changes the alias waits in the source; it does not poll.
	reads := src.readCount()
	time.Sleep(50 * time.Millisecond)
	if got := src.readCount(); got != reads {
		t.Fatalf("%d reads while nothing changed", got-reads)
	}
}

// TestAliasSourceFailures: a source failing twice makes the alias
// critical; it retries with backoff and recovers when the source does.
func TestAliasSourceFailures(t *testing.T) {
	src := newFakeAliasSource()
	src.set("n1", NodeHealth{Found: true, ServiceIDs: []string{"web"}})
	rec := &recorder{}
	c := &Alias{CheckID: "a", Node: "n1", ServiceID: "web", Source: src, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	rec.waitLast(t, catalog.HealthPassing)
	src.fail(errors.New("no server reachable"))
	got := rec.waitLast(t, catalog.HealthCritical)
	if want := "Failure checking aliased node or service: no server reachable"; got.output != want {
		t.Fatalf("output = %q, want %q", got.output, want)
	}
	src.fail(nil)
	rec.waitLast(t, catalog.HealthPassing)
}

// TestAliasStopEndsABlockedRead: Stop returns while the alias waits in
// the source (TestMain's leak check sees its goroutine gone).
func TestAliasStopEndsABlockedRead(t *testing.T) {
	src := newFakeAliasSource()
	src.set("n1", NodeHealth{Found: true})
	rec := &recorder{}
	c := &Alias{CheckID: "a", Node: "n1", Source: src, Notify: rec.notify}
	c.Start()
	rec.waitReport(t)
	waitFor(t, "a blocked read", func() bool { return src.readCount() >= 2 })
	stopWithin(t, c, 5*time.Second, "Stop did not end the blocked read")
}
