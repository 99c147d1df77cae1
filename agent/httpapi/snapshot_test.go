package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestSnapshotSaveRestore(t *testing.T) {
	ta := newTestAPI(t)
	registerSessionNode(ta, "node1")
	c := newSessionClient(t, ta)
	ta.do("PUT", "/v1/kv/a", "1")
	sess := sessionCreateFromBody(t, ta, "")

	rc, qm, err := c.Snapshot().Save(nil)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	snap, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || len(snap) == 0 {
		t.Fatalf("read snapshot: %d bytes, %v", len(snap), err)
	}
	_, hdr, _ := ta.do("GET", "/v1/session/list", "")
	if want := hdr.Get("X-Consul-Index"); strconv.FormatUint(qm.LastIndex, 10) != want {
		t.Errorf("snapshot X-Consul-Index = %d, want the catalog's index %s", qm.LastIndex, want)
	}

	// Change the state, then restore the snapshot over it.
	ta.do("PUT", "/v1/kv/a", "2")
	ta.do("PUT", "/v1/kv/b", "new")
	ta.do("PUT", "/v1/session/destroy/"+sess, "")

	checkState := func(t *testing.T, when string) {
		t.Helper()
		steps := []struct{ path, want string }{
			{"/v1/kv/a?raw", "1"},
			{"/v1/session/info/" + sess, sess},
		}
		for _, s := range steps {
			if code, _, body := ta.do("GET", s.path, ""); code != 200 || !strings.Contains(body, s.want) {
				t.Errorf("%s: GET %s = %d %q, want %q", when, s.path, code, body, s.want)
			}
		}
		if code, _, _ := ta.do("GET", "/v1/kv/b", ""); code != 404 {
			t.Errorf("%s: key b written after the snapshot exists", when)
		}
	}

	if err := c.Snapshot().Restore(nil, bytes.NewReader(snap)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	checkState(t, "after restore")

	bad := []struct {
		name     string
		body     []byte
		path     string
		wantCode int
		wantBody string
	}{
		{"garbage", []byte("not a snapshot"), "/v1/snapshot", 400, "corrupt snapshot"},
		{"truncated", snap[:len(snap)/2], "/v1/snapshot", 400, "corrupt snapshot"},
		{"flipped byte", snapshotFlipByte(snap, len(snap)-5), "/v1/snapshot", 400, "corrupt snapshot"},
		{"empty", nil, "/v1/snapshot", 400, "corrupt snapshot"},
		{"other dc", snap, "/v1/snapshot?dc=dc9", 500, "No path to datacenter"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			req, err := http.NewRequest("PUT", ta.srv.URL+b.path, bytes.NewReader(b.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != b.wantCode || !strings.Contains(string(body), b.wantBody) {
				t.Errorf("= %d %q, want %d containing %q", resp.StatusCode, body, b.wantCode, b.wantBody)
			}
			checkState(t, "after a failed restore")
		})
	}
}

func snapshotFlipByte(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0xff
	return out
}

func TestSnapshotSaveQuery(t *testing.T) {
	ta := newTestAPI(t)
	steps := []struct {
		name, path string
		wantCode   int
		wantBody   string
	}{
		{"stale", "/v1/snapshot?stale", 200, ""},
		{"stale and consistent", "/v1/snapshot?stale&consistent", 400, "conflicting semantics"},
		{"other dc", "/v1/snapshot?dc=dc9", 500, "No path to datacenter"},
	}
	for _, s := range steps {
		code, hdr, body := ta.do("GET", s.path, "")
		if code != s.wantCode || !strings.Contains(body, s.wantBody) {
			t.Errorf("%s: = %d %.100q, want %d containing %q", s.name, code, body, s.wantCode, s.wantBody)
		}
		if code == 200 {
			if hdr.Get("X-Consul-Index") == "" || hdr.Get("X-Consul-LastContact") == "" || hdr.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("%s: headers %v for a %d-byte body", s.name, hdr, len(body))
			}
		}
	}
}

func TestSnapshotRestoreTooLarge(t *testing.T) {
	ta := newTestAPI(t)
	req := httptest.NewRequest("PUT", "/v1/snapshot", strings.NewReader("x"))
	req.ContentLength = snapshotMaxRestoreBytes + 1
	rec := httptest.NewRecorder()
	ta.api.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "Snapshot too large") {
		t.Fatalf("= %d %q, want 413", rec.Code, rec.Body.String())
	}
}
