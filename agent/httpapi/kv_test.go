package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestKVEndpoints(t *testing.T) {
	ta := newTestAPI(t)
	steps := []struct {
		name             string
		method, path     string
		body             string
		wantCode         int
		wantBodyContains string
	}{
		{"put", "PUT", "/v1/kv/a/b", "hello", 200, "true"},
		{"get", "GET", "/v1/kv/a/b", "", 200, `"Value":"aGVsbG8="`},
		{"get raw", "GET", "/v1/kv/a/b?raw", "", 200, "hello"},
		{"missing key", "GET", "/v1/kv/nope", "", 404, ""},
		{"cas with wrong index", "PUT", "/v1/kv/a/b?cas=99", "x", 200, "false"},
		{"cas 0 on existing", "PUT", "/v1/kv/a/b?cas=0", "x", 200, "false"},
		{"cas 0 on new", "PUT", "/v1/kv/a/c?cas=0", "x", 200, "true"},
		{"keys", "GET", "/v1/kv/a/?keys", "", 200, `["a/b","a/c"]`},
		{"recurse", "GET", "/v1/kv/a?recurse", "", 200, `"Key":"a/c"`},
		{"bad cas", "PUT", "/v1/kv/a/b?cas=x", "x", 400, "Invalid CAS index"},
		{"bad flags", "PUT", "/v1/kv/a/b?flags=-1", "x", 400, "Invalid flags"},
		{"bad index", "GET", "/v1/kv/a/b?index=z", "", 400, "Invalid index"},
		{"bad wait", "GET", "/v1/kv/a/b?index=1&wait=soon", "", 400, "Invalid wait time"},
		{"stale and consistent", "GET", "/v1/kv/a/b?stale&consistent", "", 400, "conflicting semantics"},
		{"other dc", "GET", "/v1/kv/a/b?dc=dc9", "", 500, "No path to datacenter"},
		{"missing key name", "PUT", "/v1/kv/", "x", 400, "Missing key name"},
		{"wrong method", "PATCH", "/v1/kv/a", "", 405, ""},
		{"delete tree", "DELETE", "/v1/kv/a?recurse", "", 200, "true"},
		{"gone", "GET", "/v1/kv/a?recurse", "", 404, ""},
		{"acquire with unknown session", "PUT", "/v1/kv/l?acquire=00000000-0000-0000-0000-000000000000", "", 400, "session"},
	}
	for _, s := range steps {
		code, hdr, body := ta.do(s.method, s.path, s.body)
		if code != s.wantCode || !strings.Contains(body, s.wantBodyContains) {
			t.Errorf("%s: %s %s = %d %q, want %d containing %q", s.name, s.method, s.path, code, body, s.wantCode, s.wantBodyContains)
		}
		if s.method == "GET" && code == 200 {
			for _, h := range []string{"X-Consul-Index", "X-Consul-KnownLeader", "X-Consul-LastContact"} {
				if hdr.Get(h) == "" {
					t.Errorf("%s: missing header %s", s.name, h)
				}
			}
		}
	}
}

func TestKVValueTooLarge(t *testing.T) {
	ta := newTestAPI(t)
	code, _, body := ta.do("PUT", "/v1/kv/big", strings.Repeat("x", 512<<10+1))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT 512KiB+1 = %d %q, want 413", code, body)
	}
	code, _, _ = ta.do("PUT", "/v1/kv/ok", strings.Repeat("x", 512<<10))
	if code != 200 {
		t.Fatalf("PUT 512KiB = %d, want 200", code)
	}
}

func TestKVBlockingQuery(t *testing.T) {
	ta := newTestAPI(t)
	ta.do("PUT", "/v1/kv/w", "1")
	_, hdr, _ := ta.do("GET", "/v1/kv/w", "")
	idx := hdr.Get("X-Consul-Index")

	t.Run("times out with the same index", func(t *testing.T) {
		start := time.Now()
		code, h, _ := ta.do("GET", "/v1/kv/w?index="+idx+"&wait=100ms", "")
		if code != 200 || h.Get("X-Consul-Index") != idx {
			t.Fatalf("got %d index %s, want 200 index %s", code, h.Get("X-Consul-Index"), idx)
		}
		if el := time.Since(start); el < 100*time.Millisecond {
			t.Fatalf("returned after %v, before the wait", el)
		}
	})
	t.Run("other keys do not wake it, its own does", func(t *testing.T) {
		done := make(chan string, 1)
		go func() {
			_, h, body := ta.do("GET", "/v1/kv/w?index="+idx+"&wait=30s", "")
			done <- h.Get("X-Consul-Index") + " " + body
		}()
		time.Sleep(50 * time.Millisecond)
		ta.do("PUT", "/v1/kv/other", "x")
		select {
		case got := <-done:
			t.Fatalf("a write to another key woke the query: %s", got)
		case <-time.After(100 * time.Millisecond):
		}
		ta.do("PUT", "/v1/kv/w", "2")
		select {
		case got := <-done:
			if strings.HasPrefix(got, idx+" ") || !strings.Contains(got, `"Value":"Mg=="`) {
				t.Fatalf("woke with %q, want a new index and value 2", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the write did not wake the query")
		}
	})
}
