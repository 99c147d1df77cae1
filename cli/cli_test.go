package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/beacon-sd/beacon/internal/nettest"
)

// fakeAgent is an httptest agent: routes map "METHOD /path" (the decoded
// path) to handlers, and every request is recorded.
type fakeAgent struct {
	routes map[string]http.HandlerFunc

	mu   sync.Mutex // guards reqs
	reqs []recordedRequest
}

type recordedRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// String is "METHOD /path?query", as cases write wantReq.
func (r recordedRequest) String() string {
	if r.RawQuery == "" {
		return r.Method + " " + r.Path
	}
	return r.Method + " " + r.Path + "?" + r.RawQuery
}

func (f *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recordedRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
	f.mu.Unlock()
	h, ok := f.routes[r.Method+" "+r.URL.Path]
	if !ok {
		h = f.routes["*"]
	}
	if h == nil {
		http.Error(w, "fake agent: no route for "+r.Method+" "+r.URL.Path, http.StatusNotImplemented)
		return
	}
	h(w, r)
}

func (f *fakeAgent) requests() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedRequest(nil), f.reqs...)
}

// reply answers with a status and a plain body.
func reply(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// replyJSON answers 200 with a JSON body and X-Consul-Index: 7.
func replyJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Consul-Index", "7")
		io.WriteString(w, body)
	}
}

// cliCase is one run of the CLI against a fake agent.
type cliCase struct {
	name     string
	args     []string
	stdin    string
	routes   map[string]http.HandlerFunc
	env      map[string]string // added to BEACON_HTTP_ADDR=<fake agent>
	wantCode int
	wantOut  string   // exact stdout, unless outHas is set
	outHas   []string // substrings of stdout
	errHas   []string // substrings of stderr; nil: stderr must be empty
	wantReqs []string // every request, as "METHOD /path?query"
	wantBody string   // body of the last request, when set
	check    func(t *testing.T, reqs []recordedRequest)
}

// runCases runs each case against its own fake agent.
func runCases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeAgent{routes: tc.routes}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			envs := map[string]string{envHTTPAddr: srv.URL}
			for k, v := range tc.env {
				envs[k] = v
			}
			code, out, errOut := runCLI(tc.args, tc.stdin, envs)
			checkRun(t, tc, code, out, errOut)
			reqs := fake.requests()
			if tc.wantReqs != nil {
				var got []string
				for _, r := range reqs {
					got = append(got, r.String())
				}
				if strings.Join(got, "\n") != strings.Join(tc.wantReqs, "\n") {
					t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.wantReqs, "\n"))
				}
			}
			if tc.wantBody != "" && (len(reqs) == 0 || string(reqs[len(reqs)-1].Body) != tc.wantBody) {
				t.Errorf("last request body = %q, want %q", lastBody(reqs), tc.wantBody)
			}
			if tc.check != nil {
				tc.check(t, reqs)
			}
		})
	}
}

func lastBody(reqs []recordedRequest) string {
	if len(reqs) == 0 {
		return "<no request>"
	}
	return string(reqs[len(reqs)-1].Body)
}

// runCLI runs the CLI hermetically and returns its exit code and output.
func runCLI(args []string, stdin string, envs map[string]string) (int, string, string) {
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(k string) string { return envs[k] }}
	code := run(args, e)
	return code, out.String(), errOut.String()
}

func checkRun(t *testing.T, tc cliCase, code int, out, errOut string) {
	t.Helper()
	if code != tc.wantCode {
		t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, out, errOut)
	}
	if tc.outHas != nil {
		for _, s := range tc.outHas {
			if !strings.Contains(out, s) {
				t.Errorf("stdout lacks %q:\n%s", s, out)
			}
		}
	} else if out != tc.wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, tc.wantOut)
	}
	if tc.errHas == nil && errOut != "" {
		t.Errorf("unexpected stderr:\n%s", errOut)
	}
	for _, s := range tc.errHas {
		if !strings.Contains(errOut, s) {
			t.Errorf("stderr lacks %q:\n%s", s, errOut)
		}
	}
}

