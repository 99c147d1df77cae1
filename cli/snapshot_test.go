package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// encodeSnapshot writes a catalog snapshot stream (catalog/snapshot.go's
// format; TestSnapshotFormatMatchesCatalog keeps the two in step).
func encodeSnapshot(index uint64, records map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString(snapMagic)
	b.Write(binary.BigEndian.AppendUint32(nil, snapVersion))
	b.Write(binary.BigEndian.AppendUint64(nil, index))
	keys := make([]string, 0, len(records))
	for k := range records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteByte(snapRecord)
		b.Write(binary.AppendUvarint(nil, uint64(len(k))))
		b.WriteString(k)
		b.Write(binary.AppendUvarint(nil, uint64(len(records[k]))))
		b.WriteString(records[k])
	}
	b.WriteByte(snapEnd)
	b.Write(binary.BigEndian.AppendUint64(nil, uint64(len(keys))))
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

func writeTempSnapshot(t *testing.T, index uint64, records map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.snap")
	if err := os.WriteFile(path, encodeSnapshot(index, records), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSnapshotFormatMatchesCatalog checks the parser against snapshots the
// catalog itself writes, and against the catalog's own verdict on damaged
// ones.
func TestSnapshotFormatMatchesCatalog(t *testing.T) {
	s, err := catalog.Open(catalog.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var entries []catalog.Entry
	for i, k := range []string{"a", "b/c", "d"} {
		data, err := catalog.Encode(&catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: k, Value: []byte("v")}})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, catalog.Entry{Index: uint64(i + 1), Time: time.Unix(1, 0), Data: data})
	}
	if _, err := s.ApplyBatch(entries); err != nil {
		t.Fatal(err)
	}
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	sn.Close()
	good := buf.Bytes()
	info, err := inspectSnapshot(bytes.NewReader(good))
	if err != nil || !info.Valid || info.Index != 3 || info.Records == 0 || info.Size != int64(len(good)) {
		t.Fatalf("inspect catalog snapshot = %+v, %v", info, err)
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x40
		_, ours := inspectSnapshot(bytes.NewReader(bad))
		_, theirs := catalog.CheckSnapshot(bytes.NewReader(bad))
		if (ours == nil) != (theirs == nil) {
			t.Errorf("byte %d flipped: cli says %v, catalog says %v", i, ours, theirs)
		}
	}
	if _, err := catalog.CheckSnapshot(bytes.NewReader(encodeSnapshot(9, map[string]string{"x": "y"}))); err != nil {
		t.Errorf("catalog rejects the test encoder's snapshot: %v", err)
	}
}

func TestInspectSnapshot(t *testing.T) {
	good := encodeSnapshot(42, map[string]string{"k1": "v1", "k2": strings.Repeat("x", 300)})
	sum := sha256.Sum256(good)
	for _, tc := range []struct {
		name    string
		data    []byte
		valid   bool
		index   uint64
		records uint64
		problem string
	}{
		{"valid", good, true, 42, 2, ""},
		{"empty snapshot", encodeSnapshot(1, nil), true, 1, 0, ""},
		{"truncated", good[:len(good)-5], false, 42, 2, "truncated checksum"},
		{"truncated in a record", good[:30], false, 42, 1, "truncated"},
		{"checksum", append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^1), false, 42, 2, "checksum mismatch"},
		{"trailing data", append(bytes.Clone(good), 0), false, 42, 2, "data after the trailer"},
		{"bad magic", []byte("PK\x03\x04 not a snapshot at all"), false, 0, 0, "bad magic"},
		{"too short", []byte("BCN"), false, 0, 0, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := inspectSnapshot(bytes.NewReader(tc.data))
			if tc.valid != (err == nil) || info.Valid != tc.valid {
				t.Fatalf("valid = %v, err = %v; want valid %v", info.Valid, err, tc.valid)
			}
			if err != nil && !errors.Is(err, errBadSnapshot) {
				t.Errorf("err %v does not match errBadSnapshot", err)
			}
			if info.Index != tc.index || info.Records != tc.records || !strings.Contains(info.Problem, tc.problem) {
				t.Errorf("info = %+v; want index %d, records %d, problem %q", info, tc.index, tc.records, tc.problem)
			}
			if info.Size != int64(len(tc.data)) {
				t.Errorf("size = %d, want %d", info.Size, len(tc.data))
			}
		})
	}
	if info, _ := inspectSnapshot(bytes.NewReader(good)); info.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA256 = %s, want %x", info.SHA256, sum)
	}
}

