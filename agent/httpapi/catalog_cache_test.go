package httpapi

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestParseServiceQuery(t *testing.T) {
	cases := []struct {
		name    string
		kind    uint8
		target  string
		want    serviceQuery
		wantErr string
	}{
		{"bare", queryHealthService, "/v1/health/service/web", serviceQuery{kind: queryHealthService, name: "web"}, ""},
		{"passing flag", queryHealthService, "/v1/health/service/web?passing", serviceQuery{kind: queryHealthService, name: "web", passing: true}, ""},
		{"passing=1", queryHealthService, "/v1/health/service/web?passing=1", serviceQuery{kind: queryHealthService, name: "web", passing: true}, ""},
		{"passing=false", queryHealthService, "/v1/health/service/web?passing=false", serviceQuery{kind: queryHealthService, name: "web"}, ""},
		{"bad passing", queryHealthService, "/v1/health/service/web?passing=sure", serviceQuery{}, "Invalid value for ?passing"},
		{"passing ignored by catalog", queryCatalogService, "/v1/catalog/service/web?passing", serviceQuery{kind: queryCatalogService, name: "web"}, ""},
		{"tags sorted, lower-cased, unique", queryCatalogService, "/v1/catalog/service/web?tag=b&tag=A&tag=a&tag=",
			serviceQuery{kind: queryCatalogService, name: "web", tags: "a\x00b"}, ""},
		{"escaped tag", queryHealthService, "/v1/health/service/web?tag=x%20y&tag=z+w",
			serviceQuery{kind: queryHealthService, name: "web", tags: "x y\x00z w"}, ""},
		{"tags ignored by checks", queryHealthChecks, "/v1/health/checks/web?tag=a", serviceQuery{kind: queryHealthChecks, name: "web"}, ""},
		{"pretty and others", queryHealthService, "/v1/health/service/web?near=_agent&pretty&index=3&tag=v1",
			serviceQuery{kind: queryHealthService, name: "web", tags: "v1", pretty: true}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			r.SetPathValue("name", "web")
			got, err := parseServiceQuery(r, tc.kind)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestHasAllTags(t *testing.T) {
	cases := []struct {
		name       string
		tags, want []string
		ok         bool
	}{
		{"none wanted", []string{"a"}, nil, true},
		{"all present, any case", []string{"v1", "Primary"}, []string{"primary", "V1"}, true},
		{"one missing", []string{"v1"}, []string{"v1", "v2"}, false},
		{"no tags", nil, []string{"v1"}, false},
	}
	for _, tc := range cases {
		if got := hasAllTags(tc.tags, tc.want); got != tc.ok {
			t.Errorf("%s: hasAllTags(%v, %v) = %v", tc.name, tc.tags, tc.want, got)
		}
	}
}

func cacheTestKey(name string) serviceQuery {
	return serviceQuery{kind: queryHealthService, name: name}
}

func cacheTestBody(index uint64, n int) *cachedBody {
	return newCachedBody(0, index, []byte(strings.Repeat("x", n)))
}

func TestResponseCache(t *testing.T) {
	t.Run("hit only at the same index", func(t *testing.T) {
		c := newResponseCache(10, 1<<20)
		c.put(cacheTestKey("web"), cacheTestBody(5, 10))
		if c.get(cacheTestKey("web"), 0, 5) == nil {
			t.Error("miss at the cached index")
		}
		for _, idx := range []uint64{4, 6} {
			if c.get(cacheTestKey("web"), 0, idx) != nil {
				t.Errorf("hit at index %d for a body computed at 5", idx)
			}
		}
		if c.get(serviceQuery{kind: queryHealthService, name: "web", passing: true}, 0, 5) != nil {
			t.Error("?passing shares the plain answer's entry")
		}
	})
	t.Run("latest put wins, even at a lower index", func(t *testing.T) {
		c := newResponseCache(10, 1<<20)
		c.put(cacheTestKey("web"), cacheTestBody(7, 10))
		c.put(cacheTestKey("web"), cacheTestBody(3, 20))
		if c.get(cacheTestKey("web"), 0, 3) == nil || c.get(cacheTestKey("web"), 0, 7) != nil {
			t.Error("the later put did not replace the earlier")
		}
		if n, b := c.len(); n != 1 || b != 20 {
			t.Errorf("len = %d entries, %d bytes; want 1, 20", n, b)
		}
	})
	t.Run("entry cap, recently used kept", func(t *testing.T) {
		c := newResponseCache(4, 1<<20)
		for i := range 4 {
			c.put(cacheTestKey(fmt.Sprint(i)), cacheTestBody(1, 10))
		}
		// The hand clears every bit on its first turn and evicts "0";
		// then "1" is used again and survives the next eviction.
		c.put(cacheTestKey("new1"), cacheTestBody(1, 10))
		c.get(cacheTestKey("1"), 0, 1)
		c.put(cacheTestKey("new2"), cacheTestBody(1, 10))
		if n, _ := c.len(); n != 4 {
			t.Fatalf("%d entries, cap 4", n)
		}
		if c.get(cacheTestKey("1"), 0, 1) == nil {
			t.Error("recently used entry evicted")
		}
		if c.get(cacheTestKey("new2"), 0, 1) == nil {
			t.Error("the entry just put was evicted")
		}
	})
	t.Run("byte cap", func(t *testing.T) {
		c := newResponseCache(100, 100)
		for i := range 10 {
			c.put(cacheTestKey(fmt.Sprint(i)), cacheTestBody(1, 30))
			if _, b := c.len(); b > 100 {
				t.Fatalf("%d bytes cached, cap 100", b)
			}
		}
		if n, b := c.len(); n != 3 || b != 90 {
			t.Errorf("len = %d entries, %d bytes; want 3, 90", n, b)
		}
	})
	t.Run("body above the cap is not kept", func(t *testing.T) {
		c := newResponseCache(10, 100)
		c.put(cacheTestKey("big"), cacheTestBody(1, 101))
		if n, _ := c.len(); n != 0 {
			t.Error("oversized body cached")
		}
	})
	t.Run("nil cache caches nothing", func(t *testing.T) {
		var c *responseCache
		c.put(cacheTestKey("web"), cacheTestBody(1, 1))
		if c.get(cacheTestKey("web"), 0, 1) != nil {
			t.Error("nil cache hit")
		}
	})
	t.Run("concurrent use stays within bounds", func(t *testing.T) {
		c := newResponseCache(8, 1000)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 2000 {
					k := cacheTestKey(fmt.Sprint((g*7 + i) % 20))
					if b := c.get(k, 0, uint64(i%3)); b != nil && b.index != uint64(i%3) {
						t.Errorf("got a body at index %d for %d", b.index, i%3)
						return
					}
					c.put(k, cacheTestBody(uint64(i%3), 50))
				}
			}()
		}
		wg.Wait()
		if n, b := c.len(); n > 8 || b > 1000 {
			t.Errorf("len = %d entries, %d bytes; caps 8, 1000", n, b)
		}
	})
}