// networkCommands are one invocation of every command that calls the
// agent, with whatever arguments it needs to get that far.
func networkCommands(t *testing.T) [][]string {
	snap := writeTempSnapshot(t, 5, map[string]string{"k": "v"})
	return [][]string{
		{"members"},
		{"catalog", "services"},
		{"catalog", "nodes"},
		{"catalog", "service", "web"},
		{"services", "register", "-name", "web"},
		{"services", "deregister", "web-1"},
		{"kv", "get", "foo"},
		{"kv", "get", "-recurse", "foo"},
		{"kv", "get", "-keys", "foo"},
		{"kv", "put", "foo", "bar"},
		{"kv", "delete", "foo"},
		{"kv", "export"},
		{"kv", "import", `[{"key":"a","flags":0,"value":"YQ=="}]`},
		{"snapshot", "save", t.TempDir() + "/out.snap"},
		{"snapshot", "restore", snap},
		{"operator", "raft", "list-peers"},
		{"operator", "raft", "remove-peer", "-id", "n2"},
		{"operator", "raft", "transfer-leader"},
		{"leave"},
		{"info"},
	}
}

func TestAgentDown(t *testing.T) {
	addr := nettest.RefusingAddr(t)
	for _, args := range networkCommands(t) {
		for _, form := range []string{addr, "http://" + addr} {
			t.Run(strings.Join(args, " ")+" "+form, func(t *testing.T) {
				// Flags after positional arguments are arguments: put -http-addr first.
				code, out, errOut := runCLI(insertFlags(args, "-http-addr", form), "", nil)
				want := fmt.Sprintf("Error connecting to agent at %s: ", form)
				if code != 1 || out != "" || !strings.HasPrefix(errOut, want) {
					t.Errorf("code %d, stdout %q, stderr %q; want 1, \"\", prefix %q", code, out, errOut, want)
				}
			})
		}
	}
}

// insertFlags puts flags right after the command name (the leading words
// that are not flags or arguments).
func insertFlags(args []string, flags ...string) []string {
	n := commandWords(args)
	out := append([]string{}, args[:n]...)
	out = append(out, flags...)
	return append(out, args[n:]...)
}

func commandWords(args []string) int {
	for n := min(len(args), 3); n >= 1; n-- {
		name := strings.Join(args[:n], " ")
		for _, c := range commands() {
			if c.name == name {
				return n
			}
		}
	}
	return 0
}

func TestHTTPErrors(t *testing.T) {
	for _, status := range []struct {
		code int
		body string
	}{
		{http.StatusInternalServerError, "boom\n"},
		{http.StatusForbidden, "Permission denied"},
		{http.StatusBadRequest, "Invalid index"},
	} {
		for _, args := range networkCommands(t) {
			t.Run(fmt.Sprintf("%d %s", status.code, strings.Join(args, " ")), func(t *testing.T) {
				srv := httptest.NewServer(reply(status.code, status.body))
				defer srv.Close()
				code, out, errOut := runCLI(args, "", map[string]string{envHTTPAddr: srv.URL})
				want := fmt.Sprintf("Unexpected response code: %d (%s)", status.code, strings.TrimSpace(status.body))
				if code != 1 || out != "" || !strings.Contains(errOut, want) {
					t.Errorf("code %d, stdout %q, stderr %q; want 1, \"\", %q", code, out, errOut, want)
				}
			})
		}
	}
}

