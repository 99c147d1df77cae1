package catalog_test

import (
	"errors"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

func TestSessionCreate(t *testing.T) {
	tests := []struct {
		name    string
		req     *catalog.SessionRequest
		wantErr error
	}{
		{"ok", sessionCreate("s1", "n1", 0, "", "serfHealth"), nil},
		{"no checks", sessionCreate("s1", "n1", 0, catalog.SessionDelete), nil},
		{"missing node", sessionCreate("s1", "n9", 0, ""), catalog.ErrNotFound},
		{"missing check", sessionCreate("s1", "n1", 0, "", "nope"), catalog.ErrNotFound},
		{"critical check", sessionCreate("s1", "n1", 0, "", "bad"), catalog.ErrInvalid},
		{"service check", &catalog.SessionRequest{Op: catalog.SessionCreate, Session: catalog.Session{
			ID: "s1", Node: "n1", ServiceChecks: []catalog.ServiceCheck{{ID: "web-chk"}}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.ok(regService("n1", "web", "web-1"))
			h.ok(regCheck("n1", "serfHealth", "", catalog.HealthPassing))
			h.ok(regCheck("n1", "bad", "", catalog.HealthCritical))
			h.ok(regCheck("n1", "web-chk", "web-1", catalog.HealthPassing))
			r := h.apply(tt.req)[0]
			if !errors.Is(r.Err, tt.wantErr) || (tt.wantErr == nil) != r.OK {
				t.Fatalf("result %+v, want error %v", r, tt.wantErr)
			}
			h.view(func(tx *catalog.ReadTx) {
				s, _ := tx.Session("s1")
				if tt.wantErr != nil {
					if s != nil {
						t.Fatalf("failed create stored %+v", s)
					}
					return
				}
				wantBehavior := tt.req.Session.Behavior
				if wantBehavior == "" {
					wantBehavior = catalog.SessionRelease
				}
				if s == nil || s.Behavior != wantBehavior || !s.CreateTime.Equal(h.now) || s.CreateIndex != r.Index {
					t.Fatalf("session = %+v", s)
				}
				if ns, _ := tx.NodeSessions("n1"); len(ns) != 1 {
					t.Fatalf("NodeSessions = %+v", ns)
				}
			})
		})
	}
}

func TestSessionInvalidation(t *testing.T) {
	tests := []struct {
		name        string
		invalidate  catalog.Command
		wantSession bool
	}{
		{"bound node check goes critical", checkStatus("n1", "serfHealth", catalog.HealthCritical), false},
		{"bound service check goes critical", checkStatus("n1", "web-chk", catalog.HealthCritical), false},
		{"bound check re-registered critical", regCheck("n1", "serfHealth", "", catalog.HealthCritical), false},
		{"unbound check goes critical", checkStatus("n1", "other", catalog.HealthCritical), true},
		{"bound check goes warning", checkStatus("n1", "serfHealth", catalog.HealthWarning), true},
		{"bound check deregistered", &catalog.DeregisterRequest{Node: "n1", CheckID: "serfHealth"}, false},
		{"service of bound check deregistered", &catalog.DeregisterRequest{Node: "n1", ServiceID: "web-1"}, false},
		{"node deregistered", &catalog.DeregisterRequest{Node: "n1"}, false},
		{"explicit destroy", sessionDestroy("s1"), false},
		{"destroy of another session", sessionDestroy("zzz"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.ok(regService("n1", "web", "web-1"))
			h.ok(regCheck("n1", "serfHealth", "", catalog.HealthPassing))
			h.ok(regCheck("n1", "other", "", catalog.HealthPassing))
			h.ok(regCheck("n1", "web-chk", "web-1", catalog.HealthPassing))
			h.ok(&catalog.SessionRequest{Op: catalog.SessionCreate, Session: catalog.Session{
				ID: "s1", Node: "n1", NodeChecks: []string{"serfHealth"},
				ServiceChecks: []catalog.ServiceCheck{{ID: "web-chk"}}, LockDelay: time.Second}})
			h.ok(kvOp(catalog.KVLock, "held", "v", 0, "s1"))
			h.ok(tt.invalidate)
			h.view(func(tx *catalog.ReadTx) {
				s, _ := tx.Session("s1")
				if (s != nil) != tt.wantSession {
					t.Fatalf("session present = %v, want %v", s != nil, tt.wantSession)
				}
				e, _ := tx.KV("held")
				if e == nil {
					t.Fatal("release behavior deleted the key")
				}
				if wantHolder := map[bool]string{true: "s1", false: ""}[tt.wantSession]; e.Session != wantHolder {
					t.Fatalf("key holder = %q, want %q", e.Session, wantHolder)
				}
			})
		})
	}
}

func TestSessionDestroyMissingIsSuccess(t *testing.T) {
	h := newHarness(t)
	before := h.hash()
	h.ok(sessionDestroy("nope"))
	if h.hash() != before {
		t.Fatal("destroying a missing session changed the state")
	}
}
