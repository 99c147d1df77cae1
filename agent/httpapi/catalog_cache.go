package httpapi

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/beacon-sd/beacon/catalog"
)

// Bounds of a responseCache. A health/service answer for 10 instances is
// about 10 KiB, so the byte cap binds long before the entry cap for large
// services; a body above maxCachedBody is served but not kept.
const (
	defaultCacheEntries = 4096
	defaultCacheBytes   = 64 << 20
	maxCachedBody       = defaultCacheBytes / 8
)

// Kinds of service endpoint, part of a serviceQuery.
const (
	queryHealthService uint8 = iota + 1
	queryCatalogService
	queryHealthChecks
)

// serviceQuery is a read of one service name: everything its answer depends
// on besides the catalog. It is the response cache's key.
type serviceQuery struct {
	kind    uint8
	name    string
	tags    string // lower-cased, sorted, unique, NUL-separated (NUL cannot occur in a tag)
	passing bool
	pretty  bool
}

// tagList returns the query's tags, nil for none.
func (q serviceQuery) tagList() []string {
	if q.tags == "" {
		return nil
	}
	return strings.Split(q.tags, "\x00")
}

// parseServiceQuery reads a service endpoint's name (the {name} path
// value), ?tag (repeatable: an instance must have every one), ?passing and
// ?pretty. Empty tags are ignored. It scans the raw query rather than
// building url.Values: it runs on every cached read.
func parseServiceQuery(r *http.Request, kind uint8) (serviceQuery, error) {
	q := serviceQuery{kind: kind, name: r.PathValue("name")}
	var tags []string
	passing, hasPassing := "", false
	for raw := r.URL.RawQuery; raw != ""; {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		k, v = svcQueryUnescape(k), svcQueryUnescape(v)
		switch k {
		case "tag":
			if kind != queryHealthChecks {
				tags = append(tags, v)
			}
		case "passing":
			if !hasPassing {
				passing, hasPassing = v, true
			}
		case "pretty":
			q.pretty = true
		}
	}
	if kind == queryHealthService && hasPassing {
		p, err := consulBool(passing, "passing")
		if err != nil {
			return q, err
		}
		q.passing = p
	}
	q.tags = normalizeTags(tags)
	return q, nil
}

// svcQueryUnescape decodes a query component; one that does not decode is
// kept as is (url.Values drops it, which would only matter for junk).
func svcQueryUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// normalizeTags lower-cases (tags match case-insensitively, as in Consul),
// sorts and dedups tags, and joins them with NUL.
func normalizeTags(tags []string) string {
	switch len(tags) {
	case 0:
		return ""
	case 1:
		return strings.ToLower(tags[0])
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t != "" {
			out = append(out, strings.ToLower(t))
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), "\x00")
}

// consulBool reads the value of a presence flag that may carry one, the
// way Consul does: "?name" alone is true; otherwise the value must parse
// as a bool.
func consulBool(v, name string) (bool, error) {
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("Invalid value for ?%s", name)
	}
	return b, nil
}

// hasAllTags reports whether tags holds every one of want, compared
// case-insensitively.
func hasAllTags(tags, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(tags, func(t string) bool { return strings.EqualFold(t, w) }) {
			return false
		}
	}
	return true
}

// cachedBody is an encoded answer and the per-service index it was
// computed at. Immutable.
type cachedBody struct {
	gen    uint64 // the catalog's generation (see catalog.ReadTx.Generation)
	index  uint64
	body   []byte
	length []string // Content-Length header value, shared by every answer: never modify it
}

// newCachedBody wraps an encoded answer, trimming the encoder's spare
// capacity so the cache's byte count is what it holds.
func newCachedBody(gen, index uint64, body []byte) *cachedBody {
	if cap(body)-len(body) > len(body)/8 {
		body = bytes.Clone(body)
	}
	return &cachedBody{gen: gen, index: index, body: body, length: []string{strconv.Itoa(len(body))}}
}

// cacheSlot holds the latest body of one key.
type cacheSlot struct {
	key  serviceQuery
	used atomic.Bool // CLOCK reference bit: set on every hit, cleared by the sweeping hand
	body *cachedBody // guarded by responseCache.mu
}

