package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/catalog"
)

// newSessionClient returns a consul/api client of ta's server.
func newSessionClient(t *testing.T, ta *testAPI) *consul.Client {
	t.Helper()
	c, err := consul.NewClient(&consul.Config{Address: ta.srv.URL, Datacenter: "dc1"})
	if err != nil {
		t.Fatalf("consul.NewClient: %v", err)
	}
	return c
}

// registerSessionNode registers node with a passing serfHealth check, a
// passing node check "extra", and a service "web" with check "web-check".
func registerSessionNode(ta *testAPI, node string) {
	ta.apply(&catalog.RegisterRequest{
		Node: catalog.Node{Node: node, Address: "10.0.0.1"},
		Checks: []*catalog.Check{
			{CheckID: "serfHealth", Name: "Node Liveness", Status: catalog.HealthPassing},
			{CheckID: "extra", Name: "extra", Status: catalog.HealthPassing},
		},
	})
	ta.apply(&catalog.RegisterRequest{
		Node:           catalog.Node{Node: node},
		SkipNodeUpdate: true,
		Service:        &catalog.Service{ID: "web", Service: "web", Port: 80},
		Checks:         []*catalog.Check{{CheckID: "web-check", Name: "web", Status: catalog.HealthPassing, ServiceID: "web"}},
	})
}

// sessionCreateFromBody creates a session from a raw body and returns its ID.
func sessionCreateFromBody(t *testing.T, ta *testAPI, body string) string {
	t.Helper()
	code, _, resp := ta.do("PUT", "/v1/session/create", body)
	if code != http.StatusOK {
		t.Fatalf("create %s = %d %q", body, code, resp)
	}
	var out struct{ ID string }
	if err := json.Unmarshal([]byte(resp), &out); err != nil || out.ID == "" {
		t.Fatalf("create %s: bad answer %q: %v", body, resp, err)
	}
	return out.ID
}

func TestSessionCreateDefaults(t *testing.T) {
	ta := newTestAPI(t)
	registerSessionNode(ta, "node1")
	c := newSessionClient(t, ta)

	id, _, err := c.Session().Create(nil, nil)
	if err != nil {
		t.Fatalf("Create(nil): %v", err)
	}
	if len(id) != 36 || id[14] != '4' {
		t.Errorf("ID %q is not a version 4 UUID", id)
	}
	se, qm, err := c.Session().Info(id, nil)
	if err != nil || se == nil {
		t.Fatalf("Info = %v, %v", se, err)
	}
	if qm.LastIndex == 0 || !qm.KnownLeader {
		t.Errorf("query meta = %+v, want an index and a known leader", qm)
	}
	want := consul.SessionEntry{
		ID: id, Node: "node1", LockDelay: 15 * time.Second, Behavior: "release",
		NodeChecks: []string{"serfHealth"}, ServiceChecks: []consul.ServiceCheck{},
	}
	se.CreateIndex = 0
	if !sessionSameJSON(t, se, &want) {
		t.Errorf("session = %+v, want %+v", se, want)
	}
}

// sessionSameJSON compares two values by their JSON encodings.
func sessionSameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("marshal: %v %v", err1, err2)
	}
	return string(ja) == string(jb)
}

