package catalog_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/beacon-sd/beacon/catalog"
)

func TestRegister(t *testing.T) {
	h := newHarness(t)
	r1 := h.ok(regService("n1", "web", "web-1", "v1"))
	// Re-registering the same thing changes nothing: no index moves.
	h.ok(regService("n1", "web", "web-1", "v1"))
	h.view(func(tx *catalog.ReadTx) {
		n, svcs, _ := tx.NodeServices("n1")
		if n == nil || n.CreateIndex != r1.Index || n.ModifyIndex != r1.Index {
			t.Fatalf("node = %+v", n)
		}
		if len(svcs) != 1 || svcs[0].Node != "n1" || svcs[0].ModifyIndex != r1.Index {
			t.Fatalf("services = %+v", svcs)
		}
		if idx := tx.ServiceIndex("web"); idx != r1.Index {
			t.Fatalf("no-op register bumped the service index to %d", idx)
		}
	})
	// Changing the node address keeps CreateIndex.
	req := regService("n1", "web", "web-1", "v1")
	req.Node.Address = "10.9.9.9"
	r3 := h.ok(req)
	h.view(func(tx *catalog.ReadTx) {
		n, _ := tx.Node("n1")
		if n.CreateIndex != r1.Index || n.ModifyIndex != r3.Index || n.Address != "10.9.9.9" {
			t.Fatalf("node after update = %+v", n)
		}
	})
	// SkipNodeUpdate keeps the stored node.
	req = regService("n1", "web", "web-1", "v1")
	req.Node.Address = "10.1.1.1"
	req.SkipNodeUpdate = true
	h.ok(req)
	h.view(func(tx *catalog.ReadTx) {
		if n, _ := tx.Node("n1"); n.Address != "10.9.9.9" {
			t.Fatalf("SkipNodeUpdate overwrote the node: %+v", n)
		}
	})
}

func TestRegisterCheckNeedsService(t *testing.T) {
	h := newHarness(t)
	h.ok(regNode("n1"))
	before := h.hash()
	r := h.apply(regCheck("n1", "c1", "nope", catalog.HealthPassing))[0]
	if !errors.Is(r.Err, catalog.ErrNotFound) || r.OK {
		t.Fatalf("check for a missing service: %+v", r)
	}
	if h.hash() != before {
		t.Fatal("a failed registration changed the state")
	}
	// A check registered with its service, in one request, is fine and
	// carries the service's name and tags.
	req := regService("n1", "web", "web-1", "a", "b")
	req.Checks = []*catalog.Check{{CheckID: "c1", Status: catalog.HealthPassing, ServiceID: "web-1"}}
	h.ok(req)
	h.view(func(tx *catalog.ReadTx) {
		checks, _ := tx.NodeChecks("n1")
		if len(checks) != 1 || checks[0].ServiceName != "web" || !slices.Equal(checks[0].ServiceTags, []string{"a", "b"}) || checks[0].Node != "n1" {
			t.Fatalf("checks = %+v", checks)
		}
	})
}

func TestDeregister(t *testing.T) {
	setup := func(t *testing.T) *harness {
		h := newHarness(t)
		h.ok(regService("n1", "web", "web-1"))
		h.ok(regService("n1", "db", "db-1"))
		h.ok(regCheck("n1", "serfHealth", "", catalog.HealthPassing))
		h.ok(regCheck("n1", "web-chk", "web-1", catalog.HealthPassing))
		h.ok(regService("n2", "web", "web-2"))
		return h
	}
	tests := []struct {
		name       string
		req        catalog.DeregisterRequest
		wantSvcs   []string // service IDs left on n1
		wantChecks []string // check IDs left on n1
		wantNode   bool
	}{
		{"check", catalog.DeregisterRequest{Node: "n1", CheckID: "web-chk"}, []string{"db-1", "web-1"}, []string{"serfHealth"}, true},
		{"service and its checks", catalog.DeregisterRequest{Node: "n1", ServiceID: "web-1"}, []string{"db-1"}, []string{"serfHealth"}, true},
		{"node", catalog.DeregisterRequest{Node: "n1"}, nil, nil, false},
		{"missing check", catalog.DeregisterRequest{Node: "n1", CheckID: "nope"}, []string{"db-1", "web-1"}, []string{"serfHealth", "web-chk"}, true},
		{"missing node", catalog.DeregisterRequest{Node: "n9"}, []string{"db-1", "web-1"}, []string{"serfHealth", "web-chk"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t)
			req := tt.req
			h.ok(&req)
			h.view(func(tx *catalog.ReadTx) {
				n, svcs, _ := tx.NodeServices("n1")
				checks, _ := tx.NodeChecks("n1")
				var ids, cids []string
				for _, s := range svcs {
					ids = append(ids, s.ID)
				}
				for _, c := range checks {
					cids = append(cids, c.CheckID)
				}
				if (n != nil) != tt.wantNode || !slices.Equal(ids, tt.wantSvcs) || !slices.Equal(cids, tt.wantChecks) {
					t.Fatalf("node %v, services %q, checks %q", n != nil, ids, cids)
				}
				// n2's instance is untouched.
				if sn, _ := tx.ServiceNodes("web", ""); len(sn) == 0 || sn[len(sn)-1].Node.Node != "n2" {
					t.Fatalf("web instances = %+v", sn)
				}
			})
		})
	}
}