func TestSnapshotCommands(t *testing.T) {
	good := encodeSnapshot(42, map[string]string{"k": "v"})
	sum := sha256.Sum256(good)
	goodFile := writeTempSnapshot(t, 42, map[string]string{"k": "v"})
	badFile := filepath.Join(t.TempDir(), "bad.snap")
	os.WriteFile(badFile, good[:len(good)-1], 0o600)
	dir := t.TempDir()
	saved := filepath.Join(dir, "saved.snap")
	serveSnap := func(body []byte) map[string]http.HandlerFunc {
		return map[string]http.HandlerFunc{"GET /v1/snapshot": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Consul-Index", "42")
			w.Write(body)
		}}
	}
	runCases(t, []cliCase{
		{name: "save", args: []string{"snapshot", "save", saved}, routes: serveSnap(good),
			wantOut: "Saved and verified snapshot to index 42\n", wantReqs: []string{"GET /v1/snapshot"},
			check: func(t *testing.T, _ []recordedRequest) {
				if b, err := os.ReadFile(saved); err != nil || !bytes.Equal(b, good) {
					t.Errorf("saved file differs (err %v)", err)
				}
			}},
		{name: "save stale", args: []string{"snapshot", "save", "-stale", filepath.Join(dir, "s2.snap")}, routes: serveSnap(good),
			wantOut: "Saved and verified snapshot to index 42\n", wantReqs: []string{"GET /v1/snapshot?stale"}},
		{name: "save corrupt leaves nothing", args: []string{"snapshot", "save", filepath.Join(dir, "corrupt.snap")},
			routes: serveSnap(good[:len(good)-3]), wantCode: 1, errHas: []string{"Error saving snapshot: verifying: invalid snapshot: truncated checksum"},
			check: func(t *testing.T, _ []recordedRequest) {
				if names := dirNames(t, dir); strings.Contains(names, "corrupt") || strings.Contains(names, ".tmp") {
					t.Errorf("left behind: %s", names)
				}
			}},
		{name: "save into missing dir", args: []string{"snapshot", "save", filepath.Join(dir, "no", "such.snap")},
			routes: serveSnap(good), wantCode: 1, errHas: []string{"Error saving snapshot:"}},
		{name: "save no file", args: []string{"snapshot", "save"}, wantCode: 1, errHas: []string{"missing arguments", "Usage: beacon snapshot save [options] FILE"}},
		{name: "restore", args: []string{"snapshot", "restore", goodFile},
			routes:  map[string]http.HandlerFunc{"PUT /v1/snapshot": reply(200, "")},
			wantOut: "Restored snapshot\n", wantReqs: []string{"PUT /v1/snapshot"}, wantBody: string(good)},
		{name: "restore refuses a corrupt file", args: []string{"snapshot", "restore", badFile}, wantCode: 1,
			errHas: []string{"Error verifying snapshot file", "truncated checksum"}, wantReqs: []string{}},
		{name: "restore missing file", args: []string{"snapshot", "restore", filepath.Join(dir, "nope")}, wantCode: 1,
			errHas: []string{"no such file"}, wantReqs: []string{}},
		{name: "inspect", args: []string{"snapshot", "inspect", goodFile},
			wantOut: "Index     42\nRecords   1\nVersion   1\nSize      " + strconv.Itoa(len(good)) + "\nChecksum  valid\nSHA-256   " + hex.EncodeToString(sum[:]) + "\n"},
		{name: "inspect json", args: []string{"snapshot", "inspect", "-format", "json", goodFile},
			outHas: []string{`"Index": 42`, `"Records": 1`, `"Valid": true`, `"SHA256": "` + hex.EncodeToString(sum[:])}},
		{name: "inspect corrupt", args: []string{"snapshot", "inspect", badFile}, wantCode: 1,
			outHas: []string{"Index     42", "Checksum  INVALID: invalid snapshot: truncated checksum"}, errHas: []string{"Error! invalid snapshot: truncated checksum"}},
		{name: "inspect missing file", args: []string{"snapshot", "inspect", filepath.Join(dir, "nope")}, wantCode: 1,
			errHas: []string{"Error reading snapshot", "no such file"}},
	})
}

func dirNames(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
