package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// txnAnswer is a PUT /v1/txn answer decoded the way consul/api's Txn
// decodes it.
type txnAnswer struct {
	ok   bool
	resp *consul.TxnResponse
	err  error
}

func txnRun(c *consul.Client, ops consul.TxnOps) txnAnswer {
	ok, resp, _, err := c.Txn().Txn(ops, nil)
	return txnAnswer{ok, resp, err}
}

func txnKVOp(verb consul.KVOp, key, value string) *consul.TxnOp {
	op := &consul.KVTxnOp{Verb: verb, Key: key}
	if value != "" {
		op.Value = []byte(value)
	}
	return &consul.TxnOp{KV: op}
}

func TestTxnKV(t *testing.T) {
	ta := newTestAPI(t)
	c := newSessionClient(t, ta)
	ta.do("PUT", "/v1/kv/existing", "old")
	_, hdr, _ := ta.do("GET", "/v1/kv/existing", "")
	existingIndex := hdr.Get("X-Consul-Index")

	tests := []struct {
		name       string
		ops        consul.TxnOps
		wantOK     bool
		wantKeys   []string // keys of the results, in order (committed)
		wantErrAt  int      // OpIndex of the first error (rolled back)
		wantWhat   string   // substring of that error
		afterKey   string   // a key to read afterwards…
		afterValue string   // …and its value ("" for absent)
	}{
		{name: "set and get", ops: consul.TxnOps{txnKVOp(consul.KVSet, "a", "1"), txnKVOp(consul.KVSet, "b", "2"), txnKVOp(consul.KVGet, "a", "")},
			wantOK: true, wantKeys: []string{"a", "b", "a"}, afterKey: "b", afterValue: "2"},
		{name: "get-tree", ops: consul.TxnOps{txnKVOp(consul.KVGetTree, "", "")},
			wantOK: true, wantKeys: []string{"a", "b", "existing"}},
		{name: "cas with a stale index rolls back", ops: consul.TxnOps{txnKVOp(consul.KVSet, "c", "3"), {KV: &consul.KVTxnOp{Verb: consul.KVCAS, Key: "a", Value: []byte("x"), Index: 1}}},
			wantErrAt: 1, wantWhat: "index is stale", afterKey: "c", afterValue: ""},
		{name: "check-index", ops: consul.TxnOps{{KV: &consul.KVTxnOp{Verb: consul.KVCheckIndex, Key: "existing", Index: txnMustUint(t, existingIndex)}}, txnKVOp(consul.KVDelete, "existing", "")},
			wantOK: true, wantKeys: []string{"existing"}, afterKey: "existing", afterValue: ""},
		{name: "get of a missing key rolls back", ops: consul.TxnOps{txnKVOp(consul.KVSet, "d", "4"), txnKVOp(consul.KVGet, "nope", "")},
			wantErrAt: 1, wantWhat: `key "nope" doesn't exist`, afterKey: "d"},
		{name: "unknown verb", ops: consul.TxnOps{txnKVOp(consul.KVSet, "e", "5"), txnKVOp("frobnicate", "e", "")},
			wantErrAt: 1, wantWhat: `invalid KV.Verb: unknown verb "frobnicate"`, afterKey: "e"},
		{name: "lock without a session", ops: consul.TxnOps{txnKVOp(consul.KVLock, "f", "")},
			wantErrAt: 0, wantWhat: "KV.Session"},
		{name: "delete-tree", ops: consul.TxnOps{txnKVOp(consul.KVDeleteTree, "", "")},
			wantOK: true, wantKeys: []string{}, afterKey: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := txnRun(c, tt.ops)
			if got.err != nil || got.resp == nil || got.ok != tt.wantOK {
				t.Fatalf("Txn = %v, %+v, %v; want ok %v", got.ok, got.resp, got.err, tt.wantOK)
			}
			if tt.wantOK {
				if len(got.resp.Errors) != 0 || len(got.resp.Results) != len(tt.wantKeys) {
					t.Fatalf("results %s, errors %s; want keys %v", sessionJSONText(got.resp.Results), sessionJSONText(got.resp.Errors), tt.wantKeys)
				}
				for i, r := range got.resp.Results {
					if r.KV == nil || r.KV.Key != tt.wantKeys[i] {
						t.Errorf("result %d = %s, want key %q", i, sessionJSONText(r), tt.wantKeys[i])
					}
				}
			} else {
				if len(got.resp.Results) != 0 || len(got.resp.Errors) == 0 {
					t.Fatalf("rolled back with results %s, errors %s", sessionJSONText(got.resp.Results), sessionJSONText(got.resp.Errors))
				}
				e := got.resp.Errors[0]
				if e.OpIndex != tt.wantErrAt || !strings.Contains(e.What, tt.wantWhat) {
					t.Errorf("error = %+v, want op %d %q", e, tt.wantErrAt, tt.wantWhat)
				}
			}
			if tt.afterKey != "" {
				kv, _, err := c.KV().Get(tt.afterKey, nil)
				var value string
				if kv != nil {
					value = string(kv.Value)
				}
				if err != nil || value != tt.afterValue {
					t.Errorf("%s afterwards = %q (%v), want %q", tt.afterKey, value, err, tt.afterValue)
				}
			}
		})
	}
}