func TestCommonFlags(t *testing.T) {
	members := map[string]http.HandlerFunc{"GET /v1/agent/members": replyJSON(`[]`)}
	tokenIs := func(want string) func(*testing.T, []recordedRequest) {
		return func(t *testing.T, reqs []recordedRequest) {
			if got := reqs[0].Header.Get("X-Consul-Token"); got != want {
				t.Errorf("X-Consul-Token = %q, want %q", got, want)
			}
		}
	}
	runCases(t, []cliCase{
		{name: "token from env", args: []string{"members"}, routes: members,
			env: map[string]string{envHTTPToken: "s3cret"}, outHas: []string{"Node"}, check: tokenIs("s3cret")},
		{name: "token flag wins", args: []string{"members", "-token", "flag"}, routes: members,
			env: map[string]string{envHTTPToken: "env"}, outHas: []string{"Node"}, check: tokenIs("flag")},
		{name: "no token", args: []string{"members"}, routes: members, outHas: []string{"Node"}, check: tokenIs("")},
		{name: "stale", args: []string{"catalog", "services", "-stale"},
			routes:   map[string]http.HandlerFunc{"GET /v1/catalog/services": replyJSON(`{}`)},
			wantReqs: []string{"GET /v1/catalog/services?stale"}},
		{name: "bad format", args: []string{"members", "-format", "yaml"}, wantCode: 1,
			errHas: []string{`invalid -format "yaml"`, "Usage: beacon members"}},
		{name: "bad flag", args: []string{"members", "-nope"}, wantCode: 1,
			errHas: []string{"flag provided but not defined: -nope", "Usage: beacon members [options]"}},
		{name: "stale only on reads", args: []string{"leave", "-stale"}, wantCode: 1,
			errHas: []string{"flag provided but not defined: -stale"}},
		{name: "bad scheme", args: []string{"members", "-http-addr", "ftp://x:1"}, wantCode: 1,
			errHas: []string{"scheme must be http or https"}},
		{name: "address with path", args: []string{"members", "-http-addr", "http://x:1/v1"}, wantCode: 1,
			errHas: []string{"want host:port"}},
		{name: "extra argument", args: []string{"members", "x"}, wantCode: 1,
			errHas: []string{"too many arguments", "Usage: beacon members"}},
	})
}

func TestHelp(t *testing.T) {
	runCases(t, []cliCase{
		{name: "help", args: []string{"help"}, outHas: []string{"Usage: beacon <command>", "kv put", "operator raft list-peers", "snapshot inspect"}},
		{name: "help command", args: []string{"help", "kv", "put"}, outHas: []string{"Usage: beacon kv put [options] KEY", "-modify-index", "-http-addr"}},
		{name: "help family", args: []string{"help", "operator"}, outHas: []string{"operator raft remove-peer"}},
		{name: "help unknown", args: []string{"help", "nope"}, wantCode: 1, errHas: []string{`unknown command "nope"`}},
		{name: "-h", args: []string{"kv", "get", "-h"}, outHas: []string{"Usage: beacon kv get", "-recurse", "-stale", "-token"}},
		{name: "-h on every command", args: []string{"snapshot", "inspect", "-help"}, outHas: []string{"Usage: beacon snapshot inspect [options] FILE"}},
		{name: "family -h", args: []string{"kv", "-h"}, outHas: []string{"kv delete", "kv export"}},
		{name: "family alone", args: []string{"catalog"}, wantCode: 1, errHas: []string{"catalog nodes", "catalog services"}},
		{name: "unknown subcommand", args: []string{"kv", "nope"}, wantCode: 1, errHas: []string{`unknown subcommand "nope"`, "kv get"}},
		{name: "operator raft alone", args: []string{"operator", "raft"}, wantCode: 1, errHas: []string{"operator raft list-peers"}},
		{name: "unknown command", args: []string{"nope"}, wantCode: 1, errHas: []string{`unknown command "nope"`}},
		{name: "no command", args: nil, wantCode: 1, errHas: []string{"Usage: beacon"}},
	})
	_, out, _ := runCLI([]string{"leave", "-h"}, "", map[string]string{envHTTPToken: "s3cret"})
	if strings.Contains(out, "s3cret") {
		t.Errorf("help shows the token:\n%s", out)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		args := append(strings.Fields(c.name), "-h")
		code, out, errOut := runCLI(args, "", nil)
		if code != 0 || !strings.HasPrefix(out, "Usage: beacon "+c.name+" ") || errOut != "" {
			t.Errorf("%s -h: code %d, stderr %q, stdout:\n%s", c.name, code, errOut, out)
		}
	}
}

func TestEncodeQuery(t *testing.T) {
	for _, tc := range []struct {
		in   map[string][]string
		want string
	}{
		{nil, ""},
		{map[string][]string{"recurse": {""}}, "recurse"},
		{map[string][]string{"keys": {""}, "separator": {"/"}}, "keys&separator=%2F"},
		{map[string][]string{"cas": {"0"}, "flags": {"3"}}, "cas=0&flags=3"},
	} {
		if got := encodeQuery(tc.in); got != tc.want {
			t.Errorf("encodeQuery(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// mustJSON is v encoded as JSON.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
