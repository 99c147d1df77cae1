package catalog_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// namedCommand is a command with a name for its subtest.
type namedCommand struct {
	name string
	cmd  catalog.Command
}

// sampleCommands returns one command of every type, with every field the
// encoding has to carry set to a non-zero value, plus a few zero-valued
// shapes (nil pointers, nil slices) that must survive as well.
func sampleCommands() []namedCommand {
	node, svc, check, entry, session := sampleEntities()
	return []namedCommand{
		{"register full", &catalog.RegisterRequest{Node: node, SkipNodeUpdate: true, Service: &svc, Checks: []*catalog.Check{&check}}},
		{"register node only", &catalog.RegisterRequest{Node: catalog.Node{Node: "node-2"}}},
		{"deregister check", &catalog.DeregisterRequest{Node: "node-1", CheckID: "web-1-http"}},
		{"deregister service", &catalog.DeregisterRequest{Node: "node-1", ServiceID: "web-1"}},
		{"check status", &catalog.CheckStatusRequest{Updates: []catalog.CheckUpdate{
			{Node: "node-1", CheckID: "a", Status: catalog.HealthPassing, Output: "ok"},
			{Node: "node-2", CheckID: "b", Status: catalog.HealthCritical},
		}}},
		{"kv set", &catalog.KVRequest{Op: catalog.KVSet, Entry: entry}},
		{"kv delete-tree", &catalog.KVRequest{Op: catalog.KVDeleteTree, Entry: catalog.KVEntry{Key: "config/"}}},
		{"session create", &catalog.SessionRequest{Op: catalog.SessionCreate, Session: session}},
		{"session destroy", &catalog.SessionRequest{Op: catalog.SessionDestroy, Session: catalog.Session{ID: "sess-1"}}},
		{"txn", &catalog.TxnRequest{Ops: []catalog.TxnOp{
			{KV: &catalog.TxnKVOp{Verb: "cas", Entry: entry}},
			{Node: &catalog.TxnNodeOp{Verb: "set", Node: node}},
			{Service: &catalog.TxnServiceOp{Verb: "delete", Node: "node-1", Service: svc}},
			{Check: &catalog.TxnCheckOp{Verb: "set", Check: check}},
		}}},
		{"reap tombstones", &catalog.ReapTombstonesRequest{Index: 1 << 40}},
	}
}

// sampleEntities returns a node, service, check, KV entry and session with
// every field set.
func sampleEntities() (catalog.Node, catalog.Service, catalog.Check, catalog.KVEntry, catalog.Session) {
	node := catalog.Node{
		ID: "6e1b0a9c-0000-4000-8000-000000000001", Node: "node-1", Address: "10.0.0.1", Datacenter: "dc1",
		TaggedAddresses: map[string]string{"lan": "10.0.0.1", "wan": "198.51.100.1"},
		Meta:            map[string]string{"rack": "r1"},
		RaftIndex:       catalog.RaftIndex{CreateIndex: 3, ModifyIndex: 9},
	}
	svc := catalog.Service{
		Node: "node-1", ID: "web-1", Service: "web", Tags: []string{"v1", "primary"},
		Address: "10.0.0.1", Port: 8080, Meta: map[string]string{"version": "1.2.3"},
		Weights: catalog.Weights{Passing: 10, Warning: 1}, EnableTagOverride: true,
		RaftIndex: catalog.RaftIndex{CreateIndex: 4, ModifyIndex: 5},
	}
	check := catalog.Check{
		Node: "node-1", CheckID: "web-1-http", Name: "http", Status: catalog.HealthCritical,
		Notes: "probe", Output: "connection refused", ServiceID: "web-1", ServiceName: "web",
		ServiceTags: []string{"v1"}, Type: "http",
		Definition: catalog.CheckDefinition{
			Interval: 10 * time.Second, Timeout: time.Second, HTTP: "http://10.0.0.1:8080/health",
			Method: "GET", Header: map[string][]string{"X-A": {"1", "2"}}, Body: "{}",
			TLSSkipVerify: true, Args: []string{"/bin/true"}, DeregisterCriticalServiceAfter: time.Minute,
			SuccessBeforePassing: 2, FailuresBeforeWarning: 1, FailuresBeforeCritical: 3,
		},
		RaftIndex: catalog.RaftIndex{CreateIndex: 6, ModifyIndex: 7},
	}
	entry := catalog.KVEntry{
		Key: "config/web/limit", Value: []byte{0, 1, 2, 0xff}, Flags: 42, LockIndex: 2,
		Session: "sess-1", RaftIndex: catalog.RaftIndex{CreateIndex: 11, ModifyIndex: 12},
	}
	session := catalog.Session{
		ID: "sess-1", Name: "lock", Node: "node-1", NodeChecks: []string{"serfHealth"},
		ServiceChecks: []catalog.ServiceCheck{{ID: "web-1-http"}}, LockDelay: 15 * time.Second,
		Behavior: catalog.SessionDelete, TTL: 30 * time.Second,
		CreateTime: time.Now(), // carries a monotonic reading the encoding drops
		RaftIndex:  catalog.RaftIndex{CreateIndex: 13, ModifyIndex: 13},
	}
	return node, svc, check, entry, session
}