func TestSessionCreate(t *testing.T) {
	ta := newTestAPI(t)
	registerSessionNode(ta, "node1")
	c := newSessionClient(t, ta)
	tests := []struct {
		name     string
		body     string
		wantCode int
		wantBody string                            // for errors: the exact message
		check    func(*consul.SessionEntry) string // for successes: "" or what is wrong
	}{
		{name: "lock delay string", body: `{"LockDelay":"20s"}`, check: sessionLockDelayIs(20 * time.Second)},
		{name: "lock delay small number is seconds", body: `{"LockDelay":5}`, check: sessionLockDelayIs(5 * time.Second)},
		{name: "lock delay large number is nanoseconds", body: `{"LockDelay":2000000000}`, check: sessionLockDelayIs(2 * time.Second)},
		{name: "lock delay in consul/api's milliseconds", body: `{"LockDelay":"30000ms"}`, check: sessionLockDelayIs(30 * time.Second)},
		{name: "lock delay zero", body: `{"LockDelay":"0s"}`, check: sessionLockDelayIs(0)},
		{name: "lock delay null keeps the default", body: `{"LockDelay":null}`, check: sessionLockDelayIs(15 * time.Second)},
		{name: "ttl", body: `{"TTL":"10s","Name":"n"}`, check: func(s *consul.SessionEntry) string {
			if s.TTL != "10s" || s.Name != "n" {
				return "TTL " + s.TTL + " name " + s.Name
			}
			return ""
		}},
		{name: "behavior delete", body: `{"Behavior":"delete"}`, check: func(s *consul.SessionEntry) string {
			if s.Behavior != "delete" {
				return "behavior " + s.Behavior
			}
			return ""
		}},
		{name: "empty NodeChecks binds none", body: `{"NodeChecks":[]}`, check: sessionNodeChecksAre()},
		{name: "empty legacy Checks binds none", body: `{"Checks":[]}`, check: sessionNodeChecksAre()},
		{name: "NodeChecks replace the default", body: `{"NodeChecks":["extra"]}`, check: sessionNodeChecksAre("extra")},
		{name: "legacy Checks add to the default", body: `{"Checks":["extra"]}`, check: sessionNodeChecksAre("serfHealth", "extra")},
		{name: "ServiceChecks keep the default", body: `{"ServiceChecks":[{"ID":"web-check"}]}`, check: func(s *consul.SessionEntry) string {
			if msg := sessionNodeChecksAre("serfHealth")(s); msg != "" {
				return msg
			}
			if len(s.ServiceChecks) != 1 || s.ServiceChecks[0].ID != "web-check" {
				return "service checks " + strconv.Quote(sessionJSONText(s.ServiceChecks))
			}
			return ""
		}},
		{name: "bad lock delay", body: `{"LockDelay":"soon"}`, wantCode: 400, wantBody: `Request decode failed: LockDelay: time: invalid duration "soon"`},
		{name: "lock delay over 60s", body: `{"LockDelay":"61s"}`, wantCode: 400, wantBody: "Invalid LockDelay '1m1s', must be between [0s=1m0s]"},
		{name: "negative lock delay", body: `{"LockDelay":"-5s"}`, wantCode: 400, wantBody: "Invalid LockDelay '-5s'"},
		{name: "huge lock delay number", body: `{"LockDelay":1e30}`, wantCode: 400, wantBody: "Invalid LockDelay '1e30'"},
		{name: "ttl too short", body: `{"TTL":"5s"}`, wantCode: 400, wantBody: "Invalid Session TTL '5s', must be between [10s=24h0m0s]"},
		{name: "ttl too long", body: `{"TTL":"25h"}`, wantCode: 400, wantBody: "Invalid Session TTL '25h', must be between [10s=24h0m0s]"},
		{name: "bad ttl", body: `{"TTL":"x"}`, wantCode: 400, wantBody: `Session TTL 'x' invalid: time: invalid duration "x"`},
		{name: "bad behavior", body: `{"Behavior":"explode"}`, wantCode: 400, wantBody: "Invalid Behavior setting 'explode'"},
		{name: "bad json", body: `{"Name":`, wantCode: 400, wantBody: "Request decode failed"},
		{name: "unknown node", body: `{"Node":"ghost"}`, wantCode: 404, wantBody: `node "ghost"`},
		{name: "unknown check", body: `{"NodeChecks":["nope"]}`, wantCode: 404, wantBody: `check "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := ta.do("PUT", "/v1/session/create", tt.body)
			if tt.wantCode != 0 {
				if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
					t.Fatalf("= %d %q, want %d %q", code, body, tt.wantCode, tt.wantBody)
				}
				return
			}
			var out struct{ ID string }
			if code != 200 || json.Unmarshal([]byte(body), &out) != nil {
				t.Fatalf("= %d %q, want 200 with an ID", code, body)
			}
			se, _, err := c.Session().Info(out.ID, nil)
			if err != nil || se == nil {
				t.Fatalf("Info = %v, %v", se, err)
			}
			if msg := tt.check(se); msg != "" {
				t.Errorf("session: %s", msg)
			}
		})
	}
}

func sessionLockDelayIs(d time.Duration) func(*consul.SessionEntry) string {
	return func(s *consul.SessionEntry) string {
		if s.LockDelay != d {
			return "lock delay " + s.LockDelay.String() + ", want " + d.String()
		}
		return ""
	}
}

func sessionNodeChecksAre(ids ...string) func(*consul.SessionEntry) string {
	return func(s *consul.SessionEntry) string {
		if s.NodeChecks == nil || strings.Join(s.NodeChecks, ",") != strings.Join(ids, ",") {
			return "node checks " + sessionJSONText(s.NodeChecks) + ", want " + sessionJSONText(ids)
		}
		return ""
	}
}

func sessionJSONText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSessionCreateWithConsulClient(t *testing.T) {
	ta := newTestAPI(t)
	registerSessionNode(ta, "node1")
	c := newSessionClient(t, ta)
	tests := []struct {
		name       string
		create     func() (string, *consul.WriteMeta, error)
		wantChecks []string
	}{
		{"Create", func() (string, *consul.WriteMeta, error) {
			return c.Session().Create(&consul.SessionEntry{Name: "a", LockDelay: 3 * time.Second, TTL: "30s"}, nil)
		}, []string{"serfHealth"}},
		{"CreateNoChecks", func() (string, *consul.WriteMeta, error) {
			return c.Session().CreateNoChecks(&consul.SessionEntry{Name: "a", LockDelay: 3 * time.Second, TTL: "30s"}, nil)
		}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, _, err := tt.create()
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			se, _, err := c.Session().Info(id, nil)
			if err != nil || se == nil {
				t.Fatalf("Info = %v, %v", se, err)
			}
			if se.LockDelay != 3*time.Second || se.TTL != "30s" || se.Name != "a" || !sessionSameJSON(t, se.NodeChecks, tt.wantChecks) {
				t.Errorf("session = %+v", se)
			}
		})
	}
}

func TestSessionReads(t *testing.T) {
	ta := newTestAPI(t)
	registerSessionNode(ta, "node1")
	registerSessionNode(ta, "node2")
	c := newSessionClient(t, ta)
	s1 := sessionCreateFromBody(t, ta, `{"Name":"one"}`)
	s2 := sessionCreateFromBody(t, ta, `{"Name":"two"}`)
	s3 := sessionCreateFromBody(t, ta, `{"Node":"node2"}`)
	unknown := "00000000-0000-4000-8000-000000000000"

	steps := []struct {
		name         string
		method, path string
		wantCode     int
		wantIDs      []string // sessions in a list answer, in any order; nil: not a list
		wantBody     string   // substring, for non-list answers
	}{
		{"list", "GET", "/v1/session/list", 200, []string{s1, s2, s3}, ""},
		{"node", "GET", "/v1/session/node/node1", 200, []string{s1, s2}, ""},
		{"node without sessions", "GET", "/v1/session/node/nobody", 200, []string{}, ""},
		{"info", "GET", "/v1/session/info/" + s3, 200, []string{s3}, ""},
		{"info unknown", "GET", "/v1/session/info/" + unknown, 200, []string{}, ""},
		{"renew", "PUT", "/v1/session/renew/" + s1, 200, []string{s1}, ""},
		{"renew unknown", "PUT", "/v1/session/renew/" + unknown, 404, nil, "Session id '" + unknown + "' not found"},
		{"renew with GET", "GET", "/v1/session/renew/" + s1, 405, nil, ""},
		{"destroy", "PUT", "/v1/session/destroy/" + s2, 200, nil, "true"},
		{"destroy again", "PUT", "/v1/session/destroy/" + s2, 200, nil, "true"},
		{"destroyed", "GET", "/v1/session/info/" + s2, 200, []string{}, ""},
		{"list after destroy", "GET", "/v1/session/list", 200, []string{s1, s3}, ""},
		{"other dc", "GET", "/v1/session/list?dc=dc9", 500, nil, "No path to datacenter"},
		{"destroy in other dc", "PUT", "/v1/session/destroy/" + s1 + "?dc=dc9", 500, nil, "No path to datacenter"},
		{"bad index", "GET", "/v1/session/list?index=x", 400, nil, "Invalid index"},
		{"destroy without id", "PUT", "/v1/session/destroy/", 400, nil, "Missing session"},
		{"info without id", "GET", "/v1/session/info/", 400, nil, "Missing session"},
		{"node without name", "GET", "/v1/session/node/", 400, nil, "Missing node name"},
	}
	for _, s := range steps {
		code, hdr, body := ta.do(s.method, s.path, "")
		if code != s.wantCode || !strings.Contains(body, s.wantBody) {
			t.Errorf("%s: %s %s = %d %q, want %d containing %q", s.name, s.method, s.path, code, body, s.wantCode, s.wantBody)
			continue
		}
		if s.wantIDs == nil {
			continue
		}
		var got []consul.SessionEntry
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Errorf("%s: decode %q: %v", s.name, body, err)
			continue
		}
		ids := map[string]bool{}
		for _, se := range got {
			ids[se.ID] = true
		}
		if len(got) != len(s.wantIDs) {
			t.Errorf("%s: got %d sessions %q, want %v", s.name, len(got), body, s.wantIDs)
		}
		for _, id := range s.wantIDs {
			if !ids[id] {
				t.Errorf("%s: session %s missing from %q", s.name, id, body)
			}
		}
		if s.method == "GET" && hdr.Get("X-Consul-Index") == "" {
			t.Errorf("%s: no X-Consul-Index", s.name)
		}
	}

	t.Run("consul client renew", func(t *testing.T) {
		se, _, err := c.Session().Renew(s1, nil)
		if err != nil || se == nil || se.ID != s1 {
			t.Fatalf("Renew(known) = %v, %v", se, err)
		}
		se, _, err = c.Session().Renew(unknown, nil)
		if err != nil || se != nil {
			t.Fatalf("Renew(unknown) = %v, %v, want nil, nil", se, err)
		}
	})
	t.Run("consul client list", func(t *testing.T) {
		list, qm, err := c.Session().Node("node2", nil)
		if err != nil || len(list) != 1 || list[0].ID != s3 || list[0].Node != "node2" {
			t.Fatalf("Node(node2) = %v, %v", list, err)
		}
		if list[0].CreateIndex == 0 || list[0].CreateIndex > qm.LastIndex {
			t.Errorf("CreateIndex %d, X-Consul-Index %d", list[0].CreateIndex, qm.LastIndex)
		}
	})
}

func TestSessionBlockingList(t *testing.T) {
	ta := newTestAPI(t)
	registerSessionNode(ta, "node1")
	c := newSessionClient(t, ta)
	_, qm, err := c.Session().List(nil)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	type answer struct {
		list []*consul.SessionEntry
		qm   *consul.QueryMeta
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		list, qm2, err := c.Session().List(&consul.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: 10 * time.Second})
		done <- answer{list, qm2, err}
	}()
	id := sessionCreateFromBody(t, ta, "")
	select {
	case a := <-done:
		if a.err != nil || len(a.list) != 1 || a.list[0].ID != id || a.qm.LastIndex <= qm.LastIndex {
			t.Fatalf("blocking List = %v, %+v, %v", a.list, a.qm, a.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking List did not wake on a session create")
	}
}

func TestSessionLocks(t *testing.T) {
	ta := newTestAPI(t)
	registerSessionNode(ta, "node1")
	owner := sessionCreateFromBody(t, ta, `{"LockDelay":"0s"}`)
	other := sessionCreateFromBody(t, ta, `{"LockDelay":"0s"}`)
	ephemeral := sessionCreateFromBody(t, ta, `{"LockDelay":"0s","Behavior":"delete"}`)

	steps := []struct {
		name, method, path, body string
		wantCode                 int
		wantBody                 string
	}{
		{"acquire", "PUT", "/v1/kv/lock?acquire=" + owner, "me", 200, "true"},
		{"held", "GET", "/v1/kv/lock", "", 200, `"Session":"` + owner + `"`},
		{"acquire by another", "PUT", "/v1/kv/lock?acquire=" + other, "", 200, "false"},
		{"release by another", "PUT", "/v1/kv/lock?release=" + other, "", 200, "false"},
		{"release", "PUT", "/v1/kv/lock?release=" + owner, "", 200, "true"},
		{"acquire by the other", "PUT", "/v1/kv/lock?acquire=" + other, "", 200, "true"},
		{"destroy the holder", "PUT", "/v1/session/destroy/" + other, "", 200, "true"},
		{"released on destroy", "GET", "/v1/kv/lock", "", 200, `"LockIndex":2`},
		{"acquire after destroy", "PUT", "/v1/kv/lock?acquire=" + owner, "", 200, "true"},
		{"acquire with a destroyed session", "PUT", "/v1/kv/x?acquire=" + other, "", 400, "session"},
		{"acquire ephemeral", "PUT", "/v1/kv/eph?acquire=" + ephemeral, "v", 200, "true"},
		{"destroy the ephemeral holder", "PUT", "/v1/session/destroy/" + ephemeral, "", 200, "true"},
		{"deleted on destroy", "GET", "/v1/kv/eph", "", 404, ""},
	}
	for _, s := range steps {
		code, _, body := ta.do(s.method, s.path, s.body)
		if code != s.wantCode || !strings.Contains(body, s.wantBody) {
			t.Errorf("%s: %s %s = %d %q, want %d containing %q", s.name, s.method, s.path, code, body, s.wantCode, s.wantBody)
		}
	}
	_, _, body := ta.do("GET", "/v1/kv/lock", "")
	var kvs []consul.KVPair
	if err := json.Unmarshal([]byte(body), &kvs); err != nil || len(kvs) != 1 || kvs[0].Session != owner {
		t.Fatalf("after re-acquire: %q (%v), want held by %s", body, err, owner)
	}
}

// TestSessionConsulLock runs consul/api's Lock helper, which creates a TTL
// session, acquires a key with it and watches it with blocking queries.
func TestSessionConsulLock(t *testing.T) {
	ta := newTestAPI(t)
	registerSessionNode(ta, "node1")
	c := newSessionClient(t, ta)
	lock, err := c.LockOpts(&consul.LockOptions{Key: "service/leader", Value: []byte("me"), LockTryOnce: true})
	if err != nil {
		t.Fatalf("LockOpts: %v", err)
	}
	lost, err := lock.Lock(nil)
	if err != nil || lost == nil {
		t.Fatalf("Lock = %v, %v", lost, err)
	}
	// Unlocking stops the lock's blocking monitor query, which would
	// otherwise hold the test server open.
	t.Cleanup(func() { lock.Unlock() })
	kv, _, err := c.KV().Get("service/leader", nil)
	if err != nil || kv == nil || kv.Session == "" || string(kv.Value) != "me" {
		t.Fatalf("lock key = %+v, %v", kv, err)
	}
	se, _, err := c.Session().Info(kv.Session, nil)
	if err != nil || se == nil || se.Name != consul.DefaultLockSessionName || se.TTL != consul.DefaultLockSessionTTL {
		t.Fatalf("lock session = %+v, %v", se, err)
	}
	if err := lock.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	kv, _, err = c.KV().Get("service/leader", nil)
	if err != nil || kv == nil || kv.Session != "" {
		t.Fatalf("after Unlock: %+v, %v", kv, err)
	}
}
