package configs

import (
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// flagCase is one named test of the command line alone.
type flagCase struct {
	name    string
	args    []string
	check   func(t *testing.T, c Config)
	wantErr string // substring; empty means success
}

var flagCases = []flagCase{
	{
		name: "dev defaults",
		args: []string{"-dev"},
		check: func(t *testing.T, c Config) {
			if !c.Dev || !c.Server || c.BootstrapExpect != 1 || c.BindAddr != "127.0.0.1" || c.DataDir != "" {
				t.Errorf("dev config = %+v", c)
			}
			if c.Ports != (Ports{Server: 8300, HTTP: 8500, DNS: 8600}) {
				t.Errorf("ports = %+v, want Consul's defaults", c.Ports)
			}
		},
	},
	{
		name: "dev combines with ports and node",
		args: []string{"-dev", "-http-port", "18500", "-dns-port", "18600", "-server-port", "18300", "-node", "n1"},
		check: func(t *testing.T, c Config) {
			if c.Ports != (Ports{Server: 18300, HTTP: 18500, DNS: 18600}) || c.NodeName != "n1" {
				t.Errorf("config = %+v", c)
			}
		},
	},
	{
		name: "server with repeated retry-join",
		args: []string{"-server", "-data-dir", "/tmp/x", "-bootstrap-expect", "3", "-retry-join", "10.0.0.1:8300", "-retry-join", "10.0.0.2:8300"},
		check: func(t *testing.T, c Config) {
			if len(c.RetryJoin) != 2 || c.RetryJoin[1] != "10.0.0.2:8300" || c.BootstrapExpect != 3 {
				t.Errorf("config = %+v", c)
			}
			if got := c.ServerAddr(); got != "0.0.0.0:8300" {
				t.Errorf("ServerAddr = %q", got)
			}
		},
	},
	{
		name: "every agent flag",
		args: []string{"-data-dir", "/d", "-datacenter", "east", "-log-level", "debug", "-log-json",
			"-enable-script-checks", "-enable-debug", "-ui", "-advertise", "10.0.0.5", "-client", "127.0.0.1 10.0.0.5"},
		check: func(t *testing.T, c Config) {
			if c.DataDir != "/d" || c.Datacenter != "east" || c.LogLevel != "debug" || !c.LogJSON ||
				!c.EnableScriptChecks || !c.EnableDebug || !c.UI || c.Advertise != "10.0.0.5" {
				t.Errorf("config = %+v", c)
			}
			want := []string{"127.0.0.1:8500", "10.0.0.5:8500"}
			if got := c.HTTPAddrs(); !slices.Equal(got, want) {
				t.Errorf("HTTPAddrs = %q, want %q", got, want)
			}
		},
	},
	{
		name: "bool flags take =false",
		args: []string{"-dev", "-ui=true", "-ui=false", "-log-json=false"},
		check: func(t *testing.T, c Config) {
			if c.UI || c.LogJSON {
				t.Errorf("UI %v LogJSON %v, want false", c.UI, c.LogJSON)
			}
		},
	},
	{
		name: "port -1 disables http and dns",
		args: []string{"-dev", "-http-port", "-1", "-dns-port", "-1"},
		check: func(t *testing.T, c Config) {
			if c.HTTPAddrs() != nil || c.DNSAddrs() != nil {
				t.Errorf("HTTPAddrs %q DNSAddrs %q, want none", c.HTTPAddrs(), c.DNSAddrs())
			}
		},
	},
	{
		name: "defaults",
		args: []string{"-data-dir", "/d"},
		check: func(t *testing.T, c Config) {
			if c.Server || c.Dev || !c.LeaveOnTerminate || c.CheckUpdateInterval != 5*time.Minute ||
				c.Limits != (Limits{HTTPMaxConnsPerClient: 200}) || c.Telemetry.PrometheusRetentionTime != time.Minute {
				t.Errorf("config = %+v", c)
			}
			if got := c.DNSAddrs(); !slices.Equal(got, []string{"127.0.0.1:8600"}) {
				t.Errorf("DNSAddrs = %q", got)
			}
		},
	},
	{name: "data dir required", args: []string{"-server"}, wantErr: "data-dir"},
	{name: "bootstrap needs server", args: []string{"-data-dir", "/tmp/x", "-bootstrap-expect", "3"}, wantErr: "bootstrap-expect"},
	{name: "negative bootstrap", args: []string{"-server", "-data-dir", "/tmp/x", "-bootstrap-expect", "-1"}, wantErr: "bootstrap-expect"},
	{name: "bad retry-join", args: []string{"-dev", "-retry-join", "nohostport"}, wantErr: "retry-join"},
	{name: "bad retry-join port", args: []string{"-dev", "-retry-join", "h:99999"}, wantErr: "retry-join"},
	{name: "bad bind", args: []string{"-dev", "-bind", "not-an-ip"}, wantErr: "bind"},
	{name: "bad port", args: []string{"-dev", "-http-port", "70000"}, wantErr: "http-port"},
	{name: "bad log level", args: []string{"-dev", "-log-level", "loud"}, wantErr: "log-level"},
	{name: "unknown flag", args: []string{"-dev", "-frobnicate"}, wantErr: "frobnicate"},
	{name: "stray argument", args: []string{"-dev", "extra"}, wantErr: `unexpected argument "extra"`},
	{name: "port not a number", args: []string{"-dev", "-dns-port", "x"}, wantErr: "-dns-port: not an integer"},
	{name: "server port -1", args: []string{"-dev", "-server-port", "-1"}, wantErr: "-server-port: must be 0..65535"},
	{name: "empty node", args: []string{"-dev", "-node", ""}, wantErr: "-node: must not be empty"},
	{name: "bad bool", args: []string{"-dev", "-ui=maybe"}, wantErr: "-ui: want true or false"},
	{name: "client not an ip", args: []string{"-dev", "-client", "127.0.0.1 localhost"}, wantErr: `-client: "localhost" is not an IP address`},
	{name: "empty client", args: []string{"-dev", "-client", " "}, wantErr: "-client: no address given"},
	{name: "two advertise addresses", args: []string{"-dev", "-advertise", "10.0.0.1 10.0.0.2"}, wantErr: "-advertise:"},
	{name: "help", args: []string{"-h"}, wantErr: "help requested"},
}

func TestLoadArgs(t *testing.T) {
	for _, tt := range flagCases {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadArgs(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadArgs: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadArgsHelpIsErrHelp(t *testing.T) {
	var out strings.Builder
	_, err := LoadArgs([]string{"-help"}, &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	for _, flag := range []string{"-config-dir", "-retry-join", "-enable-debug", "-http-port"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("usage does not mention %s:\n%s", flag, out.String())
		}
	}
}

func TestLimitsBurst(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		want   int
	}{
		{"explicit burst", Limits{RequestRate: 5, RequestBurst: 7}, 7},
		{"unlimited rate", Limits{}, 1},
		{"fractional rate rounds up", Limits{RequestRate: 2.5}, 3},
		{"slow rate still allows one", Limits{RequestRate: 0.1}, 1},
		{"huge rate is capped", Limits{RequestRate: 1e300}, math.MaxInt32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.limits.Burst(); got != tt.want {
				t.Errorf("Burst() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRaftTimingScalesWithMultiplier(t *testing.T) {
	c := Default()
	c.RaftMultiplier = 5
	hb, el, lease := c.RaftTiming()
	if hb.Seconds() != 5 || el.Seconds() != 5 || lease.Seconds() != 2.5 {
		t.Errorf("RaftTiming = %s %s %s, want 5s 5s 2.5s", hb, el, lease)
	}
}