// normalizeCommand makes a decoded-vs-original comparison meaningful: the
// encoding keeps neither monotonic clock readings nor time zones (it
// carries the instant), and a field tagged omitempty loses the difference
// between an empty and a nil slice or map. normalizeCommand therefore rewrites
// every time to UTC without a monotonic reading and every empty slice or
// map to nil, in place, through pointers, slices, maps and structs.
func normalizeCommand(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			normalizeCommand(v.Elem())
		}
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			if v.CanSet() {
				v.Set(reflect.ValueOf(t.Round(0).UTC()))
			}
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				normalizeCommand(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Len() == 0 && v.CanSet() {
			v.SetZero()
		}
		for i := range v.Len() {
			normalizeCommand(v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 && v.CanSet() {
			v.SetZero()
			return
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			normalizeCommand(e)
			v.SetMapIndex(k, e)
		}
	}
}

// sameCommand reports whether a and b are equal after normalizeCommand. It
// normalizes a and b in place, so callers pass values they own.
func sameCommand(a, b catalog.Command) bool {
	normalizeCommand(reflect.ValueOf(a))
	normalizeCommand(reflect.ValueOf(b))
	return reflect.DeepEqual(a, b)
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, tc := range sampleCommands() {
		t.Run(tc.name, func(t *testing.T) {
			buf, err := catalog.Encode(tc.cmd)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got := catalog.CommandType(buf[0]); got != tc.cmd.CommandType() {
				t.Fatalf("type byte = %d, want %d", got, tc.cmd.CommandType())
			}
			got, err := catalog.Decode(buf)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if reflect.TypeOf(got) != reflect.TypeOf(tc.cmd) {
				t.Fatalf("Decode type = %T, want %T", got, tc.cmd)
			}
			if !sameCommand(got, tc.cmd) {
				t.Fatalf("round trip changed the command:\n got %#v\nwant %#v", got, tc.cmd)
			}
		})
	}
}

// TestRoundTripKeepsTimeInstant checks what normalizeCommand forgives: the instant
// of a session's CreateTime survives to the nanosecond.
func TestRoundTripKeepsTimeInstant(t *testing.T) {
	created := time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.FixedZone("X", 3600))
	buf, err := catalog.Encode(&catalog.SessionRequest{Op: catalog.SessionCreate, Session: catalog.Session{ID: "s", CreateTime: created}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := catalog.Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	if ct := got.(*catalog.SessionRequest).Session.CreateTime; !ct.Equal(created) {
		t.Fatalf("CreateTime = %v, want %v", ct, created)
	}
}

func TestDecodeErrors(t *testing.T) {
	valid, err := catalog.Encode(&catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: "k", Value: []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		buf  []byte
		want error
	}{
		{"nil", nil, catalog.ErrCorruptCommand},
		{"empty", []byte{}, catalog.ErrCorruptCommand},
		{"unknown type", []byte{0x7f, 0xc0}, catalog.ErrUnknownCommand},
		{"unknown type zero", []byte{0}, catalog.ErrUnknownCommand},
		{"unknown ignorable type", []byte{byte(catalog.IgnoreUnknown | 0x7f), 0x01, 0x02}, catalog.ErrIgnoredCommand},
		{"unknown ignorable bit alone", []byte{byte(catalog.IgnoreUnknown)}, catalog.ErrIgnoredCommand},
		{"known type, no body", []byte{byte(catalog.CmdKV)}, catalog.ErrCorruptCommand},
		{"known type, truncated body", valid[:len(valid)-2], catalog.ErrCorruptCommand},
		{"known type, string body", append([]byte{byte(catalog.CmdRegister)}, 0xa3, 'a', 'b', 'c'), catalog.ErrCorruptCommand},
		{"known type, reserved byte", []byte{byte(catalog.CmdTxn), 0xc1}, catalog.ErrCorruptCommand},
		{"valid body, trailing bytes", append(append([]byte{}, valid...), 0xc0, 0x01), catalog.ErrCorruptCommand},
		{"known type, wrong field type", append([]byte{byte(catalog.CmdReapTombstones)}, 0x81, 0xa5, 'I', 'n', 'd', 'e', 'x', 0xa1, 'x'), catalog.ErrCorruptCommand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := catalog.Decode(tc.buf)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode(%x) error = %v, want %v", tc.buf, err, tc.want)
			}
			if c != nil {
				t.Fatalf("Decode(%x) returned command %#v with an error", tc.buf, c)
			}
		})
	}
}

// decodeSentinels are the only errors Decode may return (wrapped).
var decodeSentinels = []error{catalog.ErrCorruptCommand, catalog.ErrUnknownCommand, catalog.ErrIgnoredCommand}

