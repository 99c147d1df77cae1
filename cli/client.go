package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client timeouts. A request that streams a snapshot gets longTimeout; every
// other request gets requestTimeout for the whole exchange, body included.
const (
	dialTimeout    = 5 * time.Second
	requestTimeout = time.Minute
	longTimeout    = 30 * time.Minute
)

// client is a small HTTP/JSON client for an agent's /v1 API.
type client struct {
	addr    string   // as the user gave it, for error messages
	base    *url.URL // scheme and host
	token   string
	timeout time.Duration
	hc      *http.Client
}

// connError means the agent could not be reached at all.
type connError struct {
	addr string
	err  error
}

func (e *connError) Error() string {
	return fmt.Sprintf("Error connecting to agent at %s: %v", e.addr, e.err)
}

func (e *connError) Unwrap() error { return e.err }

// statusError is a non-2xx answer; body is the agent's (trimmed) message.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("Unexpected response code: %d (%s)", e.code, e.body)
}

// isStatus reports whether err is an HTTP answer with the given code.
func isStatus(err error, code int) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == code
}

// parseAddr accepts "host:port", "http://host:port" or "https://host:port".
func parseAddr(addr string) (*url.URL, error) {
	raw := addr
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid -http-addr %q: %v", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid -http-addr %q: scheme must be http or https", addr)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("invalid -http-addr %q: want host:port or http://host:port", addr)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

func newClient(addr, token string) (*client, error) {
	base, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableKeepAlives:   true, // one-shot process: leave no idle connections behind
	}
	return &client{addr: addr, base: base, token: token, timeout: requestTimeout, hc: &http.Client{Transport: tr}}, nil
}

// long returns a copy of c for requests that stream snapshots.
func (c *client) long() *client {
	cp := *c
	cp.timeout = longTimeout
	return &cp
}

// response is a fully read answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// index returns the X-Consul-Index header, 0 when absent.
func (r *response) index() uint64 {
	n, _ := strconv.ParseUint(r.header.Get("X-Consul-Index"), 10, 64)
	return n
}

// stream sends a request and returns the open response, or an error for a
// connection failure or a non-2xx status. The caller must call done, which
// closes the body and releases the request's deadline.
func (c *client) stream(method, path string, query url.Values, body io.Reader) (resp *http.Response, done func(), err error) {
	u := *c.base
	u.Path = path
	u.RawQuery = encodeQuery(query)
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	if c.token != "" {
		req.Header.Set("X-Consul-Token", c.token)
	}
	resp, err = c.hc.Do(req)
	if err != nil {
		cancel()
		return nil, nil, &connError{addr: c.addr, err: unwrapURLError(err)}
	}
	done = func() { resp.Body.Close(); cancel() }
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		done()
		return nil, nil, &statusError{code: resp.StatusCode, body: strings.TrimSpace(string(msg))}
	}
	return resp, done, nil
}

// do sends a request and reads the whole answer.
func (c *client) do(method, path string, query url.Values, body io.Reader) (*response, error) {
	resp, done, err := c.stream(method, path, query, body)
	if err != nil {
		return nil, err
	}
	defer done()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &connError{addr: c.addr, err: fmt.Errorf("reading response: %w", err)}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// get sends a GET and decodes the JSON answer into v (when v is not nil).
func (c *client) get(path string, query url.Values, v any) (*response, error) {
	r, err := c.do(http.MethodGet, path, query, nil)
	if err != nil {
		return nil, err
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			return r, fmt.Errorf("decoding response from %s: %w", path, err)
		}
	}
	return r, nil
}

// put sends a PUT with a raw body.
func (c *client) put(path string, query url.Values, body []byte) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	return c.do(http.MethodPut, path, query, rd)
}

// putJSON sends a PUT whose body is v encoded as JSON.
func (c *client) putJSON(path string, v any) (*response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return c.put(path, nil, b)
}

// decodeBool decodes a true/false answer (KV writes).
func decodeBool(r *response) (bool, error) {
	var ok bool
	if err := json.Unmarshal(r.body, &ok); err != nil {
		return false, fmt.Errorf("decoding response: %w", err)
	}
	return ok, nil
}

// encodeQuery encodes q with presence flags (empty values) written bare,
// e.g. "recurse&separator=%2F", as Consul's clients send them.
func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	parts := strings.Split(q.Encode(), "&")
	for i, p := range parts {
		parts[i] = strings.TrimSuffix(p, "=")
	}
	return strings.Join(parts, "&")
}

// unwrapURLError drops net/http's "Get \"http://…\":" prefix: the
// message already names the agent's address.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
