package hclogslog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/internal/hclogslog"
	"github.com/hashicorp/go-hclog"
)

// newLogger returns an adapter over a JSON handler that accepts every level,
// the level it filters by, and the buffer the handler writes to.
func newLogger(t *testing.T) (*hclogslog.Logger, *slog.LevelVar, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: hclogslog.LevelTrace, AddSource: true})
	lv := new(slog.LevelVar)
	lv.Set(hclogslog.LevelTrace)
	return hclogslog.NewWithLevel(slog.New(h), "", lv), lv, &buf
}

// lines decodes every JSON line in buf and empties it.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		out = append(out, m)
	}
	buf.Reset()
	return out
}

// one returns the single line in buf.
func one(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	ls := lines(t, buf)
	if len(ls) != 1 {
		t.Fatalf("got %d lines, want 1: %v", len(ls), ls)
	}
	return ls[0]
}

func TestLevels(t *testing.T) {
	l, _, buf := newLogger(t)
	tests := []struct {
		name string
		emit func(msg string, args ...any)
		want string
	}{
		{"trace", l.Trace, "DEBUG-4"},
		{"debug", l.Debug, "DEBUG"},
		{"info", l.Info, "INFO"},
		{"warn", l.Warn, "WARN"},
		{"error", l.Error, "ERROR"},
		{"log warn", func(m string, a ...any) { l.Log(hclog.Warn, m, a...) }, "WARN"},
		{"log trace", func(m string, a ...any) { l.Log(hclog.Trace, m, a...) }, "DEBUG-4"},
		{"log no level", func(m string, a ...any) { l.Log(hclog.NoLevel, m, a...) }, "INFO"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.emit("hello "+tc.name, "n", 7)
			got := one(t, buf)
			if got["level"] != tc.want || got["msg"] != "hello "+tc.name || got["n"] != 7.0 {
				t.Fatalf("line = %v, want level %s msg %q n 7", got, tc.want, "hello "+tc.name)
			}
			src, _ := got["source"].(map[string]any)
			if file, _ := src["file"].(string); !strings.HasSuffix(file, "hclogslog_test.go") {
				t.Fatalf("source = %v, want this test file", got["source"])
			}
		})
	}
}

func TestArgs(t *testing.T) {
	l, _, buf := newLogger(t)
	l.Info("m", "err", errors.New("boom"), 42, "num-key", "fmt", hclog.Fmt("%d-%s", 3, "x"), "dangling")
	got := one(t, buf)
	want := map[string]any{"err": "boom", "42": "num-key", "fmt": "3-x", "EXTRA_VALUE_AT_END": "dangling"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, got[k], v, got)
		}
	}
}

func TestNamesAndImpliedArgs(t *testing.T) {
	l, _, buf := newLogger(t)
	raft := l.Named("raft")
	net := raft.Named("net").With("peer", "n2")
	if raft.Name() != "raft" || net.Name() != "raft.net" || l.Name() != "" {
		t.Fatalf("names = %q, %q, %q", l.Name(), raft.Name(), net.Name())
	}
	if got := net.ImpliedArgs(); !reflect.DeepEqual(got, []any{"peer", "n2"}) {
		t.Fatalf("ImpliedArgs = %v", got)
	}
	net.Warn("dial failed")
	got := one(t, buf)
	if got["component"] != "raft.net" || got["peer"] != "n2" || got["msg"] != "dial failed" {
		t.Fatalf("line = %v", got)
	}
	reset := net.ResetNamed("snapshot")
	reset.Info("x")
	got = one(t, buf)
	if got["component"] != "snapshot" || got["peer"] != "n2" {
		t.Fatalf("after ResetNamed: line = %v", got)
	}
	l.Info("plain")
	if got = one(t, buf); got["component"] != nil || got["peer"] != nil {
		t.Fatalf("parent logger gained attrs: %v", got)
	}
	if len(l.ImpliedArgs()) != 0 {
		t.Fatalf("parent ImpliedArgs = %v", l.ImpliedArgs())
	}
}

