package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/beacon-sd/beacon/catalog"
)

// Errors the handlers return; writeError maps them (and catalog's) to
// status codes. Messages are the response body, so they name the problem.
var (
	errBadRequest   = errors.New("bad request")
	errNotFound     = errors.New("not found")
	errTooLarge     = errors.New("request body too large")
	errNoPathToDC   = errors.New("No path to datacenter")
	errPermission   = errors.New("Permission denied")
	errRateLimited  = errors.New("rate limit exceeded")
	errNotSupported = errors.New("not supported")
)

// badRequest is a 400 whose body is exactly the formatted message (Consul's
// texts, e.g. "Invalid index", are matched by clients and tests).
func badRequest(format string, args ...any) error {
	return &statusError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// notFound is a 404 with the given message.
func notFound(format string, args ...any) error {
	return &statusError{code: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

// statusError carries an exact status code and body.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// StatusError builds an error that writeError answers with exactly code and
// msg. Handlers outside this package (the agent's) use it too.
func StatusError(code int, msg string) error { return &statusError{code: code, msg: msg} }

// writeError answers err with its status code and a plain-text message.
func writeError(w http.ResponseWriter, err error) {
	code, msg := errorStatus(err)
	WriteText(w, code, msg)
}

// WriteError is writeError for handlers outside this package.
func WriteError(w http.ResponseWriter, err error) { writeError(w, err) }

// errorStatus maps an error to its HTTP status and body. Infrastructure
// failures (no leader, outcome unknown) are 500s, as in Consul.
func errorStatus(err error) (int, string) {
	var se *statusError
	var ve *catalog.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		return se.code, se.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body too large: max %d bytes", mbe.Limit)
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error()
	case errors.As(err, &ve), errors.Is(err, catalog.ErrInvalid), errors.Is(err, errBadRequest),
		errors.Is(err, catalog.ErrSessionInvalid), errors.Is(err, catalog.ErrLockDelay):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, catalog.ErrNotFound), errors.Is(err, errNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, catalog.ErrCorruptSnapshot):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, catalog.ErrTxnRolledBack):
		return http.StatusConflict, err.Error()
	case errors.Is(err, errPermission):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, errRateLimited):
		return http.StatusTooManyRequests, err.Error()
	case errors.Is(err, catalog.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error()
	}
	return http.StatusInternalServerError, err.Error()
}

// WriteText writes a plain-text body.
func WriteText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg)
	if !strings.HasSuffix(msg, "\n") {
		io.WriteString(w, "\n")
	}
}

// WriteJSON encodes v as the response body (indented with ?pretty). A nil
// slice or map is written as [] or {} — Consul clients expect empty lists,
// never null.
func WriteJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	buf, err := encodeJSON(v, r.URL.Query().Has("pretty"))
	if err != nil {
		writeError(w, fmt.Errorf("encode response: %w", err))
		return
	}
	writeJSONBytes(w, code, buf)
}

func writeJSONBytes(w http.ResponseWriter, code int, buf []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(buf)
}

func encodeJSON(v any, pretty bool) ([]byte, error) {
	if rv := reflect.ValueOf(v); rv.IsValid() {
		switch {
		case rv.Kind() == reflect.Slice && rv.IsNil():
			return []byte("[]"), nil
		case rv.Kind() == reflect.Map && rv.IsNil():
			return []byte("{}"), nil
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent("", "    ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeBody decodes a JSON request body into v, capped at limit bytes.
// Malformed JSON is a 400 that says where; an oversized body a 413.
func DecodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return badRequest("Request decode failed: empty body")
		case errors.As(err, &se):
			return badRequest("Request decode failed: invalid JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return badRequest("Request decode failed: field %q: cannot use %s as %s", te.Field, te.Value, te.Type)
		}
		return badRequest("Request decode failed: %v", err)
	}
	// Only whitespace may follow. (Decoder.More is no test for this: it
	// reports false before a stray '}' or ']'.)
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("Request decode failed: unexpected data after the JSON value")
	}
	return nil
}

// readBody reads a raw body capped at limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}
