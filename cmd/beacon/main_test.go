package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the beacon binary: with BEACON_RUN_MAIN set it
// runs main's logic on its arguments, so tests can signal a real process.
func TestMain(m *testing.M) {
	if os.Getenv("BEACON_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer the child's stderr copier writes while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startBeacon runs "beacon args…" as a child process.
func startBeacon(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BEACON_RUN_MAIN=1")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, stderr
}

// waitFor polls fn until it returns true or 15 s pass.
func waitFor(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getJSON(url string, v any) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(v) == nil
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("process did not exit within 20 s")
		return -1
	}
}

// devArgs runs a dev agent on ports the kernel picks (reserving a free
// port and passing its number would race with every other process on
// the machine).
var devArgs = []string{"agent", "-dev", "-http-port", "0", "-server-port", "0", "-dns-port", "-1"}

// httpAPI waits for the agent's "http api listening" log line and
// returns its base URL.
func httpAPI(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	re := regexp.MustCompile(`msg="http api listening" addr=(\S+)`)
	var base string
	waitFor(t, "the agent's HTTP address in its log", func() bool {
		m := re.FindStringSubmatch(stderr.String())
		if m != nil {
			base = "http://" + m[1]
		}
		return m != nil
	})
	return base
}

func TestSIGTERMExitsZero(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, stderr := startBeacon(t, devArgs...)
			base := httpAPI(t, stderr)
			var leader string
			waitFor(t, "the dev agent's leader", func() bool { return getJSON(base+"/v1/status/leader", &leader) && leader != "" })
			cmd.Process.Signal(sig)
			if code := exitCode(t, cmd); code != 0 {
				t.Fatalf("exit code %d after %v, want 0; stderr:\n%s", code, sig, stderr)
			}
		})
	}
}

func TestSIGHUPReloadsServices(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "svc.hcl")
	write := func(name string) {
		body := fmt.Sprintf("service {\n  name = %q\n  port = 80\n}\n", name)
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("alpha")
	cmd, stderr := startBeacon(t, append(slices.Clone(devArgs), "-config-file", file)...)
	base := httpAPI(t, stderr)
	defer func() {
		if t.Failed() {
			t.Logf("agent stderr:\n%s", stderr)
		}
	}()
	services := func(want, gone string) func() bool {
		return func() bool {
			var s map[string]any
			return getJSON(base+"/v1/agent/services", &s) && s[want] != nil && s[gone] == nil
		}
	}
	waitFor(t, "service alpha from the config file", services("alpha", "beta"))
	write("beta")
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "beta to replace alpha after SIGHUP", services("beta", "alpha"))
	// A broken file on reload keeps the running configuration.
	if err := os.WriteFile(file, []byte("service {\n  nme = \"x\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if !services("beta", "alpha")() {
		t.Fatal("a rejected reload changed the services")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func TestBadConfigNamesFileAndLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.hcl")
	os.WriteFile(file, []byte("node_name = \"n\"\nports {\n  http = 70000\n}\n"), 0o644)
	cmd, stderr := startBeacon(t, "agent", "-dev", "-config-file", file)
	if code := exitCode(t, cmd); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if msg := stderr.String(); !strings.Contains(msg, "bad.hcl:3") || !strings.Contains(msg, "ports.http") {
		t.Fatalf("error %q does not name the file, line and field", msg)
	}
}

func TestShutdownBounded(t *testing.T) {
	errBoom := fmt.Errorf("boom")
	cases := []struct {
		name     string
		shutdown func(ctx context.Context, leave bool) error
		wantErr  string
	}{
		{"returns at once", func(context.Context, bool) error { return nil }, ""},
		{"its error is returned", func(context.Context, bool) error { return errBoom }, "boom"},
		{"finishes within the grace period", func(ctx context.Context, _ bool) error {
			<-ctx.Done()
			time.Sleep(20 * time.Millisecond)
			return nil
		}, ""},
		{"never returns", func(context.Context, bool) error { select {} }, "exiting without it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := shutdownBounded(ctx, 500*time.Millisecond, tc.shutdown, true)
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("shutdownBounded took %v", took)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