func txnMustUint(t *testing.T, s string) uint64 {
	t.Helper()
	var v uint64
	if _, err := fmt.Sscan(s, &v); err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

// TestTxnWireFormat pins the raw JSON: base64 values, a write's result
// without its value, null Errors on commit and null Results on rollback.
func TestTxnWireFormat(t *testing.T) {
	ta := newTestAPI(t)
	value := base64.StdEncoding.EncodeToString([]byte("hello"))
	tests := []struct {
		name      string
		body      string
		wantCode  int
		wantParts []string
	}{
		{"commit", `[{"KV":{"Verb":"set","Key":"k","Value":"` + value + `","Flags":7}},{"KV":{"Verb":"get","Key":"k"}}]`, 200,
			[]string{`"Errors":null`, `"Value":null`, `"Value":"` + value + `"`, `"Flags":7`}},
		{"rollback", `[{"KV":{"Verb":"set","Key":"rolled-back"}},{"KV":{"Verb":"cas","Key":"k","Index":99}}]`, 409,
			[]string{`"Results":null`, `"Errors":[{"OpIndex":1,"What":"failed to set key \"k\", index is stale"}]`}},
		{"no operations", `[]`, 200, []string{`"Results":[]`, `"Errors":null`}},
		{"empty op", `[{}]`, 409, []string{`"OpIndex":0`, `must have exactly one of KV, Node, Service or Check`}},
		{"bad json", `[{"KV":`, 400, []string{"Request decode failed"}},
		{"bad base64", `[{"KV":{"Verb":"set","Key":"k","Value":"%%%"}}]`, 400, []string{"Request decode failed"}},
		{"not a list", `{"KV":{}}`, 400, []string{"Request decode failed"}},
		{"too many operations", txnBody(65), 413, []string{"Transaction contains too many operations (65 > 64)"}},
		{"64 operations", txnBody(64), 200, []string{`"Key":"k63"`}},
		{"value too large", `[{"KV":{"Verb":"set","Key":"big","Value":"` + base64.StdEncoding.EncodeToString(make([]byte, 512<<10+1)) + `"}}]`, 413,
			[]string{`Value for key "big" is too large (524289 > 524288 bytes)`}},
		{"values too large together", txnBigBody(3, 400<<10), 413, []string{"Transaction too large"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := ta.do("PUT", "/v1/txn", tt.body)
			if code != tt.wantCode {
				t.Fatalf("= %d %.300q, want %d", code, body, tt.wantCode)
			}
			for _, p := range tt.wantParts {
				if !strings.Contains(body, p) {
					t.Errorf("body %.300q lacks %q", body, p)
				}
			}
			if code == 200 && len(tt.body) > 2 && hdr.Get("X-Consul-Index") == "" {
				t.Errorf("no X-Consul-Index")
			}
		})
	}
	if code, _, _ := ta.do("GET", "/v1/kv/rolled-back", ""); code != 404 {
		t.Errorf("the rolled back set took effect: %d", code)
	}
	if code, _, body := ta.do("PUT", "/v1/txn?dc=dc9", `[]`); code != 500 || !strings.Contains(body, "No path to datacenter") {
		t.Errorf("PUT /v1/txn?dc=dc9 = %d %q, want 500", code, body)
	}
	if code, _, body := ta.do("GET", "/v1/txn", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/txn = %d %q, want 405", code, body)
	}
}

// txnBody is a transaction of n sets.
func txnBody(n int) string {
	ops := make([]string, n)
	for i := range ops {
		ops[i] = fmt.Sprintf(`{"KV":{"Verb":"set","Key":"k%d","Value":"dg=="}}`, i)
	}
	return "[" + strings.Join(ops, ",") + "]"
}

// txnBigBody is a transaction of n sets of size bytes each.
func txnBigBody(n, size int) string {
	v := base64.StdEncoding.EncodeToString(make([]byte, size))
	ops := make([]string, n)
	for i := range ops {
		ops[i] = fmt.Sprintf(`{"KV":{"Verb":"set","Key":"big%d","Value":"%s"}}`, i, v)
	}
	return "[" + strings.Join(ops, ",") + "]"
}

func TestTxnCatalog(t *testing.T) {
	ta := newTestAPI(t)
	c := newSessionClient(t, ta)
	node := consul.Node{Node: "n1", Address: "10.0.0.9", Meta: map[string]string{"rack": "r1"}}
	svc := consul.AgentService{ID: "web-1", Service: "web", Tags: []string{"v1"}, Port: 8080, Address: "10.0.0.9"}
	check := consul.HealthCheck{Node: "n1", CheckID: "web-http", Name: "http", Status: "passing", ServiceID: "web-1",
		Definition: consul.HealthCheckDefinition{HTTP: "http://10.0.0.9:8080/", IntervalDuration: 10 * time.Second, TimeoutDuration: 2 * time.Second}}

	got := txnRun(c, consul.TxnOps{
		{Node: &consul.NodeTxnOp{Verb: consul.NodeSet, Node: node}},
		{Service: &consul.ServiceTxnOp{Verb: consul.ServiceSet, Node: "n1", Service: svc}},
		{Check: &consul.CheckTxnOp{Verb: consul.CheckSet, Check: check}},
	})
	if got.err != nil || !got.ok || len(got.resp.Results) != 3 {
		t.Fatalf("set = %v, %s, %v", got.ok, sessionJSONText(got.resp), got.err)
	}

	got = txnRun(c, consul.TxnOps{
		{Node: &consul.NodeTxnOp{Verb: consul.NodeGet, Node: consul.Node{Node: "n1"}}},
		{Service: &consul.ServiceTxnOp{Verb: consul.ServiceGet, Node: "n1", Service: consul.AgentService{ID: "web-1"}}},
		{Check: &consul.CheckTxnOp{Verb: consul.CheckGet, Check: consul.HealthCheck{Node: "n1", CheckID: "web-http"}}},
	})
	if got.err != nil || !got.ok || len(got.resp.Results) != 3 {
		t.Fatalf("get = %v, %s, %v", got.ok, sessionJSONText(got.resp), got.err)
	}
	n, s, ch := got.resp.Results[0].Node, got.resp.Results[1].Service, got.resp.Results[2].Check
	switch {
	case n == nil || n.Node != "n1" || n.Address != "10.0.0.9" || n.Datacenter != "dc1" || n.Meta["rack"] != "r1" || n.CreateIndex == 0:
		t.Errorf("node = %s", sessionJSONText(n))
	case s == nil || s.ID != "web-1" || s.Service != "web" || s.Port != 8080 || len(s.Tags) != 1 || s.Weights != (consul.AgentWeights{Passing: 1, Warning: 1}) || s.ModifyIndex == 0:
		t.Errorf("service = %s", sessionJSONText(s))
	case ch == nil || ch.CheckID != "web-http" || ch.Status != "passing" || ch.ServiceName != "web" ||
		ch.Definition.IntervalDuration != 10*time.Second || ch.Definition.TimeoutDuration != 2*time.Second || ch.Definition.HTTP != check.Definition.HTTP:
		t.Errorf("check = %s", sessionJSONText(ch))
	}

	got = txnRun(c, consul.TxnOps{
		{Service: &consul.ServiceTxnOp{Verb: consul.ServiceDelete, Node: "n1", Service: consul.AgentService{ID: "web-1"}}},
		{Node: &consul.NodeTxnOp{Verb: consul.NodeCAS, Node: consul.Node{Node: "n1", ModifyIndex: 999}}},
	})
	if got.err != nil || got.ok || len(got.resp.Errors) != 1 || got.resp.Errors[0].OpIndex != 1 {
		t.Fatalf("stale node cas = %v, %s, %v; want a rollback at op 1", got.ok, sessionJSONText(got.resp), got.err)
	}
	if _, _, body := ta.do("PUT", "/v1/txn", `[{"Service":{"Verb":"get","Node":"n1","Service":{"ID":"web-1"}}}]`); !strings.Contains(body, `"ID":"web-1"`) {
		t.Errorf("service gone after a rolled back delete: %q", body)
	}
}

func TestTxnSessions(t *testing.T) {
	ta := newTestAPI(t)
	registerSessionNode(ta, "node1")
	c := newSessionClient(t, ta)
	sess := sessionCreateFromBody(t, ta, `{"LockDelay":"0s"}`)

	lock := &consul.TxnOp{KV: &consul.KVTxnOp{Verb: consul.KVLock, Key: "leader", Value: []byte("me"), Session: sess}}
	checkHeld := &consul.TxnOp{KV: &consul.KVTxnOp{Verb: consul.KVCheckSession, Key: "leader", Session: sess}}
	unlock := &consul.TxnOp{KV: &consul.KVTxnOp{Verb: consul.KVUnlock, Key: "leader", Session: sess}}
	tests := []struct {
		name   string
		ops    consul.TxnOps
		wantOK bool
	}{
		{"lock", consul.TxnOps{lock}, true},
		{"check-session", consul.TxnOps{checkHeld}, true},
		{"unlock", consul.TxnOps{unlock}, true},
		{"check-session after unlock", consul.TxnOps{checkHeld}, false},
		{"relock", consul.TxnOps{lock, checkHeld}, true},
	}
	for _, tt := range tests {
		got := txnRun(c, tt.ops)
		if got.err != nil || got.ok != tt.wantOK {
			t.Errorf("%s: = %v, %s, %v; want ok %v", tt.name, got.ok, sessionJSONText(got.resp), got.err, tt.wantOK)
		}
	}
	if _, err := c.Session().Destroy(sess, nil); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	kv, _, err := c.KV().Get("leader", nil)
	if err != nil || kv == nil || kv.Session != "" {
		t.Fatalf("after destroying the holder: %+v, %v", kv, err)
	}
}

// TestTxnResultShape checks a result decodes into consul/api's types as a
// whole response, including the unused members.
func TestTxnResultShape(t *testing.T) {
	ta := newTestAPI(t)
	_, _, body := ta.do("PUT", "/v1/txn", `[{"KV":{"Verb":"set","Key":"s","Value":"eA=="}}]`)
	var resp consul.TxnResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	r := resp.Results[0]
	if r.KV == nil || r.Node != nil || r.Service != nil || r.Check != nil || r.KV.Key != "s" || r.KV.Value != nil || r.KV.ModifyIndex == 0 {
		t.Fatalf("result = %s", sessionJSONText(r))
	}
}

// TestTxnReadOnlyIsARead: a transaction of reads only is served from the
// state as it is, as Consul serves it: no Raft entry, the read headers and
// consistency modes, and the same 409 when one of its checks fails.
func TestTxnReadOnlyIsARead(t *testing.T) {
	ta := newTestAPI(t)
	ta.do("PUT", "/v1/kv/a", "1")
	_, hdr, _ := ta.do("GET", "/v1/kv/a", "")
	index := hdr.Get("X-Consul-Index")
	applied := ta.store.index()

	tests := []struct {
		name, query, body string
		wantCode          int
		wantBody          string
		wantConsistency   string
	}{
		{"get and check-index", "", `[{"KV":{"Verb":"get","Key":"a"}},{"KV":{"Verb":"check-index","Key":"a","Index":` + index + `}}]`,
			200, `"Value":"MQ=="`, "leader"},
		{"get-tree, stale", "?stale", `[{"KV":{"Verb":"get-tree","Key":""}}]`, 200, `"Key":"a"`, "stale"},
		{"consistent", "?consistent", `[{"KV":{"Verb":"check-not-exists","Key":"b"}}]`, 200, `"Results":[]`, "consistent"},
		{"a failed check is a 409", "", `[{"KV":{"Verb":"get","Key":"a"}},{"KV":{"Verb":"check-index","Key":"a","Index":999}}]`,
			409, `"OpIndex":1,"What":"current modify index ` + index + ` != 999"`, "leader"},
		{"a node that is not there", "", `[{"Node":{"Verb":"get","Node":{"Node":"nope"}}}]`, 409, `node \"nope\" doesn't exist`, "leader"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := ta.do("PUT", "/v1/txn"+tt.query, tt.body)
			if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("= %d %s, want %d with %s", code, body, tt.wantCode, tt.wantBody)
			}
			if got := hdr.Get("X-Consul-Index"); got != index {
				t.Errorf("X-Consul-Index = %q, want %s (the applied index)", got, index)
			}
			if got := hdr.Get("X-Consul-Effective-Consistency"); got != tt.wantConsistency {
				t.Errorf("X-Consul-Effective-Consistency = %q, want %q", got, tt.wantConsistency)
			}
			if hdr.Get("X-Consul-KnownLeader") != "true" {
				t.Errorf("X-Consul-KnownLeader = %q", hdr.Get("X-Consul-KnownLeader"))
			}
			if got := ta.store.index(); got != applied {
				t.Errorf("a read-only transaction was applied through the log (index %d -> %d)", applied, got)
			}
		})
	}
	// One write among reads takes the log, as before.
	if code, _, body := ta.do("PUT", "/v1/txn", `[{"KV":{"Verb":"get","Key":"a"}},{"KV":{"Verb":"set","Key":"b","Value":"Mg=="}}]`); code != 200 || ta.store.index() != applied+1 {
		t.Errorf("get + set = %d %s, log index %d -> %d; want 200 and one entry", code, body, applied, ta.store.index())
	}
	if code, _, body := ta.do("PUT", "/v1/txn?stale&consistent", `[{"KV":{"Verb":"get","Key":"a"}}]`); code != 400 {
		t.Errorf("?stale&consistent = %d %s, want 400", code, body)
	}
}
