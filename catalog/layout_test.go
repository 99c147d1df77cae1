package catalog

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-msgpack/v2/codec"
)

// The stored and replicated encoding is msgpack with structs as arrays
// (msgpackHandle): a field is found by its position, not its name. These
// tests pin that layout for every type written to the log or the store.

// layoutTypes are the types whose encoding is written to the Raft log or
// the store, by the name the golden file uses.
var layoutTypes = map[string]func() any{
	"RegisterRequest":       func() any { return new(RegisterRequest) },
	"DeregisterRequest":     func() any { return new(DeregisterRequest) },
	"CheckStatusRequest":    func() any { return new(CheckStatusRequest) },
	"KVRequest":             func() any { return new(KVRequest) },
	"SessionRequest":        func() any { return new(SessionRequest) },
	"TxnRequest":            func() any { return new(TxnRequest) },
	"ReapTombstonesRequest": func() any { return new(ReapTombstonesRequest) },
	"MemberRequest":         func() any { return new(MemberRequest) },
	"Node":                  func() any { return new(Node) },
	"Service":               func() any { return new(Service) },
	"Check":                 func() any { return new(Check) },
	"KVEntry":               func() any { return new(KVEntry) },
	"Session":               func() any { return new(Session) },
	"Member":                func() any { return new(Member) },
	"Event":                 func() any { return new(Event) },
}

// layoutGolden holds each type's encoding as it was when the type joined
// layoutTypes. Entries are only ever added (-write-layout adds the missing
// ones, for a new type), never rewritten: stored data of that layout must
// stay readable.
const layoutGolden = "testdata/layout-v1.golden"

var writeLayout = flag.Bool("write-layout", false, "add the types missing from "+layoutGolden+" (existing entries are never rewritten)")

// TestLayoutReadsOldData decodes the golden encodings with today's types.
// Every field must come back either as the value its name gives it (fill)
// or zero (a field appended since). Inserting, reordering, removing or
// retyping a field would shift the positions and fail here: add new
// fields at the end of a struct only.
func TestLayoutReadsOldData(t *testing.T) {
	golden := map[string]string{}
	raw, err := os.ReadFile(layoutGolden)
	if err == nil {
		err = json.Unmarshal(raw, &golden)
	}
	if (err == nil || os.IsNotExist(err)) && *writeLayout {
		for name, mk := range layoutTypes {
			if _, ok := golden[name]; ok {
				continue
			}
			v := mk()
			fill(reflect.ValueOf(v).Elem(), name, 0)
			b, err := encodeValue(v)
			if err != nil {
				t.Fatalf("encode %s: %v", name, err)
			}
			golden[name] = hex.EncodeToString(b)
			t.Logf("added %s to %s", name, layoutGolden)
		}
		out, _ := json.MarshalIndent(golden, "", "  ")
		if err := os.WriteFile(layoutGolden, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		err = nil
	}
	if err != nil {
		t.Fatalf("%s: %v", layoutGolden, err)
	}
	names := make([]string, 0, len(golden))
	for name := range golden {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			mk, ok := layoutTypes[name]
			if !ok {
				t.Fatalf("%s is in %s but no longer in layoutTypes: its stored data must stay readable", name, layoutGolden)
			}
			b, err := hex.DecodeString(golden[name])
			if err != nil {
				t.Fatal(err)
			}
			v := mk()
			if err := decodeExact(b, v); err != nil {
				t.Fatalf("data written with the first array layout no longer decodes: %v", err)
			}
			for _, bad := range checkFilled(reflect.ValueOf(v).Elem(), name, 0) {
				t.Errorf("%s (fields must only be appended, never inserted, reordered or retyped)", bad)
			}
		})
	}
	for name := range layoutTypes {
		if _, ok := golden[name]; !ok {
			t.Errorf("%s has no entry in %s: run go test ./catalog -run TestLayoutReadsOldData -args -write-layout", name, layoutGolden)
		}
	}
}

// TestLayoutReadsMapEncodedData: data written before the array layout
// (structs as maps, by field name) still decodes to the same values.
func TestLayoutReadsMapEncodedData(t *testing.T) {
	// msgpackHandle as it was before StructToArray.
	mapHandle := &codec.MsgpackHandle{
		BasicHandle: codec.BasicHandle{EncodeOptions: codec.EncodeOptions{Canonical: true}},
		WriteExt:    true,
	}
	for name, mk := range layoutTypes {
		want := mk()
		fill(reflect.ValueOf(want).Elem(), name, 0)
		var b []byte
		if err := codec.NewEncoderBytes(&b, mapHandle).Encode(want); err != nil {
			t.Fatalf("%s: encode as a map: %v", name, err)
		}
		got := mk()
		if err := decodeExact(b, got); err != nil {
			t.Fatalf("%s: map-encoded data does not decode: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: map-encoded data decodes to\n%+v\nwant\n%+v", name, got, want)
		}
	}
}

// fillNumber is the number a field gets from its name, below 2^(bits-1).
func fillNumber(name string, bits int) uint64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	limit := uint64(1) << min(bits-1, 20)
	return 1 + uint64(h.Sum32())%(limit-1)
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
)

func fillTime(name string) time.Time {
	return time.Unix(1_700_000_000+int64(fillNumber(name, 32)), 0).UTC()
}