// responseCache keeps the encoded answers of service reads, each with the
// per-service index it was computed at, so a read whose service has not
// changed since costs one index lookup and a write of the bytes. It is
// bounded by entry count and by total body bytes; eviction is CLOCK
// (second chance), which keeps hits to a read lock and an atomic flag.
// Safe for concurrent use.
//
// Correctness rests on the caller: a body is served only for the exact
// index it was computed at, and the caller reads that index in the same
// catalog snapshot it would compute the answer from.
type responseCache struct {
	maxEntries int
	maxBytes   int

	mu sync.RWMutex
	// mu guards the following fields and every cacheSlot.body.
	slots map[serviceQuery]*cacheSlot
	ring  []*cacheSlot // every slot, in no particular order: the CLOCK's face
	hand  int
	bytes int
}

func newResponseCache(maxEntries, maxBytes int) *responseCache {
	return &responseCache{maxEntries: max(maxEntries, 1), maxBytes: maxBytes, slots: map[serviceQuery]*cacheSlot{}}
}

// get returns the body cached for k if it was computed at index in
// generation gen, else nil. A nil cache caches nothing.
func (c *responseCache) get(k serviceQuery, gen, index uint64) *cachedBody {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	s := c.slots[k]
	var b *cachedBody
	if s != nil {
		b = s.body
	}
	c.mu.RUnlock()
	if b == nil || b.index != index || b.gen != gen {
		return nil
	}
	if !s.used.Load() {
		s.used.Store(true)
	}
	return b
}

// put stores b as k's body, replacing any other: the latest computed wins,
// whatever its index (an index can move back after a snapshot restore).
func (c *responseCache) put(k serviceQuery, b *cachedBody) {
	if c == nil || len(b.body) > maxCachedBody || len(b.body) > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slots[k]
	if s == nil {
		s = &cacheSlot{key: k}
		c.slots[k] = s
		c.ring = append(c.ring, s)
	} else {
		c.bytes -= len(s.body.body)
	}
	s.body = b
	s.used.Store(true)
	c.bytes += len(b.body)
	for len(c.ring) > 1 && (len(c.ring) > c.maxEntries || c.bytes > c.maxBytes) {
		c.evictLocked(s)
	}
}

// evictLocked removes one slot other than keep: the first the hand finds
// without its reference bit, clearing the bits it passes.
// Readers set bits without the lock, so after two full turns the hand
// evicts whatever it is on.
func (c *responseCache) evictLocked(keep *cacheSlot) {
	for turns := 0; ; turns++ {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		s := c.ring[c.hand]
		if s == keep || (s.used.Swap(false) && turns < 2*len(c.ring)) {
			c.hand++
			continue
		}
		delete(c.slots, s.key)
		c.bytes -= len(s.body.body)
		last := len(c.ring) - 1
		c.ring[c.hand] = c.ring[last]
		c.ring[last] = nil
		c.ring = c.ring[:last]
		return
	}
}

// len returns the number of cached keys and their total body size.
func (c *responseCache) len() (entries, bytes int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.slots), c.bytes
}

// serviceBuildFunc computes a service read's answer from a snapshot; the
// per-service index is read by the caller from the same snapshot.
type serviceBuildFunc func(tx *catalog.ReadTx, q serviceQuery) any

// cachedServiceRead serves a read of one service through cache: in each
// snapshot (a blocking query takes several) it reads only the service's
// index, and answers with the cached bytes when they were computed at that
// index; otherwise it builds the answer from the same snapshot, encodes it
// and caches it. The only watch is the service's, so a blocking query on
// one service is not woken by changes to another.
func (a *API) cachedServiceRead(w http.ResponseWriter, r *http.Request, c *responseCache, q serviceQuery, build serviceBuildFunc) {
	if q.name == "" {
		writeError(w, badRequest("Missing service name"))
		return
	}
	keys := []catalog.WatchKey{catalog.ServiceWatch(q.name)}
	a.blockingReadWith(w, r, keys, func(tx *catalog.ReadTx) (any, uint64, error) {
		idx := tx.ServiceIndex(q.name)
		if b := c.get(q, tx.Generation(), idx); b != nil {
			return b, idx, nil
		}
		v := build(tx, q)
		if err := tx.Err(); err != nil {
			return nil, 0, err // a partial read: neither cache nor serve it
		}
		body, err := encodeJSON(v, q.pretty)
		if err != nil {
			return nil, 0, err
		}
		b := newCachedBody(tx.Generation(), idx, body)
		c.put(q, b)
		return b, idx, nil
	}, func(w http.ResponseWriter, r *http.Request, res any) {
		b := res.(*cachedBody)
		w.Header()["Content-Length"] = b.length
		writeJSONBytes(w, http.StatusOK, b.body)
	})
}
