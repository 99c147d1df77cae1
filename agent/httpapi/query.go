package httpapi

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// QueryOptions are the conventions every read endpoint accepts.
type QueryOptions struct {
	Mode     Consistency
	MinIndex uint64        // ?index: block until the result's index exceeds it
	Wait     time.Duration // ?wait, capped at Config.MaxWait
}

// parseQuery reads ?dc, ?stale, ?consistent, ?index, ?wait and ?filter.
func (a *API) parseQuery(r *http.Request) (QueryOptions, error) {
	q := r.URL.Query()
	var o QueryOptions
	if err := a.checkDC(q); err != nil {
		return o, err
	}
	stale, consistent := q.Has("stale"), q.Has("consistent")
	switch {
	case stale && consistent:
		return o, badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
	case stale:
		o.Mode = Stale
	case consistent:
		o.Mode = Consistent
	}
	if q.Has("filter") && q.Get("filter") != "" {
		return o, badRequest("Failed to create boolean expression evaluator: ?filter is not supported yet")
	}
	if s := q.Get("index"); s != "" {
		idx, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return o, badRequest("Invalid index")
		}
		o.MinIndex = idx
	}
	o.Wait = a.cfg.DefaultWait
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return o, badRequest("Invalid wait time")
		}
		o.Wait = d
	}
	o.Wait = min(o.Wait, a.cfg.MaxWait)
	return o, nil
}

// checkDC rejects any datacenter but the local one.
func (a *API) checkDC(q url.Values) error {
	if dc := q.Get("dc"); dc != "" && dc != a.cfg.Datacenter {
		return errNoPathToDC
	}
	return nil
}

// readFunc computes a read's result and the index it depends on from one
// snapshot of the catalog.
type readFunc func(tx *catalog.ReadTx) (result any, index uint64, err error)

// blockingRead serves a read endpoint: it prepares the read in the
// requested mode, and with ?index waits until the result's index exceeds
// it or the wait (plus jitter of up to wait/16) ends, then writes the result
// as JSON with the read headers. keys are the watches that can change the
// result; a wake-up re-runs fn, and only a changed index answers.
func (a *API) blockingRead(w http.ResponseWriter, r *http.Request, keys []catalog.WatchKey, fn readFunc) {
	a.blockingReadWith(w, r, keys, fn, writeJSONResult)
}

func writeJSONResult(w http.ResponseWriter, r *http.Request, result any) {
	WriteJSON(w, r, http.StatusOK, result)
}

// writeFunc writes a read's result after the read headers are set. It
// must use only the w and r it is given: a parked query answers through
// another writer, long after the original request returned.
type writeFunc func(w http.ResponseWriter, r *http.Request, result any)

// blockingReadWith is blockingRead with a custom writer for the result
// (raw values, 404s for missing keys…).
func (a *API) blockingReadWith(w http.ResponseWriter, r *http.Request, keys []catalog.WatchKey, fn readFunc, write writeFunc) {
	opts, err := a.parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if opts.MinIndex > 0 && len(keys) > 0 && a.canPark(r) {
		if a.park(w, r, opts, keys, fn, write) {
			return
		}
	}
	result, index, info, err := a.runBlocking(r.Context(), opts, keys, fn)
	if err != nil {
		writeError(w, err)
		return
	}
	setReadHeaders(w, index, info, opts.Mode)
	write(w, r, result)
}

// waitWithJitter is a blocking query's wait plus up to wait/16.
func waitWithJitter(wait time.Duration) time.Duration {
	if wait > 0 {
		wait += rand.N(wait/16 + 1)
	}
	return wait
}

// runBlocking implements the blocking-query loop. The watch is registered
// before each read, so a change between the read and the wait still wakes
// it.
func (a *API) runBlocking(ctx context.Context, opts QueryOptions, keys []catalog.WatchKey, fn readFunc) (any, uint64, ReadInfo, error) {
	info, err := a.store.Read(ctx, opts.Mode)
	if err != nil {
		return nil, 0, info, err
	}
	var deadline <-chan time.Time
	if opts.MinIndex > 0 && len(keys) > 0 {
		t := time.NewTimer(waitWithJitter(opts.Wait))
		defer t.Stop()
		deadline = t.C
	}
	for {
		var watch *catalog.Watch
		if deadline != nil {
			watch = a.store.Hub().Watch(keys...)
		}
		result, index, err := a.view(fn)
		if err != nil || deadline == nil || index > opts.MinIndex {
			if watch != nil {
				watch.Stop()
			}
			return result, index, info, err
		}
		select {
		case <-watch.C():
			watch.Stop()
		case <-deadline:
			watch.Stop()
			return result, index, info, nil
		case <-a.stop: // the agent is stopping: answer now
			watch.Stop()
			return result, index, info, nil
		case <-ctx.Done():
			watch.Stop()
			return nil, 0, info, ctx.Err()
		}
	}
}

// startRead parses the query's read options and prepares a read in its
// consistency mode (Store.Read). On failure it has answered the request.
func (a *API) startRead(w http.ResponseWriter, r *http.Request) (QueryOptions, ReadInfo, bool) {
	opts, err := a.parseQuery(r)
	if err != nil {
		writeError(w, err)
		return opts, ReadInfo{}, false
	}
	info, err := a.store.Read(r.Context(), opts.Mode)
	if err != nil {
		writeError(w, err)
		return opts, info, false
	}
	return opts, info, true
}

// view runs fn in one read transaction.
func (a *API) view(fn readFunc) (result any, index uint64, err error) {
	err = a.store.View(func(tx *catalog.ReadTx) error {
		var ferr error
		result, index, ferr = fn(tx)
		if ferr != nil {
			return ferr
		}
		return tx.Err()
	})
	return result, index, err
}

// setReadHeaders sets the headers every read answers with. The index is
// never 0: clients treat 0 as "no blocking".
func setReadHeaders(w http.ResponseWriter, index uint64, info ReadInfo, mode Consistency) {
	// Canonical keys assigned directly, and shared values for the constant
	// ones: this runs on every read, and Set would canonicalize and
	// allocate each time. Shared slices must never be modified.
	h := w.Header()
	h["X-Consul-Index"] = []string{strconv.FormatUint(max(index, 1), 10)}
	h["X-Consul-Knownleader"] = boolHeader[info.KnownLeader]
	if info.LastContact == 0 {
		h["X-Consul-Lastcontact"] = zeroHeader
	} else {
		h["X-Consul-Lastcontact"] = []string{strconv.FormatInt(info.LastContact.Milliseconds(), 10)}
	}
	h["X-Consul-Effective-Consistency"] = consistencyHeader[mode]
}

var (
	boolHeader        = map[bool][]string{true: {"true"}, false: {"false"}}
	zeroHeader        = []string{"0"}
	consistencyHeader = map[Consistency][]string{Default: {"leader"}, Stale: {"stale"}, Consistent: {"consistent"}}
)

// String is the X-Consul-Effective-Consistency value.
func (c Consistency) String() string {
	switch c {
	case Stale:
		return "stale"
	case Consistent:
		return "consistent"
	}
	return "leader"
}

// apply runs a write and maps its error. The request's context bounds it.
func (a *API) apply(r *http.Request, cmd catalog.Command) (catalog.Result, error) {
	if err := a.checkDC(r.URL.Query()); err != nil {
		return catalog.Result{}, err
	}
	return a.store.Apply(r.Context(), cmd)
}
