package health

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

func TestScript(t *testing.T) {
	// 2,000 × "abcde": more output than a check may carry.
	const long = `i=0; while [ $i -lt 2000 ]; do printf abcde; i=$((i+1)); done; printf END`
	tests := []struct {
		name       string
		args       []string
		wantStatus string
		wantOutput string // exact, or contained when it ends with "…"
	}{
		{name: "exit 0 is passing", args: []string{"sh", "-c", "echo ok"}, wantStatus: catalog.HealthPassing, wantOutput: "ok\n"},
		{name: "exit 1 is warning", args: []string{"sh", "-c", "echo degraded; exit 1"}, wantStatus: catalog.HealthWarning, wantOutput: "degraded\n"},
		{name: "exit 2 is critical", args: []string{"sh", "-c", "exit 2"}, wantStatus: catalog.HealthCritical, wantOutput: ""},
		{name: "stderr is captured", args: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, wantStatus: catalog.HealthCritical, wantOutput: "out\nerr\n"},
		{name: "killed by a signal is critical", args: []string{"sh", "-c", "kill -9 $$"}, wantStatus: catalog.HealthCritical, wantOutput: ""},
		{name: "no shell: arguments are not expanded", args: []string{"echo", "$HOME", "*"}, wantStatus: catalog.HealthPassing, wantOutput: "$HOME *\n"},
		{name: "missing program", args: []string{"/nonexistent/check-program"}, wantStatus: catalog.HealthCritical, wantOutput: "no such file or directory…"},
		{name: "long output keeps its end", args: []string{"sh", "-c", long}, wantStatus: catalog.HealthPassing, wantOutput: "abcdeEND…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := &Script{CheckID: "s", Args: tt.args, Interval: 10 * time.Millisecond, Timeout: 10 * time.Second, Notify: rec.notify}
			c.Start()
			defer c.Stop()
			got := rec.waitReport(t)
			ok := got.output == tt.wantOutput
			if want, contains := strings.CutSuffix(tt.wantOutput, "…"); contains {
				ok = strings.Contains(got.output, want)
			}
			if got.status != tt.wantStatus || !ok {
				t.Fatalf("report = %+v, want %q with output %q", got, tt.wantStatus, tt.wantOutput)
			}
			if len(got.output) > catalog.MaxCheckOutput {
				t.Fatalf("output is %d bytes, more than %d", len(got.output), catalog.MaxCheckOutput)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{name: "fits", writes: []string{"ab", "cd"}, want: "abcd"},
		{name: "exactly full", writes: []string{strings.Repeat("x", 64)}, want: strings.Repeat("x", 64)},
		{name: "keeps the end", writes: []string{strings.Repeat("a", 60), strings.Repeat("b", 40)},
			want: "Captured 35 of 100 bytes\n...\n" + strings.Repeat("b", 35)},
		// The cut would fall inside "é": it moves to the next rune.
		{name: "starts at a rune", writes: []string{strings.Repeat("a", 70), "é" + strings.Repeat("b", 34)},
			want: "Captured 34 of 106 bytes\n...\n" + strings.Repeat("b", 34)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &tailBuffer{max: 64}
			for _, w := range tt.writes {
				b.Write([]byte(w))
			}
			if got := b.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			if len(b.String()) > 64 {
				t.Fatalf("String() is %d bytes, more than max", len(b.String()))
			}
		})
	}
}

// processGone reports whether pid has exited (a zombie counts: it runs no
// more).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return os.IsNotExist(err)
	}
	// pid (comm) state …: comm may hold spaces, the state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// readPID waits for the first pid a script wrote into path.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, "the script's pid file", func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		first, _, ok := strings.Cut(string(b), "\n")
		if !ok {
			return false
		}
		pid, err = strconv.Atoi(first)
		return err == nil
	})
	return pid
}

// TestScriptTimeoutKillsTheProcessGroup: a script that outlasts its
// timeout is reported critical at once, and what it started in the
// background dies with it.
func TestScriptTimeoutKillsTheProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pids")
	rec := &recorder{}
	c := &Script{
		CheckID: "s",
		Args:    []string{"sh", "-c", `sleep 60 & echo $! >> "$1"; echo started; wait`, "sh", pidFile},
		// A long interval after a short first offset is not guaranteed, so
		// several runs may start; the first pid belongs to the first run.
		Interval: 20 * time.Millisecond,
		Timeout:  200 * time.Millisecond,
		Notify:   rec.notify,
	}
	start := time.Now()
	c.Start()
	defer c.Stop()
	got := rec.waitReport(t)
	if want := "Timed out (200ms) running check\n\nstarted\n"; got.status != catalog.HealthCritical || got.output != want {
		t.Fatalf("report = %+v, want critical with %q", got, want)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("the timeout was reported after %s: the run waited for its background child", d)
	}
	pid := readPID(t, pidFile)
	waitFor(t, fmt.Sprintf("background child %d to die", pid), func() bool { return processGone(pid) })
}

// TestScriptStopKillsARun: Stop does not wait for a long run to end.
func TestScriptStopKillsARun(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pids")
	rec := &recorder{}
	c := &Script{CheckID: "s", Args: []string{"sh", "-c", `echo $$ >> "$1"; exec sleep 60`, "sh", pidFile},
		Interval: time.Millisecond, Timeout: time.Minute, Notify: rec.notify}
	c.Start()
	pid := readPID(t, pidFile)
	stopWithin(t, c, 10*time.Second, "Stop waited for the script")
	waitFor(t, "the script to die", func() bool { return processGone(pid) })
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("a killed run was reported: %+v", got)
	}
}

func TestScriptThresholds(t *testing.T) {
	rec := &recorder{}
	c := &Script{CheckID: "s", Args: []string{"sh", "-c", "exit 2"}, Interval: 5 * time.Millisecond,
		Thresholds: Thresholds{FailuresBeforeWarning: 1, FailuresBeforeCritical: 3}, Notify: rec.notify}
	c.Start()
	defer c.Stop()
	rec.waitLast(t, catalog.HealthCritical)
	if got := fmt.Sprint(rec.statuses()); got != "[warning critical]" {
		t.Fatalf("reported %s, want [warning critical]", got)
	}
}