func FuzzDecode(f *testing.F) {
	// Every valid command, so the fuzzer starts from real bodies.
	for _, tc := range sampleCommands() {
		buf, err := catalog.Encode(tc.cmd)
		if err != nil {
			f.Fatalf("%s: %v", tc.name, err)
		}
		f.Add(buf)
	}
	seeds := []struct {
		why string
		buf []byte
	}{
		{"empty entry", []byte{}},
		{"known type, no body", []byte{byte(catalog.CmdRegister)}},
		{"known type, msgpack nil body", []byte{byte(catalog.CmdRegister), 0xc0}},
		{"known type, empty map body", []byte{byte(catalog.CmdTxn), 0x80}},
		{"unknown type", []byte{0x7e, 0x80}},
		{"ignorable unknown type", []byte{0xff, 0x80}},
		{"array32 claiming 4G elements", []byte{byte(catalog.CmdTxn), 0x81, 0xa3, 'O', 'p', 's', 0xdd, 0xff, 0xff, 0xff, 0xff}},
		{"bin32 claiming 4 GiB", []byte{byte(catalog.CmdKV), 0x81, 0xa5, 'E', 'n', 't', 'r', 'y', 0x81, 0xa5, 'V', 'a', 'l', 'u', 'e', 0xc6, 0xff, 0xff, 0xff, 0xff}},
		{"struct as array", []byte{byte(catalog.CmdDeregister), 0x93, 0xa1, 'n', 0xa0, 0xa0}},
		{"time ext with huge nanoseconds", []byte{byte(catalog.CmdSession), 0x81, 0xa7, 'S', 'e', 's', 's', 'i', 'o', 'n', 0x81, 0xaa, 'C', 'r', 'e', 'a', 't', 'e', 'T', 'i', 'm', 'e', 0xd7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, s := range seeds {
		f.Add(s.buf)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		c, err := catalog.Decode(buf)
		if err != nil {
			if c != nil {
				t.Fatalf("Decode returned a command and error %v", err)
			}
			for _, s := range decodeSentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("Decode error %v is none of the sentinels", err)
		}
		again, err := catalog.Encode(c)
		if err != nil {
			t.Fatalf("re-encode of decoded %#v: %v", c, err)
		}
		c2, err := catalog.Decode(again)
		if err != nil {
			t.Fatalf("decode of re-encoded %x: %v", again, err)
		}
		// Bytes are not compared: map order makes the encoding of an
		// equal command vary.
		if !sameCommand(c, c2) {
			t.Fatalf("re-encode round trip changed the command:\n got %#v\nwant %#v", c2, c)
		}
	})
}

func TestErrorCodeRoundTrip(t *testing.T) {
	sentinels := []error{
		catalog.ErrInvalid, catalog.ErrNotFound, catalog.ErrUnknownCommand, catalog.ErrCorruptCommand,
		catalog.ErrSessionInvalid, catalog.ErrLockDelay, catalog.ErrTxnRolledBack, catalog.ErrCompacted, catalog.ErrClosed,
	}
	for _, s := range sentinels {
		t.Run(s.Error(), func(t *testing.T) {
			wrapped := errors.Join(errors.New("context"), s)
			code := catalog.ErrorCode(wrapped)
			if code == "" {
				t.Fatalf("ErrorCode(%v) = \"\"", wrapped)
			}
			back := catalog.ErrorFromCode(code, wrapped.Error())
			if !errors.Is(back, s) {
				t.Fatalf("ErrorFromCode(%q) = %v, does not match %v", code, back, s)
			}
			if back.Error() != wrapped.Error() {
				t.Fatalf("message = %q, want %q", back.Error(), wrapped.Error())
			}
		})
	}
	t.Run("validation error", func(t *testing.T) {
		err := (&catalog.KVRequest{Op: "nope"}).Validate()
		if got := catalog.ErrorCode(err); got != "invalid" {
			t.Fatalf("ErrorCode = %q, want invalid", got)
		}
	})
	t.Run("compacted error", func(t *testing.T) {
		err := &catalog.CompactedError{Requested: 1, Oldest: 5, Current: 9}
		if got := catalog.ErrorCode(err); got != "compacted" {
			t.Fatalf("ErrorCode = %q, want compacted", got)
		}
	})
	t.Run("no sentinel", func(t *testing.T) {
		if got := catalog.ErrorCode(errors.New("x")); got != "" {
			t.Fatalf("ErrorCode = %q, want \"\"", got)
		}
		if got := catalog.ErrorFromCode("", ""); got != nil {
			t.Fatalf("ErrorFromCode(\"\", \"\") = %v, want nil", got)
		}
		got := catalog.ErrorFromCode("no-such-code", "boom")
		if got == nil || got.Error() != "boom" || errors.Is(got, catalog.ErrInvalid) {
			t.Fatalf("ErrorFromCode(unknown) = %v", got)
		}
	})
}
