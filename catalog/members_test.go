package catalog_test

import (
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

func TestMemberLeaveAndRejoin(t *testing.T) {
	h := newHarness(t)
	h.ok(regService("n1", "web", "web-1"))
	h.ok(regCheck("n1", "serfHealth", "", catalog.HealthPassing))
	h.ok(sessionCreate("s1", "n1", 0, "", "serfHealth"))
	lock := &catalog.KVRequest{Op: catalog.KVLock, Entry: catalog.KVEntry{Key: "leader", Session: "s1"}}
	if r := h.ok(lock); !r.OK {
		t.Fatal("lock not acquired")
	}
	leave := h.ok(&catalog.MemberRequest{Op: catalog.MemberLeave, Node: "n1"})
	h.view(func(tx *catalog.ReadTx) {
		if n, _ := tx.Node("n1"); n != nil {
			t.Errorf("node still registered after leave: %+v", n)
		}
		if s, _ := tx.Session("s1"); s != nil {
			t.Errorf("session survived its node's leave: %+v", s)
		}
		if kv, _ := tx.KV("leader"); kv == nil || kv.Session != "" {
			t.Errorf("lock not released by the leave: %+v", kv)
		}
		left, idx := tx.LeftMembers()
		if len(left) != 1 || left[0].Node != "n1" || left[0].Status != catalog.MemberStatusLeft ||
			left[0].Address != "10.0.0.1" || left[0].CreateIndex != leave.Index || idx != leave.Index {
			t.Errorf("left members = %+v (index %d), want n1 left at %d", leftNames(left), idx, leave.Index)
		}
	})
	// Registering again makes it a member again.
	again := h.ok(regNode("n1"))
	h.view(func(tx *catalog.ReadTx) {
		if left, idx := tx.LeftMembers(); len(left) != 0 || idx != again.Index {
			t.Errorf("left members after re-registration = %v (index %d)", leftNames(left), idx)
		}
	})
}

func TestMemberReap(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"old", "new"} {
		h.ok(regNode(n))
	}
	base := time.Unix(1_700_000_000, 0)
	for i, n := range []string{"old", "new"} {
		e := h.entry(&catalog.MemberRequest{Op: catalog.MemberLeave, Node: n})
		e.Time = base.Add(time.Duration(i) * time.Hour)
		if r := h.applyEntries(e)[0]; r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	h.ok(&catalog.MemberRequest{Op: catalog.MemberReap, Before: base.Add(30 * time.Minute)})
	h.view(func(tx *catalog.ReadTx) {
		left, _ := tx.LeftMembers()
		if len(left) != 1 || left[0].Node != "new" {
			t.Errorf("after reaping, left = %v; want only new", leftNames(left))
		}
	})
}

func TestMemberRequestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  catalog.MemberRequest
		ok   bool
	}{
		{"leave", catalog.MemberRequest{Op: catalog.MemberLeave, Node: "n1"}, true},
		{"leave without node", catalog.MemberRequest{Op: catalog.MemberLeave}, false},
		{"reap", catalog.MemberRequest{Op: catalog.MemberReap, Before: time.Now()}, true},
		{"reap without time", catalog.MemberRequest{Op: catalog.MemberReap}, false},
		{"unknown op", catalog.MemberRequest{Op: "join", Node: "n1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.req.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func leftNames(ms []*catalog.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Node+"@"+m.Address+"/"+m.Status)
	}
	return out
}
