package health

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/beacon-sd/beacon/catalog"
)

// DefaultScriptTimeout bounds one run of a script check that sets no
// timeout (Consul's default for script checks).
const DefaultScriptTimeout = 30 * time.Second

// scriptWaitDelay is how long a finished or killed script's output pipes
// may stay open (held by a child that left its process group) before they
// are closed and the run ends anyway.
const scriptWaitDelay = time.Second

// Script runs a program every Interval, as Consul's script checks
// (CheckMonitor) do: Args is the program and its arguments, run directly,
// without a shell. Exit status 0 is passing, 1 warning, anything else
// (or failing to start) critical. The output is the combined stdout and
// stderr; when longer than catalog.MaxCheckOutput, its end is kept, after
// a "Captured n of m bytes" line. A run that outlasts Timeout is killed
// with its whole process group and reported critical; Stop kills a run in
// progress the same way, and waits for it.
//
// The agent runs script checks only when enable_script_checks is on.
//
// Fields must be set before Start and not changed after.
type Script struct {
	CheckID  string
	Args     []string
	Interval time.Duration
	Timeout  time.Duration // default DefaultScriptTimeout
	Thresholds
	Notify Notify

	prober // provides Stop
}

// Start begins running the program. Calling Start twice without Stop is a
// no-op.
func (c *Script) Start() {
	timeout := timeoutOr(c.Timeout, DefaultScriptTimeout)
	c.begin(c.CheckID, c.Interval, c.Thresholds, c.Notify, func(ctx context.Context) (string, string) {
		return c.run(ctx, timeout)
	})
}

func (c *Script) run(ctx context.Context, timeout time.Duration) (string, string) {
	if len(c.Args) == 0 {
		return catalog.HealthCritical, "no program to run"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := &tailBuffer{max: catalog.MaxCheckOutput}
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a timeout kills what it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = scriptWaitDelay
	err := cmd.Run()
	if cmd.Process == nil { // it did not start
		return catalog.HealthCritical, err.Error()
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		msg := fmt.Sprintf("Timed out (%s) running check", timeout)
		if s := out.String(); s != "" {
			msg += "\n\n" + s
		}
		return catalog.HealthCritical, msg
	}
	switch cmd.ProcessState.ExitCode() {
	case 0:
		return catalog.HealthPassing, out.String()
	case 1:
		return catalog.HealthWarning, out.String()
	}
	return catalog.HealthCritical, out.String()
}

// tailBuffer keeps the last max bytes written to it and counts them all.
// It is safe for concurrent use.
type tailBuffer struct {
	max int

	mu    sync.Mutex // guards the following
	buf   []byte
	total int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total += len(p)
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String is what was written, or, when more than max bytes were, a
// "Captured n of m bytes" line followed by the end of it, max bytes in
// all, starting at a UTF-8 boundary.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.total <= b.max {
		return string(b.buf)
	}
	header := func(kept int) string { return fmt.Sprintf("Captured %d of %d bytes\n...\n", kept, b.total) }
	kept := b.max - len(header(b.max))
	start := len(b.buf) - kept
	for start < len(b.buf) && !utf8.RuneStart(b.buf[start]) {
		start++
	}
	tail := b.buf[start:]
	return header(len(tail)) + string(tail)
}
