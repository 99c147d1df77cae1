package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/agent"
	"github.com/beacon-sd/beacon/configs"
)

// devAgent drives the CLI against a real single-node dev agent.
type devAgent struct {
	t    *testing.T
	addr string
}

func startDevAgent(t *testing.T) *devAgent {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an agent")
	}
	cfg, err := configs.LoadArgs([]string{"-dev", "-http-port", "0", "-server-port", "0", "-dns-port", "-1"}, io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := agent.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx, false)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if a.HTTPAddr() == "" {
		t.Fatal("the dev agent serves no HTTP")
	}
	return &devAgent{t: t, addr: a.HTTPAddr()}
}

// run runs the CLI with stdin and wants exit code 0.
func (d *devAgent) run(stdin string, args ...string) string {
	d.t.Helper()
	code, out, errOut := d.try(stdin, args...)
	if code != 0 {
		d.t.Fatalf("beacon %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (d *devAgent) try(stdin string, args ...string) (int, string, string) {
	return runCLI(args, stdin, map[string]string{envHTTPAddr: d.addr})
}

// want runs args and checks the exact output.
func (d *devAgent) want(want string, args ...string) {
	d.t.Helper()
	if got := d.run("", args...); got != want {
		d.t.Errorf("beacon %s:\n%s\nwant:\n%s", strings.Join(args, " "), got, want)
	}
}

// serves reports whether the agent routes method path (not 404 or 405).
func (d *devAgent) serves(method, path string) bool {
	req, _ := http.NewRequest(method, "http://"+d.addr+path, nil)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed
}

func TestE2EKV(t *testing.T) {
	d := startDevAgent(t)
	d.want("Success! Data written to: hello\n", "kv", "put", "hello", "world")
	d.want("world\n", "kv", "get", "hello")
	if code, _, errOut := d.try("", "kv", "get", "missing"); code != 1 || errOut != "Error! No key exists at: missing\n" {
		t.Errorf("kv get missing: %d %q", code, errOut)
	}
	d.run("", "kv", "put", "app/a", "1")
	d.run("piped", "kv", "put", "-flags", "5", "app/b/c", "-")
	d.want("app/a:1\napp/b/c:piped\n", "kv", "get", "-recurse", "app/")
	d.want("app/\nhello\n", "kv", "get", "-keys")
	d.want("app/a\napp/b/\n", "kv", "get", "-keys", "app/")

	var pairs []kvPair
	if err := json.Unmarshal([]byte(d.run("", "kv", "get", "-format", "json", "hello")), &pairs); err != nil || len(pairs) != 1 {
		t.Fatalf("kv get -format json: %v %+v", err, pairs)
	}
	stale := strconv.FormatUint(pairs[0].ModifyIndex-1, 10)
	if code, _, errOut := d.try("", "kv", "put", "-cas", "-modify-index", stale, "hello", "x"); code != 1 || !strings.Contains(errOut, "CAS failed") {
		t.Errorf("stale CAS: %d %q", code, errOut)
	}
	d.run("", "kv", "put", "-cas", "-modify-index", strconv.FormatUint(pairs[0].ModifyIndex, 10), "hello", "again")
	d.want("again\n", "kv", "get", "hello")

	export := d.run("", "kv", "export", "app/")
	d.want("Success! Deleted keys with prefix: app/\n", "kv", "delete", "-recurse", "app/")
	d.want("", "kv", "get", "-recurse", "app/")
	if out := d.run(export, "kv", "import", "-"); out != "Imported: app/a\nImported: app/b/c\n" {
		t.Errorf("import: %q", out)
	}
	if got := d.run("", "kv", "export", "app/"); got != export {
		t.Errorf("export after import:\n%s\nwant:\n%s", got, export)
	}
	d.want("Success! Deleted key: hello\n", "kv", "delete", "hello")
}

func TestE2ESnapshot(t *testing.T) {
	d := startDevAgent(t)
	d.run("", "kv", "put", "kept", "1")
	file := filepath.Join(t.TempDir(), "backup.snap")
	if out := d.run("", "snapshot", "save", file); !strings.HasPrefix(out, "Saved and verified snapshot to index ") {
		t.Errorf("save: %q", out)
	}
	if out := d.run("", "snapshot", "inspect", file); !strings.Contains(out, "Checksum  valid") {
		t.Errorf("inspect: %q", out)
	}
	d.run("", "kv", "put", "lost", "1")
	d.want("Restored snapshot\n", "snapshot", "restore", file)
	d.want("1\n", "kv", "get", "kept")
	if code, _, _ := d.try("", "kv", "get", "lost"); code != 1 {
		t.Errorf("a key written after the snapshot survived the restore")
	}
}

func TestE2ECatalogAndOperator(t *testing.T) {
	d := startDevAgent(t)
	d.run("", "catalog", "services")
	if out := d.run("", "catalog", "nodes"); !strings.HasPrefix(out, "Node ") {
		t.Errorf("catalog nodes: %q", out)
	}
	out := d.run("", "operator", "raft", "list-peers")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "leader") || !strings.HasSuffix(lines[1], "true") {
		t.Errorf("list-peers:\n%s", out)
	}
	var cfg raftConfig
	if err := json.Unmarshal([]byte(d.run("", "operator", "raft", "list-peers", "-format", "json")), &cfg); err != nil || len(cfg.Servers) != 1 {
		t.Errorf("list-peers json: %v %+v", err, cfg)
	}
	if code, _, errOut := d.try("", "operator", "raft", "remove-peer", "-id", "nope"); code != 1 || errOut == "" {
		t.Errorf("remove-peer of an unknown server: %d %q", code, errOut)
	}
}

// TestE2EAgentEndpoints covers the commands served by /v1/agent/*; each
// is skipped while the agent does not serve its endpoint.
func TestE2EAgentEndpoints(t *testing.T) {
	d := startDevAgent(t)
	t.Run("members", func(t *testing.T) {
		if !d.serves("GET", "/v1/agent/members") {
			t.Skip("the agent does not serve /v1/agent/members yet")
		}
		if out := d.run("", "members"); !strings.Contains(out, "alive") {
			t.Errorf("members:\n%s", out)
		}
	})
	t.Run("info", func(t *testing.T) {
		if !d.serves("GET", "/v1/agent/self") {
			t.Skip("the agent does not serve /v1/agent/self yet")
		}
		if out := d.run("", "info"); !strings.Contains(out, "\tstate = leader\n") {
			t.Errorf("info:\n%s", out)
		}
	})
	t.Run("services", func(t *testing.T) {
		if !d.serves("PUT", "/v1/agent/service/register") {
			t.Skip("the agent does not serve /v1/agent/service/register yet")
		}
		d.want("Registered service: web\n", "services", "register", "-name", "web", "-id", "web-1", "-port", "80", "-tag", "v1")
		if out := d.run("", "catalog", "service", "web"); !strings.Contains(out, "web-1") {
			t.Errorf("catalog service web:\n%s", out)
		}
		d.want("Deregistered service: web-1\n", "services", "deregister", "web-1")
	})
}