func TestServiceIndexIsolation(t *testing.T) {
	h := newHarness(t)
	h.ok(regService("n1", "a", "a-1"))
	rb := h.ok(regService("n2", "b", "b-1"))
	idx := func(name string) uint64 {
		var i uint64
		h.view(func(tx *catalog.ReadTx) { i = tx.ServiceIndex(name) })
		return i
	}
	tests := []struct {
		name    string
		cmd     catalog.Command
		bumpsA  bool
		bumpsB  bool
		wantErr bool
	}{
		{"change a's tags", regService("n1", "a", "a-1", "new"), true, false, false},
		{"add a check to a", regCheck("n1", "a-chk", "a-1", catalog.HealthPassing), true, false, false},
		{"fail a's check", checkStatus("n1", "a-chk", catalog.HealthCritical), true, false, false},
		{"same status again", checkStatus("n1", "a-chk", catalog.HealthCritical), false, false, false},
		{"node check on n1", regCheck("n1", "serfHealth", "", catalog.HealthPassing), true, false, false},
		{"change node n2", &catalog.RegisterRequest{Node: catalog.Node{Node: "n2", Address: "10.2.2.2"}}, false, true, false},
		{"kv write", kvSet("k", "v"), false, false, false},
		{"deregister a", &catalog.DeregisterRequest{Node: "n1", ServiceID: "a-1"}, true, false, false},
	}
	for _, tt := range tests {
		a0, b0 := idx("a"), idx("b")
		r := h.ok(tt.cmd)
		a1, b1 := idx("a"), idx("b")
		if (a1 == r.Index) != tt.bumpsA || (a1 != a0) != tt.bumpsA {
			t.Errorf("%s: index of a %d → %d (entry %d), want bumped=%v", tt.name, a0, a1, r.Index, tt.bumpsA)
		}
		if (b1 == r.Index) != tt.bumpsB || (b1 != b0) != tt.bumpsB {
			t.Errorf("%s: index of b %d → %d (entry %d), want bumped=%v", tt.name, b0, b1, r.Index, tt.bumpsB)
		}
	}
	if b := idx("b"); b <= rb.Index {
		t.Fatalf("b's index never moved past its registration")
	}
}