func TestSetLevel(t *testing.T) {
	l, lv, buf := newLogger(t)
	child := l.Named("raft")
	child.SetLevel(hclog.Warn)
	if lv.Level() != slog.LevelWarn {
		t.Fatalf("LevelVar = %v, want WARN", lv.Level())
	}
	l.Info("dropped")
	child.Debug("dropped")
	l.Warn("kept")
	child.Error("kept too")
	ls := lines(t, buf)
	if len(ls) != 2 || ls[0]["msg"] != "kept" || ls[1]["msg"] != "kept too" {
		t.Fatalf("lines = %v", ls)
	}
	if l.IsTrace() || l.IsDebug() || l.IsInfo() || !l.IsWarn() || !l.IsError() {
		t.Fatal("Is* disagree with level Warn")
	}
	if got := l.GetLevel(); got != hclog.Warn {
		t.Fatalf("GetLevel = %v, want Warn", got)
	}
	l.SetLevel(hclog.Off)
	l.Error("dropped")
	if buf.Len() != 0 || l.IsError() || l.GetLevel() != hclog.Off {
		t.Fatalf("Off still logs: %q, GetLevel %v", buf.String(), l.GetLevel())
	}
	l.SetLevel(hclog.Trace)
	if !child.IsTrace() || child.GetLevel() != hclog.Trace {
		t.Fatal("Trace not enabled after SetLevel(Trace)")
	}
}

func TestHandlerLevelWins(t *testing.T) {
	var buf bytes.Buffer
	l := hclogslog.New(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), "raft")
	if l.IsDebug() || !l.IsInfo() || l.GetLevel() != hclog.Info {
		t.Fatalf("IsDebug %v IsInfo %v GetLevel %v, want false true Info", l.IsDebug(), l.IsInfo(), l.GetLevel())
	}
	l.Debug("dropped")
	l.Info("kept")
	if got := one(t, &buf); got["msg"] != "kept" || got["component"] != "raft" || l.Name() != "raft" {
		t.Fatalf("line = %v", got)
	}
}

func TestStandardLogger(t *testing.T) {
	l, _, buf := newLogger(t)
	tests := []struct {
		name      string
		opts      *hclog.StandardLoggerOptions
		line      string
		wantLevel string
		wantMsg   string
	}{
		{"plain", nil, "[WARN] raw", "INFO", "[WARN] raw"},
		{"infer warn", &hclog.StandardLoggerOptions{InferLevels: true}, "[WARN] careful", "WARN", "careful"},
		{"infer err", &hclog.StandardLoggerOptions{InferLevels: true}, "[ERR] bad", "ERROR", "bad"},
		{"infer none", &hclog.StandardLoggerOptions{InferLevels: true}, "no tag", "INFO", "no tag"},
		{"infer after timestamp", &hclog.StandardLoggerOptions{InferLevels: true, InferLevelsWithTimestamp: true},
			"2024/01/02 15:04:05 [DEBUG] dbg", "DEBUG", "dbg"},
		{"force", &hclog.StandardLoggerOptions{ForceLevel: hclog.Error}, "[INFO] forced", "ERROR", "forced"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l.StandardLogger(tc.opts).Println(tc.line)
			got := one(t, buf)
			if got["level"] != tc.wantLevel || got["msg"] != tc.wantMsg {
				t.Fatalf("line = %v, want level %s msg %q", got, tc.wantLevel, tc.wantMsg)
			}
		})
	}
}

func TestNilLoggerDiscards(t *testing.T) {
	l := hclogslog.New(nil, "x")
	l.Error("nowhere")
	if l.IsError() || l.GetLevel() != hclog.Off {
		t.Fatalf("nil logger: IsError %v GetLevel %v", l.IsError(), l.GetLevel())
	}
}
