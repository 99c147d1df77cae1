package health

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// NodeHealth is what an alias check reads of one node in the catalog.
type NodeHealth struct {
	Found      bool             // the node is registered
	ServiceIDs []string         // the IDs of its service instances
	Checks     []*catalog.Check // its checks: its own and its services'
}

// AliasSource is the catalog as alias checks read it; the agent
// implements it over its server's store or, on a client agent, over a
// server's API.
//
// NodeHealth is a blocking read. With minIndex 0 it returns at once;
// otherwise it returns when the index of the node's entries (its
// registration, services or checks) moves past minIndex, or after a wait
// of the implementation's choosing (about a minute) with the unchanged
// state, or with ctx's error when ctx ends. The index it returns is the
// minIndex of the next call. Each alias check calls it from its own
// goroutine: it must be safe for concurrent use.
type AliasSource interface {
	NodeHealth(ctx context.Context, node string, minIndex uint64) (NodeHealth, uint64, error)
}

// Default backoff of an alias check whose source fails.
const (
	DefaultAliasRetryMin = time.Second
	DefaultAliasRetryMax = time.Minute
)

// Alias mirrors the health of a service instance or of a node, as
// Consul's CheckAlias does. With ServiceID set it is the worst status
// among that instance's checks and Node's node-level checks (critical if
// the instance is not registered on Node); with ServiceID empty, the
// worst among Node's node-level checks (critical if Node is not
// registered). The output names the first failing check, or says that
// all checks pass. It follows the catalog through Source with blocking
// reads, so it changes as soon as the aliased checks do; it has no
// interval and ignores Thresholds. When Source fails twice in a row it
// reports critical, and retries with exponential backoff.
//
// Fields must be set before Start and not changed after.
type Alias struct {
	CheckID   string
	Node      string // the node to mirror (required)
	ServiceID string // the service instance on Node to mirror; "": Node itself
	// OwnNode is the node this check is registered on: there, the check
	// leaves itself out of what it mirrors.
	OwnNode            string
	Source             AliasSource
	RetryMin, RetryMax time.Duration // default DefaultAliasRetryMin, …Max
	Notify             Notify

	mu   sync.Mutex // guards loop
	loop *loop
}

// Start begins following the aliased checks. Calling Start twice without
// Stop is a no-op.
func (c *Alias) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{cancel: cancel, done: make(chan struct{})}
	rep := &reporter{checkID: c.CheckID, notify: c.Notify}
	go func() {
		defer close(l.done)
		c.run(ctx, rep)
	}()
	c.loop = l
}

// Stop ends the check and waits for its goroutine; no report is made
// after Stop returns. It must not be called from Notify.
func (c *Alias) Stop() {
	c.mu.Lock()
	l := c.loop
	c.mu.Unlock()
	l.stop()
}

func (c *Alias) run(ctx context.Context, rep *reporter) {
	retryMin, retryMax := c.RetryMin, c.RetryMax
	if retryMin <= 0 {
		retryMin = DefaultAliasRetryMin
	}
	if retryMax < retryMin {
		retryMax = max(DefaultAliasRetryMax, retryMin)
	}
	var index uint64
	failures := 0
	for {
		nh, idx, err := c.Source.NodeHealth(ctx, c.Node, index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			if failures > 1 {
				rep.result(catalog.HealthCritical, fmt.Sprintf("Failure checking aliased node or service: %s", err))
			}
			wait := min(retryMin<<min(failures-1, 30), retryMax)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		}
		failures = 0
		if idx < index {
			index = 0 // the index went backwards (a restore): read afresh
		} else {
			index = max(idx, 1) // never 0 again: that would not block
		}
		rep.result(c.evaluate(nh))
	}
}

// evaluate computes the status and output from the aliased node's state,
// with Consul's outputs.
func (c *Alias) evaluate(nh NodeHealth) (status, output string) {
	if !nh.Found {
		if c.ServiceID == "" {
			return catalog.HealthCritical, fmt.Sprintf("Node %s could not be found", c.Node)
		}
		return catalog.HealthCritical, fmt.Sprintf("Service %s could not be found on node %s", c.ServiceID, c.Node)
	}
	if c.ServiceID != "" && !slices.Contains(nh.ServiceIDs, c.ServiceID) {
		return catalog.HealthCritical, fmt.Sprintf("Service %s could not be found on node %s", c.ServiceID, c.Node)
	}
	status, output = catalog.HealthPassing, "No checks found."
	for _, chk := range nh.Checks {
		switch {
		case !strings.EqualFold(chk.Node, c.Node),
			chk.ServiceID != "" && chk.ServiceID != c.ServiceID,
			chk.CheckID == c.CheckID && strings.EqualFold(c.Node, c.OwnNode):
			continue
		}
		switch chk.Status {
		case catalog.HealthCritical:
			return chk.Status, fmt.Sprintf("Aliased check %q failing: %s", chk.Name, chk.Output)
		case catalog.HealthWarning:
			if status != catalog.HealthWarning {
				status, output = chk.Status, fmt.Sprintf("Aliased check %q failing: %s", chk.Name, chk.Output)
			}
		default:
			if status == catalog.HealthPassing {
				output = "All checks passing."
			}
		}
	}
	return status, output
}
