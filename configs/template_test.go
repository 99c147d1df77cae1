package configs

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// Templates that give the same answer on any machine: every host has an
// IPv4 loopback interface, and no interface is named "beacon-nomatch".
const (
	loopbackTmpl = `{{ GetAllInterfaces | include "flags" "loopback" | include "type" "IPv4" | limit 1 | attr "address" }}`
	nomatchTmpl  = `{{ GetAllInterfaces | include "name" "^beacon-nomatch$" | attr "address" }}`
	nomatchList  = `{{ GetAllInterfaces | include "name" "^beacon-nomatch$" }}`
)

func isLoopback(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.IsLoopback()
}

func TestResolveAddrs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int // number of addresses, all checked to be IPs
		wantErr string
	}{
		{"plain address", "10.0.0.1", 1, ""},
		{"plain list", " 10.0.0.1  ::1 ", 2, ""},
		{"loopback template", loopbackTmpl, 1, ""},
		{"template in a list", "10.0.0.1 " + loopbackTmpl, 2, ""},
		{"template matching nothing", nomatchTmpl, 0, "resolves to no address"},
		{"template printing an empty list", nomatchList, 0, "resolves to no address"},
		{"template giving a name", `{{ GetAllInterfaces | include "flags" "loopback" | limit 1 | attr "name" }}`, 0, "is not an IP address"},
		{"broken template", `{{ GetAllInterfaces `, 0, "template"},
		{"unknown function", `{{ GetNothing }}`, 0, "GetNothing"},
		{"empty", "", 0, "no address given"},
		{"hostname", "localhost", 0, `"localhost" is not an IP address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveAddrs(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("resolveAddrs = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("resolveAddrs = %q, %v; want %d addresses", got, err, tt.want)
			}
			for _, a := range got {
				if net.ParseIP(a) == nil {
					t.Errorf("%q is not an IP", a)
				}
			}
		})
	}
}

func TestTemplatesInFilesAndFlags(t *testing.T) {
	hcl := `bind_addr = "` + strings.ReplaceAll(loopbackTmpl, `"`, `\"`) + `"
advertise_addr = "` + strings.ReplaceAll(loopbackTmpl, `"`, `\"`) + `"
client_addr = "10.0.0.1 ` + strings.ReplaceAll(loopbackTmpl, `"`, `\"`) + `"
`
	runLoadCases(t, []loadCase{
		{
			name:  "HCL",
			files: map[string]string{"t.hcl": hcl},
			args:  []string{"-dev", "-config-file", "$DIR/t.hcl"},
			check: wantLoopbackAddrs,
		},
		{
			name:  "flags",
			args:  []string{"-dev", "-bind", loopbackTmpl, "-advertise", loopbackTmpl, "-client", "10.0.0.1 " + loopbackTmpl},
			check: wantLoopbackAddrs,
		},
	})
}

func wantLoopbackAddrs(t *testing.T, c Config) {
	t.Helper()
	if !isLoopback(c.BindAddr) || !isLoopback(c.Advertise) || len(c.ClientAddrs) != 2 || !isLoopback(c.ClientAddrs[1]) {
		t.Errorf("bind %q advertise %q client %q, want loopback addresses", c.BindAddr, c.Advertise, c.ClientAddrs)
	}
}

func TestTemplateErrors(t *testing.T) {
	two := "10.0.0.1 " + loopbackTmpl
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		want  string
	}{
		{
			name:  "file template matching nothing",
			files: map[string]string{"t.json": `{"node_name": "n",` + "\n" + `"bind_addr": "` + strings.ReplaceAll(nomatchTmpl, `"`, `\"`) + `"}`},
			args:  []string{"-config-file", "$DIR/t.json"},
			want:  "t.json:2: bind_addr: template",
		},
		{
			name:  "file template with two addresses for one",
			files: map[string]string{"t.json": `{"advertise_addr": "` + strings.ReplaceAll(two, `"`, `\"`) + `"}`},
			args:  []string{"-config-file", "$DIR/t.json"},
			want:  "t.json:1: advertise_addr:",
		},
		{name: "flag template matching nothing", args: []string{"-bind", nomatchTmpl}, want: "flag -bind: template"},
		{name: "flag template with two addresses", args: []string{"-bind", two}, want: "resolves to 2 addresses"},
		{name: "client flag matching nothing", args: []string{"-client", nomatchTmpl}, want: "flag -client: template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			_, err := Load(append([]string{"-dev"}, expandArgs(tt.args, dir)...), io.Discard)
			want := strings.ReplaceAll(tt.want, "$DIR", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want one containing %q", err, filepath.ToSlash(want))
			}
		})
	}
}
