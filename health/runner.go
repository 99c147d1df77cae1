package health

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// DefaultTimeout bounds one HTTP, TCP, UDP, gRPC or H2PING probe when the
// check sets none. Script checks have DefaultScriptTimeout instead.
const DefaultTimeout = 10 * time.Second

// timeoutOr is timeout, or def when timeout is not positive (unset).
func timeoutOr(timeout, def time.Duration) time.Duration {
	if timeout <= 0 {
		return def
	}
	return timeout
}

// Thresholds delay status changes until a result repeats, as Consul's
// success_before_passing, failures_before_warning and
// failures_before_critical do. Zero values change the status at the
// first result. FailuresBeforeWarning defaults to FailuresBeforeCritical.
type Thresholds struct {
	SuccessBeforePassing   int
	FailuresBeforeWarning  int
	FailuresBeforeCritical int
}

// reporter applies thresholds to probe results and calls notify only when
// the reported status or output changes. It is used by one goroutine.
type reporter struct {
	checkID    string
	thresholds Thresholds
	notify     Notify

	successes, failures int
	reported            bool
	status, output      string
}

// result records one probe's outcome.
func (r *reporter) result(status, output string) {
	output = Truncate(output)
	th := r.thresholds
	warnAfter := th.FailuresBeforeWarning
	if warnAfter == 0 {
		warnAfter = th.FailuresBeforeCritical
	}
	if status != catalog.HealthCritical {
		r.successes++
		r.failures = 0
		if r.successes < th.SuccessBeforePassing {
			return
		}
	} else {
		r.failures++
		r.successes = 0
		switch {
		case r.failures >= th.FailuresBeforeCritical:
		case r.failures >= warnAfter:
			status = catalog.HealthWarning
		default:
			return
		}
	}
	if r.reported && status == r.status && output == r.output {
		return
	}
	r.reported, r.status, r.output = true, status, output
	r.notify(r.checkID, status, output)
}

// probeFunc runs one check and returns its status and output.
type probeFunc func(ctx context.Context) (status, output string)

// loop runs a probe every interval, the first one after a random offset
// in [0, interval) so that checks registered together do not align.
type loop struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func startLoop(interval time.Duration, probe probeFunc, rep *reporter) *loop {
	if interval <= 0 {
		interval = time.Second // validation rejects this; never spin
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTimer(rand.N(interval))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			status, output := probe(ctx)
			if ctx.Err() != nil {
				return // stopped mid-probe: the result is an artefact
			}
			rep.result(status, output)
			t.Reset(interval)
		}
	}()
	return l
}

// stop ends the loop, aborting a probe in progress, and waits for it: no
// report is made after stop returns. It must not be called from Notify.
func (l *loop) stop() {
	if l == nil {
		return
	}
	l.once.Do(l.cancel)
	<-l.done
}

// prober is the lifecycle the interval-driven runners (HTTP, TCP, UDP,
// GRPC, H2Ping, Script) share: each embeds it, builds its probe in Start
// and passes it to begin, and gets Stop from it. Its zero value has not
// begun.
type prober struct {
	mu   sync.Mutex // guards loop
	loop *loop
}

// begin starts running probe every interval, its results reported for
// checkID through a reporter with th and notify. It is a no-op when
// probing has begun already, even if it has since been stopped.
func (p *prober) begin(checkID string, interval time.Duration, th Thresholds, notify Notify, probe probeFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.loop != nil {
		return
	}
	rep := &reporter{checkID: checkID, thresholds: th, notify: notify}
	p.loop = startLoop(interval, probe, rep)
}

// Stop ends probing and waits for a probe in progress to be abandoned; no
// report is made after Stop returns. It must not be called from Notify.
func (p *prober) Stop() {
	p.mu.Lock()
	l := p.loop
	p.mu.Unlock()
	l.stop()
}