func TestServiceReadsOrderAndHealth(t *testing.T) {
	h := newHarness(t)
	// Registered out of order; reads come back by node name, then ID.
	h.ok(regService("n2", "web", "web-b", "blue"))
	h.ok(regService("n1", "web", "web-z", "Green"))
	h.ok(regService("n1", "web", "web-a", "blue"))
	h.ok(regService("n10", "web", "web-x"))
	h.ok(regService("n1", "db", "db-1", "primary"))
	h.ok(regCheck("n1", "serfHealth", "", catalog.HealthPassing))
	h.ok(regCheck("n2", "serfHealth", "", catalog.HealthCritical))
	h.ok(regCheck("n1", "web-a-chk", "web-a", catalog.HealthWarning))
	h.view(func(tx *catalog.ReadTx) {
		order := func(sn []catalog.ServiceNode) []string {
			var out []string
			for _, s := range sn {
				out = append(out, s.Node.Node+"/"+s.Service.ID)
			}
			return out
		}
		sn, idx := tx.ServiceNodes("web", "")
		want := []string{"n1/web-a", "n1/web-z", "n10/web-x", "n2/web-b"}
		if got := order(sn); !slices.Equal(got, want) {
			t.Fatalf("ServiceNodes order = %q, want %q", got, want)
		}
		if idx != tx.ServiceIndex("web") {
			t.Fatalf("ServiceNodes index %d != service index", idx)
		}
		if got := order(mustServiceNodes(tx, "web", "green")); !slices.Equal(got, []string{"n1/web-z"}) {
			t.Fatalf("tag filter (case-insensitive) = %q", got)
		}
		health, _ := tx.ServiceHealth("web", "", false)
		var hOrder []string
		for _, c := range health {
			hOrder = append(hOrder, c.Node.Node+"/"+c.Service.ID)
		}
		if !slices.Equal(hOrder, want) {
			t.Fatalf("ServiceHealth order = %q, want %q", hOrder, want)
		}
		if ids := checkIDs(health[0].Checks); !slices.Equal(ids, []string{"serfHealth", "web-a-chk"}) {
			t.Fatalf("checks of n1/web-a = %q", ids)
		}
		if ids := checkIDs(health[1].Checks); !slices.Equal(ids, []string{"serfHealth"}) {
			t.Fatalf("checks of n1/web-z = %q", ids)
		}
		passing, _ := tx.ServiceHealth("web", "", true)
		var pOrder []string
		for _, c := range passing {
			pOrder = append(pOrder, c.Node.Node+"/"+c.Service.ID)
		}
		if !slices.Equal(pOrder, []string{"n1/web-z", "n10/web-x"}) {
			t.Fatalf("passing = %q", pOrder)
		}
		svcs, _ := tx.Services()
		wantSvcs := map[string][]string{"web": {"Green", "blue"}, "db": {"primary"}}
		if !reflect.DeepEqual(svcs, wantSvcs) {
			t.Fatalf("Services = %v", svcs)
		}
		if crit, _ := tx.ChecksInState(catalog.HealthCritical); len(crit) != 1 || crit[0].Node != "n2" {
			t.Fatalf("critical checks = %+v", crit)
		}
		if all, _ := tx.ChecksInState("any"); len(all) != 3 {
			t.Fatalf("any checks = %+v", all)
		}
		if sc, _ := tx.ServiceChecks("web"); len(sc) != 1 || sc[0].CheckID != "web-a-chk" {
			t.Fatalf("ServiceChecks = %+v", sc)
		}
	})
}

func mustServiceNodes(tx *catalog.ReadTx, name, tag string) []catalog.ServiceNode {
	sn, _ := tx.ServiceNodes(name, tag)
	return sn
}

func checkIDs(checks []*catalog.Check) []string {
	var out []string
	for _, c := range checks {
		out = append(out, c.CheckID)
	}
	return out
}

func TestEmptyReadsAreNonNil(t *testing.T) {
	h := newHarness(t)
	h.view(func(tx *catalog.ReadTx) {
		nodes, i1 := tx.Nodes()
		_, svcs, i2 := tx.NodeServices("x")
		services, i3 := tx.Services()
		sn, i4 := tx.ServiceNodes("x", "")
		health, i5 := tx.ServiceHealth("x", "", true)
		checks, i6 := tx.NodeChecks("x")
		schecks, i7 := tx.ServiceChecks("x")
		state, i8 := tx.ChecksInState("any")
		sessions, i9 := tx.Sessions()
		nsessions, i10 := tx.NodeSessions("x")
		kvs, i11 := tx.KVList("")
		keys, i12 := tx.KVKeys("", "/")
		if nodes == nil || svcs == nil || services == nil || sn == nil || health == nil || checks == nil ||
			schecks == nil || state == nil || sessions == nil || nsessions == nil || kvs == nil || keys == nil {
			t.Fatal("a read returned nil")
		}
		for i, idx := range []uint64{i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11, i12} {
			if idx == 0 {
				t.Fatalf("read %d returned index 0", i+1)
			}
		}
	})
}
