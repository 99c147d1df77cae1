package configs

import (
	"io"
	"strings"
	"testing"
)

func TestLoadArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, c Config)
		wantErr string // substring; empty means success
	}{
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
	}
	for _, tt := range tests {
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

func TestRaftTimingScalesWithMultiplier(t *testing.T) {
	c := Default()
	c.RaftMultiplier = 5
	hb, el, lease := c.RaftTiming()
	if hb.Seconds() != 5 || el.Seconds() != 5 || lease.Seconds() != 2.5 {
		t.Errorf("RaftTiming = %s %s %s, want 5s 5s 2.5s", hb, el, lease)
	}
}
