package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/beacon-sd/beacon/catalog"
)

// kvJSON is a KV entry as Consul's API writes it.
type kvJSON struct {
	Key         string
	CreateIndex uint64
	ModifyIndex uint64
	LockIndex   uint64
	Flags       uint64
	Value       []byte // base64; null when empty
	Session     string `json:",omitempty"`
}

func toKVJSON(e *catalog.KVEntry) kvJSON {
	v := e.Value
	if len(v) == 0 {
		v = nil
	}
	return kvJSON{Key: e.Key, CreateIndex: e.CreateIndex, ModifyIndex: e.ModifyIndex, LockIndex: e.LockIndex, Flags: e.Flags, Value: v, Session: e.Session}
}

// kv serves /v1/kv/{key...}.
func (a *API) kv(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/v1/kv/")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		a.kvGet(w, r, key)
	case http.MethodPut, http.MethodPost:
		a.kvPut(w, r, key)
	case http.MethodDelete:
		a.kvDelete(w, r, key)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, POST, DELETE")
		WriteText(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
	}
}

func (a *API) kvGet(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	switch {
	case q.Has("keys"):
		sep := q.Get("separator")
		a.blockingReadWith(w, r, []catalog.WatchKey{catalog.KVPrefixWatch(key)}, func(tx *catalog.ReadTx) (any, uint64, error) {
			keys, idx := tx.KVKeys(key, sep)
			return keys, idx, nil
		}, func(w http.ResponseWriter, r *http.Request, res any) {
			if len(res.([]string)) == 0 {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			WriteJSON(w, r, http.StatusOK, res)
		})
	case q.Has("recurse"):
		a.blockingReadWith(w, r, []catalog.WatchKey{catalog.KVPrefixWatch(key)}, func(tx *catalog.ReadTx) (any, uint64, error) {
			entries, idx := tx.KVList(key)
			out := make([]kvJSON, len(entries))
			for i, e := range entries {
				out[i] = toKVJSON(e)
			}
			return out, idx, nil
		}, func(w http.ResponseWriter, r *http.Request, res any) {
			if len(res.([]kvJSON)) == 0 {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			WriteJSON(w, r, http.StatusOK, res)
		})
	default:
		raw := q.Has("raw")
		a.blockingReadWith(w, r, []catalog.WatchKey{catalog.KVKeyWatch(key)}, func(tx *catalog.ReadTx) (any, uint64, error) {
			e, idx := tx.KV(key)
			return e, idx, nil
		}, func(w http.ResponseWriter, r *http.Request, res any) {
			e := res.(*catalog.KVEntry)
			switch {
			case e == nil:
				w.WriteHeader(http.StatusNotFound)
			case raw:
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Header().Set("X-Content-Type-Options", "nosniff")
				w.Write(e.Value)
			default:
				WriteJSON(w, r, http.StatusOK, []kvJSON{toKVJSON(e)})
			}
		})
	}
}

// uintParam parses an optional unsigned query parameter; Consul's messages.
func uintParam(q url.Values, name, msg string) (uint64, bool, error) {
	if !q.Has(name) {
		return 0, false, nil
	}
	v, err := strconv.ParseUint(q.Get(name), 10, 64)
	if err != nil {
		return 0, true, badRequest("%s", msg)
	}
	return v, true, nil
}

func (a *API) kvPut(w http.ResponseWriter, r *http.Request, key string) {
	if key == "" {
		writeError(w, badRequest("Missing key name"))
		return
	}
	q := r.URL.Query()
	flags, _, err := uintParam(q, "flags", "Invalid flags")
	if err != nil {
		writeError(w, err)
		return
	}
	cas, hasCAS, err := uintParam(q, "cas", "Invalid CAS index")
	if err != nil {
		writeError(w, err)
		return
	}
	if r.ContentLength > catalog.MaxValueBytes {
		writeError(w, &statusError{code: http.StatusRequestEntityTooLarge, msg: "Request body(" + strconv.FormatInt(r.ContentLength, 10) + " bytes) too large, max size: " + strconv.Itoa(catalog.MaxValueBytes) + " bytes. See https://developer.hashicorp.com/consul/docs/agent/config/config-files#kv_max_value_size."})
		return
	}
	value, err := readBody(w, r, catalog.MaxValueBytes)
	if err != nil {
		writeError(w, err)
		return
	}
	req := &catalog.KVRequest{Op: catalog.KVSet, Entry: catalog.KVEntry{Key: key, Value: value, Flags: flags}}
	switch {
	case q.Has("acquire"):
		req.Op, req.Entry.Session = catalog.KVLock, q.Get("acquire")
	case q.Has("release"):
		req.Op, req.Entry.Session = catalog.KVUnlock, q.Get("release")
	case hasCAS:
		req.Op, req.Entry.ModifyIndex = catalog.KVCAS, cas
	}
	a.writeBool(w, r, req)
}

func (a *API) kvDelete(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	cas, hasCAS, err := uintParam(q, "cas", "Invalid CAS index")
	if err != nil {
		writeError(w, err)
		return
	}
	req := &catalog.KVRequest{Op: catalog.KVDelete, Entry: catalog.KVEntry{Key: key}}
	switch {
	case q.Has("recurse"):
		req.Op = catalog.KVDeleteTree
	case hasCAS:
		req.Op, req.Entry.ModifyIndex = catalog.KVDeleteCAS, cas
	case key == "":
		writeError(w, badRequest("Missing key name"))
		return
	}
	a.writeBool(w, r, req)
}

// writeBool applies a KV write and answers true or false.
func (a *API) writeBool(w http.ResponseWriter, r *http.Request, req *catalog.KVRequest) {
	res, err := a.apply(r, req)
	if err != nil {
		writeError(w, err)
		return
	}
	body := []byte("false\n")
	if res.OK {
		body = []byte("true\n")
	}
	w.Header().Set("X-Consul-Index", strconv.FormatUint(res.Index, 10))
	writeJSONBytes(w, http.StatusOK, body)
}
