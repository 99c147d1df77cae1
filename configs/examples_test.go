package configs

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// checkGolden compares c, as indented JSON, with testdata/name.golden
// (rewritten with -update).
func checkGolden(t *testing.T, name string, c Config) {
	t.Helper()
	got, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("config differs from %s (go test -update rewrites it):\n%s", path, got)
	}
}

func TestExamples(t *testing.T) {
	tests := []struct {
		file  string
		args  []string
		check func(t *testing.T, c Config)
	}{
		{"dev.hcl", []string{"-dev"}, func(t *testing.T, c Config) {
			if !c.Dev || !c.Server || c.NodeName != "dev" || c.LogLevel != "debug" || !c.EnableDebug || !c.UI ||
				len(c.Services) != 1 || c.Services[0].Checks[0].TTL != 30*time.Second {
				t.Errorf("config = %+v", c)
			}
		}},
		{"server.hcl", nil, func(t *testing.T, c Config) {
			if !c.Server || c.BootstrapExpect != 3 || len(c.RetryJoin) != 3 || c.DataDir != "/var/lib/beacon" ||
				c.Advertise != "10.0.0.11" || len(c.HTTPAddrs()) != 2 || c.Limits.RequestRate != 100 ||
				!c.Telemetry.DisableHostname || c.NodeMeta["rack"] != "r1" {
				t.Errorf("config = %+v", c)
			}
		}},
		{"client.hcl", nil, checkClientExample},
		{"client.json", nil, checkClientExample},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(append(tt.args, "-config-file", filepath.Join("examples", tt.file)), io.Discard)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
			checkGolden(t, tt.file, c)
		})
	}
}

func checkClientExample(t *testing.T, c Config) {
	t.Helper()
	if c.Server || c.NodeName != "web-1" || len(c.RetryJoin) != 3 || c.Advertise != "10.0.1.21" || c.NodeMeta["rack"] != "r7" {
		t.Errorf("agent = %+v", c)
	}
	if len(c.Services) != 1 || len(c.Checks) != 1 {
		t.Fatalf("services %+v checks %+v, want one of each", c.Services, c.Checks)
	}
	s := c.Services[0]
	if s.ID != "web-1" || s.Name != "web" || s.Port != 8080 || !slices.Equal(s.Tags, []string{"v1", "primary"}) ||
		s.Weights != (Weights{Passing: 10, Warning: 1}) || s.Meta["version"] != "1.4.2" {
		t.Errorf("service = %+v", s)
	}
	if len(s.Checks) != 1 {
		t.Fatalf("service checks = %+v", s.Checks)
	}
	chk := s.Checks[0]
	if chk.Kind() != "http" || chk.HTTP != "http://127.0.0.1:8080/health" || chk.Interval != 10*time.Second ||
		chk.Timeout != 2*time.Second || chk.DeregisterCriticalServiceAfter != 30*time.Minute ||
		chk.FailuresBeforeCritical != 3 || !slices.Equal(chk.Header["Accept"], []string{"application/json"}) {
		t.Errorf("service check = %+v", chk)
	}
	if c.Checks[0].Kind() != "tcp" || c.Checks[0].Interval != 30*time.Second {
		t.Errorf("node check = %+v", c.Checks[0])
	}
}

func TestClientExamplesAgree(t *testing.T) {
	load := func(file string) Config {
		c, err := Load([]string{"-config-file", filepath.Join("examples", file)}, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		c.ConfigFiles, c.files = nil, nil
		return c
	}
	if h, j := load("client.hcl"), load("client.json"); !reflect.DeepEqual(h, j) {
		t.Errorf("client.hcl and client.json differ:\n%+v\n%+v", h, j)
	}
}
