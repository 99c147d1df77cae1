package raftstore

import (
	"sync/atomic"
	"time"
)

// tick is a coarse clock for write deadlines: a channel closed every
// tickEvery and replaced by a new one. A write waiting for raft watches it
// beside the future and checks its deadline when it fires, instead of
// arming a timer of its own — an allocation and two timer-heap operations
// on every write. A deadline is therefore noticed up to tickEvery late;
// write deadlines are seconds (ApplyTimeout, or the caller's).
type tick struct {
	ch atomic.Pointer[chan struct{}]
}

const tickEvery = 250 * time.Millisecond

func newTick() *tick {
	t := &tick{}
	ch := make(chan struct{})
	t.ch.Store(&ch)
	return t
}

// C returns the channel the next tick closes.
func (t *tick) C() <-chan struct{} { return *t.ch.Load() }

// run ticks until stop is closed.
func (t *tick) run(stop <-chan struct{}) {
	tk := time.NewTicker(tickEvery)
	defer tk.Stop()
	for {
		select {
		case <-tk.C:
			next := make(chan struct{})
			close(*t.ch.Swap(&next))
		case <-stop:
			return
		}
	}
}
