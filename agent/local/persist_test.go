package local

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

// TestPersistenceAcrossReload registers services and checks, closes the
// state and opens a new one on the same directory: everything is back,
// and a TTL check updated within its TTL is still passing.
func TestPersistenceAcrossReload(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	s1, err := New(cfg, newFakeCatalog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := catalog.Service{ID: "web/1", Service: "web", Tags: []string{"v1"}, Address: "10.0.0.5", Port: 8080, Meta: map[string]string{"k": "v"}, EnableTagOverride: true}
	checks := []catalog.Check{
		{Name: "heartbeat", Definition: catalog.CheckDefinition{TTL: time.Hour}},
		{Name: "port", Notes: "tcp", Definition: catalog.CheckDefinition{TCP: "127.0.0.1:1", Interval: time.Hour, Timeout: time.Second}},
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"register service", func() error { return s1.AddService(svc, checks, false) }},
		{"register node check", func() error {
			return s1.AddCheck(catalog.Check{Name: "disk", Definition: catalog.CheckDefinition{HTTP: "http://127.0.0.1:1/", Interval: time.Hour, Header: map[string][]string{"X": {"y"}}}})
		}},
		{"TTL passing", func() error { return s1.UpdateTTL("service:web/1:1", "passing", "all good") }},
		{"node maintenance", func() error { return s1.EnableNodeMaintenance("upgrade") }},
		{"removed service", func() error {
			if err := s1.AddService(catalog.Service{Service: "gone"}, []catalog.Check{ttlCheck(time.Hour)}, false); err != nil {
				return err
			}
			return s1.RemoveService("gone")
		}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	wantSvcs, wantChecks := s1.Services(), s1.Checks()
	s1.Close()

	s2 := newState(t, cfg, newFakeCatalog(t))
	if got := s2.Services(); !reflect.DeepEqual(got, wantSvcs) {
		t.Fatalf("services after reload:\n got %+v\nwant %+v", got, wantSvcs)
	}
	if got := s2.Checks(); !reflect.DeepEqual(got, wantChecks) {
		t.Fatalf("checks after reload:\n got %+v\nwant %+v", got, wantChecks)
	}
	if c := s2.Check("service:web/1:1"); c.Status != "passing" || c.Output != "all good" {
		t.Fatalf("TTL check after reload = %s %q, want passing", c.Status, c.Output)
	}
	if err := s2.UpdateTTL("service:web/1:1", "warning", ""); err != nil {
		t.Fatalf("the reloaded TTL check has no runner: %v", err)
	}
}

func TestPersistedTTLExpiry(t *testing.T) {
	tests := []struct {
		name       string
		expires    time.Duration // from now; 0: never updated
		wantStatus string
		wantOutput string
	}{
		{name: "within the TTL", expires: time.Hour, wantStatus: "passing", wantOutput: "ok"},
		{name: "past the TTL", expires: -time.Second, wantStatus: "critical", wantOutput: health.TTLExpiredOutput},
		{name: "never updated", wantStatus: "passing", wantOutput: "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			s := &State{cfg: cfg}
			c := catalog.Check{Node: "node1", CheckID: "hb", Name: "hb", Status: "passing", Output: "ok", Type: "ttl", Definition: catalog.CheckDefinition{TTL: time.Hour}}
			var exp time.Time
			if tt.expires != 0 {
				exp = time.Now().Add(tt.expires)
			}
			if err := s.persistCheck(&c, exp); err != nil {
				t.Fatal(err)
			}
			got := newState(t, cfg, newFakeCatalog(t)).Check("hb")
			if got == nil || got.Status != tt.wantStatus || got.Output != tt.wantOutput {
				t.Fatalf("check = %+v, want %s %q", got, tt.wantStatus, tt.wantOutput)
			}
		})
	}
}

func TestCorruptFilesSkipped(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	s1 := newState(t, cfg, newFakeCatalog(t))
	if err := s1.AddService(catalog.Service{Service: "web"}, []catalog.Check{ttlCheck(time.Hour)}, false); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	files := []struct {
		sub, name, content string
	}{
		{servicesDir, "garbage.json", "{not json"},
		{servicesDir, fileName("noid"), `{"Service":{"Service":"x"}}`},
		{checksDir, "truncated.json", `{"Check":{"CheckID":"a"`},
		{checksDir, fileName("orphan"), `{"Check":{"CheckID":"orphan","Name":"o","Status":"passing","ServiceID":"missing","Type":"ttl","Definition":{"TTL":1000000000}}}`},
		{checksDir, ".tmp-left-by-a-crash", "partial"},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.sub, f.name), []byte(f.content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logs := &logRecorder{}
	s2, err := New(cfg, newFakeCatalog(t), slog.New(logs))
	if err != nil {
		t.Fatalf("New with corrupt files: %v", err)
	}
	defer s2.Close()
	if s2.Service("web") == nil || s2.Check("service:web") == nil || len(s2.Services()) != 1 || len(s2.Checks()) != 1 {
		t.Fatalf("good files not loaded alone: %v %v", s2.Services(), s2.Checks())
	}
	text := logs.text()
	for _, f := range files[:4] {
		if !strings.Contains(text, f.name) {
			t.Errorf("no report naming %s; logs:\n%s", f.name, text)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, checksDir, ".tmp-left-by-a-crash")); !os.IsNotExist(err) {
		t.Errorf("temporary file not cleaned up: %v", err)
	}
}

func TestMemoryOnlyWritesNothing(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	s := newState(t, testConfig(""), newFakeCatalog(t))
	if err := s.AddService(catalog.Service{Service: "web"}, []catalog.Check{ttlCheck(time.Hour)}, false); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Fatalf("dev mode wrote files: %v", entries)
	}
}
