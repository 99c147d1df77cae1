package health

import (
	"sync"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// TTLExpiredOutput is the output a TTL check reports when it expires.
const TTLExpiredOutput = "TTL expired"

// TTL is a check whose status the application pushes through the agent
// (pass, warn, fail, update): the agent's local state records the status
// and calls Extend; when no update arrives within TTL, the check reports
// critical with output TTLExpiredOutput. It needs no goroutine of its own,
// only a timer.
//
// Fields must be set before Start and not changed after. Methods are safe
// for concurrent use.
type TTL struct {
	CheckID string
	TTL     time.Duration
	Notify  Notify

	mu      sync.Mutex // guards the following
	timer   *time.Timer
	expires time.Time
	stopped bool
}

// Start arms the check for one TTL from now.
func (t *TTL) Start() { t.StartUntil(time.Now().Add(t.TTL)) }

// StartUntil arms the check to expire at expires (a state restored after a
// restart); an expiry in the past reports at once.
func (t *TTL) StartUntil(expires time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.armLocked(expires)
}

// Extend restarts the TTL after an update and returns the new expiry.
func (t *TTL) Extend() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp := time.Now().Add(t.TTL)
	t.armLocked(exp)
	return exp
}

// Expires is when the check expires unless extended.
func (t *TTL) Expires() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.expires
}

// Expired reports whether the TTL has run out.
func (t *TTL) Expired() bool { return !time.Now().Before(t.Expires()) }

// Stop disarms the check. A report already in flight may still arrive.
func (t *TTL) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
}

func (t *TTL) armLocked(expires time.Time) {
	if t.stopped {
		return
	}
	t.expires = expires
	d := time.Until(expires)
	if t.timer == nil {
		t.timer = time.AfterFunc(d, t.fire)
		return
	}
	t.timer.Reset(d)
}

// fire runs when the timer ends. An Extend that raced with the timer
// moved the expiry into the future: then nothing is reported.
func (t *TTL) fire() {
	t.mu.Lock()
	live := !t.stopped && !time.Now().Before(t.expires)
	t.mu.Unlock()
	if live {
		t.Notify(t.CheckID, catalog.HealthCritical, TTLExpiredOutput)
	}
}
