package health

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// HTTP probes a URL every Interval: a 2xx answer is passing, 429 warning,
// anything else (or no answer within Timeout) critical. The output is the
// status line and up to catalog.MaxCheckOutput bytes of the body.
//
// Fields must be set before Start and not changed after.
type HTTP struct {
	CheckID       string
	URL           string
	Method        string              // default GET
	Header        map[string][]string // "Host" sets the request's host
	Body          string
	TLSSkipVerify bool
	Interval      time.Duration
	Timeout       time.Duration // default DefaultTimeout
	Thresholds
	Notify Notify

	prober // provides Stop
}

// Start begins probing. Calling Start twice without Stop is a no-op.
func (c *HTTP) Start() {
	timeout := timeoutOr(c.Timeout, DefaultTimeout)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// One connection per probe: a check must see a fresh connect, and an
	// idle pool per check would hold a socket open for nothing.
	tr.DisableKeepAlives = true
	if c.TLSSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	client := &http.Client{Transport: tr, Timeout: timeout}
	c.begin(c.CheckID, c.Interval, c.Thresholds, c.Notify, func(ctx context.Context) (string, string) {
		return c.probe(ctx, client)
	})
}

func (c *HTTP) probe(ctx context.Context, client *http.Client) (string, string) {
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL, body)
	if err != nil {
		return catalog.HealthCritical, err.Error()
	}
	req.Header.Set("User-Agent", "Consul Health Check")
	req.Header.Set("Accept", "text/plain, text/*, */*")
	for k, vs := range c.Header {
		if strings.EqualFold(k, "Host") && len(vs) > 0 {
			req.Host = vs[0]
			continue
		}
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return catalog.HealthCritical, err.Error()
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, catalog.MaxCheckOutput))
	if err != nil {
		return catalog.HealthCritical, fmt.Sprintf("HTTP %s %s: %s, reading the body: %v", method, c.URL, resp.Status, err)
	}
	output := fmt.Sprintf("HTTP %s %s: %s Output: %s", method, c.URL, resp.Status, out)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return catalog.HealthPassing, output
	case resp.StatusCode == http.StatusTooManyRequests:
		return catalog.HealthWarning, output
	}
	return catalog.HealthCritical, output
}
