package catalog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// validateCase is one Validate call: field is the ValidationError.Field the
// call must fail with, or "" when the request is valid.
type validateCase struct {
	name  string
	req   catalog.Command
	field string
}

func runValidateCases(t *testing.T, cases []validateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, catalog.ErrInvalid) {
				t.Fatalf("Validate() = %v, want an error matching ErrInvalid", err)
			}
			var ve *catalog.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %T %v, want *ValidationError", err, err)
			}
			if ve.Field != tc.field {
				t.Fatalf("Field = %q, want %q (reason: %s)", ve.Field, tc.field, ve.Reason)
			}
			if ve.Reason == "" {
				t.Fatal("Reason is empty")
			}
		})
	}
}

// valMetaN returns n valid meta pairs.
func valMetaN(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

func valRegister() *catalog.RegisterRequest {
	return &catalog.RegisterRequest{
		Node: catalog.Node{Node: "node-1", Address: "10.0.0.1", Meta: map[string]string{"rack": "r1"}},
		Service: &catalog.Service{
			ID: "web-1", Service: "web", Address: "10.0.0.1", Port: 8080, Tags: []string{"v1"},
			Meta: map[string]string{"version": "1"}, Weights: catalog.Weights{Passing: 1, Warning: 1},
		},
		Checks: []*catalog.Check{{CheckID: "web-1-http", Status: catalog.HealthPassing, ServiceID: "web-1"}},
	}
}

func valReg(mod func(r *catalog.RegisterRequest)) *catalog.RegisterRequest {
	r := valRegister()
	mod(r)
	return r
}

func TestValidateRegisterNode(t *testing.T) {
	runValidateCases(t, []validateCase{
		{"valid", valRegister(), ""},
		{"node only", &catalog.RegisterRequest{Node: catalog.Node{Node: "n"}}, ""},
		{"empty node name", valReg(func(r *catalog.RegisterRequest) { r.Node.Node = "" }), "Node.Node"},
		{"node name with slash", valReg(func(r *catalog.RegisterRequest) { r.Node.Node = "a/b" }), "Node.Node"},
		{"node name 256 bytes", valReg(func(r *catalog.RegisterRequest) { r.Node.Node = strings.Repeat("n", 256) }), "Node.Node"},
		{"node name 255 bytes", valReg(func(r *catalog.RegisterRequest) {
			r.Node.Node = strings.Repeat("n", 255)
			r.Service.Node, r.Checks[0].Node = "", ""
		}), ""},
		{"node name with NUL", valReg(func(r *catalog.RegisterRequest) { r.Node.Node = "a\x00b" }), "Node.Node"},
		{"node ID invalid UTF-8", valReg(func(r *catalog.RegisterRequest) { r.Node.ID = "\xff\xfe" }), "Node.ID"},
		{"node address control char", valReg(func(r *catalog.RegisterRequest) { r.Node.Address = "10.0.0.1\n" }), "Node.Address"},
		{"64 meta pairs", valReg(func(r *catalog.RegisterRequest) { r.Node.Meta = valMetaN(64) }), ""},
		{"65 meta pairs", valReg(func(r *catalog.RegisterRequest) { r.Node.Meta = valMetaN(65) }), "Node.Meta"},
		{"meta key 128 chars", valReg(func(r *catalog.RegisterRequest) { r.Node.Meta = map[string]string{strings.Repeat("k", 128): "v"} }), ""},
		{"meta key 129 chars", valReg(func(r *catalog.RegisterRequest) { r.Node.Meta = map[string]string{strings.Repeat("k", 129): "v"} }),
			`Node.Meta["` + strings.Repeat("k", 129) + `"]`},
		{"meta key with dot", valReg(func(r *catalog.RegisterRequest) { r.Node.Meta = map[string]string{"a.b": "v"} }), `Node.Meta["a.b"]`},
		{"meta key empty", valReg(func(r *catalog.RegisterRequest) { r.Node.Meta = map[string]string{"": "v"} }), `Node.Meta[""]`},
		{"meta value 512 chars", valReg(func(r *catalog.RegisterRequest) { r.Node.Meta = map[string]string{"k": strings.Repeat("v", 512)} }), ""},
		{"meta value 513 chars", valReg(func(r *catalog.RegisterRequest) { r.Node.Meta = map[string]string{"k": strings.Repeat("v", 513)} }), `Node.Meta["k"]`},
	})
}

func TestValidateRegisterService(t *testing.T) {
	runValidateCases(t, []validateCase{
		{"service node matches", valReg(func(r *catalog.RegisterRequest) { r.Service.Node = "node-1" }), ""},
		{"service node differs", valReg(func(r *catalog.RegisterRequest) { r.Service.Node = "node-2" }), "Service.Node"},
		{"empty service name", valReg(func(r *catalog.RegisterRequest) { r.Service.Service = "" }), "Service.Service"},
		{"empty service ID", valReg(func(r *catalog.RegisterRequest) { r.Service.ID = "" }), "Service.ID"},
		{"address 0.0.0.0", valReg(func(r *catalog.RegisterRequest) { r.Service.Address = "0.0.0.0" }), "Service.Address"},
		{"address ::", valReg(func(r *catalog.RegisterRequest) { r.Service.Address = "::" }), "Service.Address"},
		{"address [::]", valReg(func(r *catalog.RegisterRequest) { r.Service.Address = "[::]" }), "Service.Address"},
		{"empty address", valReg(func(r *catalog.RegisterRequest) { r.Service.Address = "" }), ""},
		{"port 0", valReg(func(r *catalog.RegisterRequest) { r.Service.Port = 0 }), ""},
		{"port 65535", valReg(func(r *catalog.RegisterRequest) { r.Service.Port = 65535 }), ""},
		{"port 65536", valReg(func(r *catalog.RegisterRequest) { r.Service.Port = 65536 }), "Service.Port"},
		{"port -1", valReg(func(r *catalog.RegisterRequest) { r.Service.Port = -1 }), "Service.Port"},
		{"65 tags", valReg(func(r *catalog.RegisterRequest) { r.Service.Tags = make([]string, 65) }), "Service.Tags"},
		{"tag with control char", valReg(func(r *catalog.RegisterRequest) { r.Service.Tags = []string{"ok", "b\x7f"} }), "Service.Tags[1]"},
		{"negative weight", valReg(func(r *catalog.RegisterRequest) { r.Service.Weights.Warning = -1 }), "Service.Weights"},
		{"service meta 65 pairs", valReg(func(r *catalog.RegisterRequest) { r.Service.Meta = valMetaN(65) }), "Service.Meta"},
		{"service meta bad key", valReg(func(r *catalog.RegisterRequest) { r.Service.Meta = map[string]string{"a b": "v"} }), `Service.Meta["a b"]`},
	})
}

func TestValidateRegisterChecks(t *testing.T) {
	runValidateCases(t, []validateCase{
		{"nil check", valReg(func(r *catalog.RegisterRequest) { r.Checks = append(r.Checks, nil) }), "Checks[1]"},
		{"empty check ID", valReg(func(r *catalog.RegisterRequest) { r.Checks[0].CheckID = "" }), "Checks[0].CheckID"},
		{"status warning", valReg(func(r *catalog.RegisterRequest) { r.Checks[0].Status = catalog.HealthWarning }), ""},
		{"status critical", valReg(func(r *catalog.RegisterRequest) { r.Checks[0].Status = catalog.HealthCritical }), ""},
		{"status empty", valReg(func(r *catalog.RegisterRequest) { r.Checks[0].Status = "" }), "Checks[0].Status"},
		{"status unknown", valReg(func(r *catalog.RegisterRequest) { r.Checks[0].Status = "Passing" }), "Checks[0].Status"},
		{"check node differs", valReg(func(r *catalog.RegisterRequest) { r.Checks[0].Node = "other" }), "Checks[0].Node"},
		{"output too long", valReg(func(r *catalog.RegisterRequest) { r.Checks[0].Output = strings.Repeat("x", catalog.MaxValueBytes+1) }), "Checks[0].Output"},
		{"service ID with NUL", valReg(func(r *catalog.RegisterRequest) { r.Checks[0].ServiceID = "\x00" }), "Checks[0].ServiceID"},
	})
}

func TestValidateDeregister(t *testing.T) {
	runValidateCases(t, []validateCase{
		{"node", &catalog.DeregisterRequest{Node: "n"}, ""},
		{"service", &catalog.DeregisterRequest{Node: "n", ServiceID: "s"}, ""},
		{"check", &catalog.DeregisterRequest{Node: "n", CheckID: "c"}, ""},
		{"no node", &catalog.DeregisterRequest{ServiceID: "s"}, "Node"},
		{"service and check", &catalog.DeregisterRequest{Node: "n", ServiceID: "s", CheckID: "c"}, "CheckID"},
		{"service ID control char", &catalog.DeregisterRequest{Node: "n", ServiceID: "s\t"}, "ServiceID"},
		{"check ID too long", &catalog.DeregisterRequest{Node: "n", CheckID: strings.Repeat("c", 256)}, "CheckID"},
	})
}

func valCheckUpdates(n int) *catalog.CheckStatusRequest {
	r := &catalog.CheckStatusRequest{Updates: make([]catalog.CheckUpdate, n)}
	for i := range r.Updates {
		r.Updates[i] = catalog.CheckUpdate{Node: "n", CheckID: fmt.Sprint("c", i), Status: catalog.HealthPassing}
	}
	return r
}

func valUpd(mod func(u *catalog.CheckUpdate)) *catalog.CheckStatusRequest {
	r := valCheckUpdates(2)
	mod(&r.Updates[1])
	return r
}

func TestValidateCheckStatus(t *testing.T) {
	runValidateCases(t, []validateCase{
		{"one", valCheckUpdates(1), ""},
		{"max updates", valCheckUpdates(catalog.MaxCheckUpdates), ""},
		{"too many updates", valCheckUpdates(catalog.MaxCheckUpdates + 1), "Updates"},
		{"no updates", &catalog.CheckStatusRequest{}, "Updates"},
		{"no node", valUpd(func(u *catalog.CheckUpdate) { u.Node = "" }), "Updates[1].Node"},
		{"no check ID", valUpd(func(u *catalog.CheckUpdate) { u.CheckID = "" }), "Updates[1].CheckID"},
		{"bad status", valUpd(func(u *catalog.CheckUpdate) { u.Status = catalog.HealthMaintenance }), "Updates[1].Status"},
		{"output at limit", valUpd(func(u *catalog.CheckUpdate) { u.Output = strings.Repeat("x", catalog.MaxValueBytes) }), ""},
		{"output too long", valUpd(func(u *catalog.CheckUpdate) { u.Output = strings.Repeat("x", catalog.MaxValueBytes+1) }), "Updates[1].Output"},
	})
}

func valKV(op catalog.KVOp, key string, value []byte, session string) *catalog.KVRequest {
	return &catalog.KVRequest{Op: op, Entry: catalog.KVEntry{Key: key, Value: value, Session: session}}
}

func TestValidateKV(t *testing.T) {
	runValidateCases(t, []validateCase{
		{"set", valKV(catalog.KVSet, "a/b", []byte("v"), ""), ""},
		{"cas", valKV(catalog.KVCAS, "a", nil, ""), ""},
		{"delete", valKV(catalog.KVDelete, "a", nil, ""), ""},
		{"delete-cas", valKV(catalog.KVDeleteCAS, "a", nil, ""), ""},
		{"delete-tree empty prefix", valKV(catalog.KVDeleteTree, "", nil, ""), ""},
		{"delete-tree bad prefix", valKV(catalog.KVDeleteTree, "a\x00", nil, ""), "Key"},
		{"lock", valKV(catalog.KVLock, "a", nil, "s"), ""},
		{"lock without session", valKV(catalog.KVLock, "a", nil, ""), "Session"},
		{"unlock without session", valKV(catalog.KVUnlock, "a", nil, ""), "Session"},
		{"unknown op", valKV("put", "a", nil, ""), "Op"},
		{"empty key", valKV(catalog.KVSet, "", nil, ""), "Key"},
		{"key 512 bytes", valKV(catalog.KVSet, strings.Repeat("k", catalog.MaxKeyBytes), nil, ""), ""},
		{"key 513 bytes", valKV(catalog.KVSet, strings.Repeat("k", catalog.MaxKeyBytes+1), nil, ""), "Key"},
		{"key with NUL", valKV(catalog.KVSet, "a\x00b", nil, ""), "Key"},
		{"key with newline", valKV(catalog.KVSet, "a\nb", nil, ""), "Key"},
		{"key with DEL", valKV(catalog.KVSet, "a\x7fb", nil, ""), "Key"},
		{"key with C1 control", valKV(catalog.KVSet, "a\u0085b", nil, ""), "Key"},
		{"key invalid UTF-8", valKV(catalog.KVSet, "a\xc3(", nil, ""), "Key"},
		{"key with unicode", valKV(catalog.KVSet, "ключ/鍵/🔑", nil, ""), ""},
		{"value 512 KiB", valKV(catalog.KVSet, "a", make([]byte, catalog.MaxValueBytes), ""), ""},
		{"value over 512 KiB", valKV(catalog.KVSet, "a", make([]byte, catalog.MaxValueBytes+1), ""), "Value"},
		{"session too long", valKV(catalog.KVLock, "a", nil, strings.Repeat("s", 256)), "Session"},
	})
}

func valSession() *catalog.SessionRequest {
	return &catalog.SessionRequest{Op: catalog.SessionCreate, Session: catalog.Session{
		ID: "sess-1", Node: "node-1", Name: "lock", Behavior: catalog.SessionRelease,
		TTL: 30 * time.Second, LockDelay: 15 * time.Second,
		NodeChecks: []string{"serfHealth"}, ServiceChecks: []catalog.ServiceCheck{{ID: "web-1-http"}},
	}}
}

func valSess(mod func(s *catalog.Session)) *catalog.SessionRequest {
	r := valSession()
	mod(&r.Session)
	return r
}

func TestValidateSession(t *testing.T) {
	runValidateCases(t, []validateCase{
		{"valid", valSession(), ""},
		{"destroy needs only ID", &catalog.SessionRequest{Op: catalog.SessionDestroy, Session: catalog.Session{ID: "s"}}, ""},
		{"destroy without ID", &catalog.SessionRequest{Op: catalog.SessionDestroy}, "Session.ID"},
		{"unknown op", &catalog.SessionRequest{Op: "renew", Session: catalog.Session{ID: "s"}}, "Op"},
		{"no node", valSess(func(s *catalog.Session) { s.Node = "" }), "Session.Node"},
		{"name with NUL", valSess(func(s *catalog.Session) { s.Name = "\x00" }), "Session.Name"},
		{"behavior delete", valSess(func(s *catalog.Session) { s.Behavior = catalog.SessionDelete }), ""},
		{"behavior default", valSess(func(s *catalog.Session) { s.Behavior = "" }), ""},
		{"behavior unknown", valSess(func(s *catalog.Session) { s.Behavior = "keep" }), "Session.Behavior"},
		{"no TTL", valSess(func(s *catalog.Session) { s.TTL = 0 }), ""},
		{"TTL min", valSess(func(s *catalog.Session) { s.TTL = catalog.MinSessionTTL }), ""},
		{"TTL below min", valSess(func(s *catalog.Session) { s.TTL = catalog.MinSessionTTL - time.Nanosecond }), "Session.TTL"},
		{"TTL max", valSess(func(s *catalog.Session) { s.TTL = catalog.MaxSessionTTL }), ""},
		{"TTL above max", valSess(func(s *catalog.Session) { s.TTL = catalog.MaxSessionTTL + time.Nanosecond }), "Session.TTL"},
		{"TTL negative", valSess(func(s *catalog.Session) { s.TTL = -time.Second }), "Session.TTL"},
		{"lock delay 0", valSess(func(s *catalog.Session) { s.LockDelay = 0 }), ""},
		{"lock delay max", valSess(func(s *catalog.Session) { s.LockDelay = catalog.MaxSessionLockDelay }), ""},
		{"lock delay above max", valSess(func(s *catalog.Session) { s.LockDelay = catalog.MaxSessionLockDelay + 1 }), "Session.LockDelay"},
		{"lock delay negative", valSess(func(s *catalog.Session) { s.LockDelay = -1 }), "Session.LockDelay"},
		{"too many checks", valSess(func(s *catalog.Session) { s.NodeChecks = make([]string, catalog.MaxSessionChecks) }), "Session.NodeChecks"},
		{"empty node check", valSess(func(s *catalog.Session) { s.NodeChecks = []string{""} }), "Session.NodeChecks[0]"},
		{"empty service check", valSess(func(s *catalog.Session) { s.ServiceChecks = []catalog.ServiceCheck{{}} }), "Session.ServiceChecks[0].ID"},
	})
}

func valTxn(ops ...catalog.TxnOp) *catalog.TxnRequest { return &catalog.TxnRequest{Ops: ops} }

func valTxnKV(verb, key string, value []byte) catalog.TxnOp {
	return catalog.TxnOp{KV: &catalog.TxnKVOp{Verb: verb, Entry: catalog.KVEntry{Key: key, Value: value}}}
}

func valNOps(n int) *catalog.TxnRequest {
	r := &catalog.TxnRequest{}
	for i := range n {
		r.Ops = append(r.Ops, valTxnKV("set", fmt.Sprint("k", i), nil))
	}
	return r
}

func TestValidateTxnLimits(t *testing.T) {
	half := catalog.MaxValueBytes // two of these plus their 1-byte keys pass MaxTxnBytes by 2
	runValidateCases(t, []validateCase{
		{"no ops", valTxn(), "Ops"},
		{"max ops", valNOps(catalog.MaxTxnOps), ""},
		{"too many ops", valNOps(catalog.MaxTxnOps + 1), "Ops"},
		{"bytes at limit", valTxn(valTxnKV("set", "a", make([]byte, half-1)), valTxnKV("set", "b", make([]byte, half-1))), ""},
		{"bytes over limit", valTxn(valTxnKV("set", "a", make([]byte, half)), valTxnKV("set", "b", make([]byte, half))), "Ops"},
		{"no member set", valTxn(valTxnKV("set", "a", nil), catalog.TxnOp{}), "Ops[1]"},
		{"two members set", valTxn(catalog.TxnOp{
			KV:   &catalog.TxnKVOp{Verb: "get", Entry: catalog.KVEntry{Key: "a"}},
			Node: &catalog.TxnNodeOp{Verb: "get", Node: catalog.Node{Node: "n"}},
		}), "Ops[0]"},
	})
}

func TestValidateTxnKV(t *testing.T) {
	lock := valTxnKV("lock", "a", nil)
	lock.KV.Entry.Session = "s"
	runValidateCases(t, []validateCase{
		{"all verbs", valTxn(valTxnKV("set", "a", nil), valTxnKV("cas", "a", nil), lock, valTxnKV("get", "a", nil),
			valTxnKV("get-tree", "", nil), valTxnKV("check-index", "a", nil), valTxnKV("check-not-exists", "a", nil),
			valTxnKV("delete", "a", nil), valTxnKV("delete-tree", "", nil), valTxnKV("delete-cas", "a", nil)), ""},
		{"unknown verb", valTxn(valTxnKV("put", "a", nil)), "Ops[0].KV.Verb"},
		{"empty verb", valTxn(valTxnKV("", "a", nil)), "Ops[0].KV.Verb"},
		{"lock without session", valTxn(valTxnKV("lock", "a", nil)), "Ops[0].KV.Session"},
		{"unlock without session", valTxn(valTxnKV("unlock", "a", nil)), "Ops[0].KV.Session"},
		{"check-session without session", valTxn(valTxnKV("check-session", "a", nil)), "Ops[0].KV.Session"},
		{"empty key", valTxn(valTxnKV("get", "", nil)), "Ops[0].KV.Key"},
		{"key with NUL", valTxn(valTxnKV("set", "ok", nil), valTxnKV("set", "a\x00", nil)), "Ops[1].KV.Key"},
		{"value too big", valTxn(valTxnKV("set", "a", make([]byte, catalog.MaxValueBytes+1))), "Ops[0].KV.Value"},
	})
}

func TestValidateTxnEntities(t *testing.T) {
	node := func(verb, name string) catalog.TxnOp {
		return catalog.TxnOp{Node: &catalog.TxnNodeOp{Verb: verb, Node: catalog.Node{Node: name}}}
	}
	svc := func(verb, node string, s catalog.Service) catalog.TxnOp {
		return catalog.TxnOp{Service: &catalog.TxnServiceOp{Verb: verb, Node: node, Service: s}}
	}
	check := func(verb string, c catalog.Check) catalog.TxnOp {
		return catalog.TxnOp{Check: &catalog.TxnCheckOp{Verb: verb, Check: c}}
	}
	web := catalog.Service{ID: "web-1", Service: "web", Port: 80}
	http := catalog.Check{Node: "n", CheckID: "c", Status: catalog.HealthPassing}
	runValidateCases(t, []validateCase{
		{"node verbs", valTxn(node("set", "n"), node("cas", "n"), node("get", "n"), node("delete", "n"), node("delete-cas", "n")), ""},
		{"node unknown verb", valTxn(node("delete-tree", "n")), "Ops[0].Node.Verb"},
		{"node set bad name", valTxn(node("set", "a/b")), "Ops[0].Node.Node.Node"},
		{"node get no name", valTxn(node("get", "")), "Ops[0].Node.Node.Node"},
		{"service set", valTxn(svc("set", "n", web)), ""},
		{"service unknown verb", valTxn(svc("lock", "n", web)), "Ops[0].Service.Verb"},
		{"service no node", valTxn(svc("set", "", web)), "Ops[0].Service.Node"},
		{"service address 0.0.0.0", valTxn(svc("cas", "n", catalog.Service{ID: "w", Service: "w", Address: "0.0.0.0"})), "Ops[0].Service.Service.Address"},
		{"service delete no ID", valTxn(svc("delete", "n", catalog.Service{})), "Ops[0].Service.Service.ID"},
		{"check set", valTxn(check("set", http)), ""},
		{"check unknown verb", valTxn(check("update", http)), "Ops[0].Check.Verb"},
		{"check no node", valTxn(check("set", catalog.Check{CheckID: "c", Status: catalog.HealthPassing})), "Ops[0].Check.Node"},
		{"check bad status", valTxn(check("set", catalog.Check{Node: "n", CheckID: "c", Status: "ok"})), "Ops[0].Check.Check.Status"},
		{"check delete no ID", valTxn(check("delete", catalog.Check{Node: "n"})), "Ops[0].Check.Check.CheckID"},
	})
}

func TestValidateReapTombstones(t *testing.T) {
	runValidateCases(t, []validateCase{
		{"positive", &catalog.ReapTombstonesRequest{Index: 1}, ""},
		{"zero", &catalog.ReapTombstonesRequest{}, "Index"},
	})
}