// fill sets every field of v to a value derived from the field's name.
func fill(v reflect.Value, name string, depth int) {
	if depth > 8 {
		return
	}
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(fillTime(name)))
		return
	case v.Type() == durationType:
		v.SetInt(int64(fillNumber(name, 32)) * int64(time.Millisecond))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(fillNumber(name, v.Type().Bits())))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(fillNumber(name, v.Type().Bits()))
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(name))
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), name, depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		e := reflect.New(v.Type().Elem()).Elem()
		fill(k, name, depth+1)
		fill(e, name, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), name, depth+1)
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() && f.Tag.Get("codec") != "-" {
				fill(v.Field(i), f.Name, depth+1)
			}
		}
	}
}

// checkFilled reports the fields of v that are neither zero nor the value
// fill gives them.
func checkFilled(v reflect.Value, name string, depth int) []string {
	if v.IsZero() || depth > 8 {
		return nil
	}
	want := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			break
		}
		var bad []string
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() && f.Tag.Get("codec") != "-" {
				bad = append(bad, checkFilled(v.Field(i), f.Name, depth+1)...)
			}
		}
		return bad
	case reflect.Pointer:
		return checkFilled(v.Elem(), name, depth+1)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Uint8 {
			var bad []string
			for i := range v.Len() {
				bad = append(bad, checkFilled(v.Index(i), name, depth+1)...)
			}
			return bad
		}
	}
	fill(want, name, depth)
	if !reflect.DeepEqual(v.Interface(), want.Interface()) {
		return []string{fmt.Sprintf("field %s = %v, want %v (its own) or zero", name, v.Interface(), want.Interface())}
	}
	return nil
}

// TestLayoutRoundTrip: decoding a stored encoding and encoding it again
// gives the same bytes, from either form (arrays, or maps as written
// before). The store decides that a write changes nothing by comparing
// this binary's encodings of the new and the stored value (applier.write);
// with a faithful round trip, servers of either form decide alike.
func TestLayoutRoundTrip(t *testing.T) {
	mapHandle := &codec.MsgpackHandle{
		BasicHandle: codec.BasicHandle{EncodeOptions: codec.EncodeOptions{Canonical: true}},
		WriteExt:    true,
	}
	for name, mk := range layoutTypes {
		filled, sparse := mk(), mk()
		fill(reflect.ValueOf(filled).Elem(), name, 0)
		emptyContainers(reflect.ValueOf(sparse).Elem())
		for _, c := range []struct {
			what string
			v    any
		}{{"filled", filled}, {"empty slices and maps", sparse}} {
			want, err := encodeValue(c.v)
			if err != nil {
				t.Fatalf("%s %s: %v", name, c.what, err)
			}
			var asMap []byte
			if err := codec.NewEncoderBytes(&asMap, mapHandle).Encode(c.v); err != nil {
				t.Fatalf("%s %s: encode as a map: %v", name, c.what, err)
			}
			for form, b := range map[string][]byte{"array": want, "map": asMap} {
				got := mk()
				if err := decodeExact(b, got); err != nil {
					t.Fatalf("%s %s (%s form): %v", name, c.what, form, err)
				}
				again, err := encodeValue(got)
				if err != nil || !bytes.Equal(again, want) {
					t.Errorf("%s %s (%s form): re-encoded %x, want %x (%v)", name, c.what, form, again, want, err)
				}
			}
		}
	}
}

// emptyContainers sets v's slice and map fields, nested ones included, to
// empty non-nil values, which must stay distinct from nil ones.
func emptyContainers(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 0, 0))
		case reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
		case reflect.Struct:
			if f.Type() != timeType {
				emptyContainers(f)
			}
		}
	}
}

// An entity stored as a map (before structs were arrays) that is written
// again unchanged is recognised as unchanged: no write, no new
// ModifyIndex, as a server still writing maps decides.
func TestUnchangedWriteOfMapEncodedEntity(t *testing.T) {
	s, err := Open(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	set := func(idx uint64) Result {
		t.Helper()
		data, err := Encode(&KVRequest{Op: KVSet, Entry: KVEntry{Key: "a", Value: []byte("1"), Flags: 7}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.ApplyBatch([]Entry{{Index: idx, Time: time.Unix(1_700_000_000+int64(idx), 0), Data: data}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("apply %d: %v %+v", idx, err, res)
		}
		return res[0]
	}
	set(1)
	var stored KVEntry
	if err := s.View(func(tx *ReadTx) error { e, _ := tx.KV("a"); stored = *e; return tx.Err() }); err != nil {
		t.Fatal(err)
	}
	mapHandle := &codec.MsgpackHandle{
		BasicHandle: codec.BasicHandle{EncodeOptions: codec.EncodeOptions{Canonical: true}},
		WriteExt:    true,
	}
	var asMap []byte
	if err := codec.NewEncoderBytes(&asMap, mapHandle).Encode(&stored); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(kKV("a"), asMap) }); err != nil {
		t.Fatal(err)
	}
	set(2)
	if err := s.View(func(tx *ReadTx) error {
		e, _ := tx.KV("a")
		if e.ModifyIndex != 1 || string(e.Value) != "1" {
			t.Errorf("after an unchanged set: %+v, want ModifyIndex 1", e)
		}
		return tx.Err()
	}); err != nil {
		t.Fatal(err)
	}
}
