package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/catalog"
)

// benchWriter is a ResponseWriter that keeps nothing but the status, so a
// benchmark measures the handler rather than a recorder.
type benchWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(code int) { w.code = code }

func (w *benchWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.code, w.n = 0, 0
}

// seedWebBench registers n instances of web, one per node, each with a passing
// node check and a passing service check.
func seedWebBench(tb testing.TB, ta *testAPI, n int) {
	tb.Helper()
	for i := range n {
		node := fmt.Sprintf("node-%02d", i)
		id := fmt.Sprintf("web-%02d", i)
		ta.apply(&catalog.RegisterRequest{
			Node:    catalog.Node{Node: node, Address: fmt.Sprintf("10.0.0.%d", i+1), Meta: map[string]string{"rack": "r1"}},
			Service: &catalog.Service{ID: id, Service: "web", Tags: []string{"v1", "http"}, Port: 8080, Meta: map[string]string{"version": "1.2.3"}, Weights: catalog.Weights{Passing: 1, Warning: 1}},
			Checks: []*catalog.Check{
				{CheckID: "serfHealth", Name: "Node Liveness", Status: catalog.HealthPassing},
				{CheckID: "service:" + id, Name: "web http", Status: catalog.HealthPassing, ServiceID: id, Type: "http",
					Definition: catalog.CheckDefinition{HTTP: "http://10.0.0.1:8080/health", Interval: 1e10, Timeout: 2e9}},
			},
		})
	}
}

// BenchmarkHealthServicePassing measures GET /v1/health/service/web?passing
// for 10 instances (each with a node and a service check):
//
//   - handler/cached: the whole handler through API.ServeHTTP, answered
//     from the response cache (one index read, no decoding);
//   - handler/cached-parallel: the same from GOMAXPROCS goroutines;
//   - handler/uncached: the same handler with no cache (read, shape, encode);
//   - ServiceHealth: the catalog read alone, uncached.
func BenchmarkHealthServicePassing(b *testing.B) {
	ta := newTestAPI(b)
	seedWebBench(b, ta, 10)
	const path = "/v1/health/service/web?passing"

	b.Run("handler/cached", func(b *testing.B) {
		r := httptest.NewRequest("GET", path, nil)
		w := &benchWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			ta.api.ServeHTTP(w, r)
		}
		if w.code != http.StatusOK || w.n < 1000 {
			b.Fatalf("answer: %d, %d bytes", w.code, w.n)
		}
		b.ReportMetric(float64(w.n), "bytes/answer")
	})
	b.Run("handler/cached-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r := httptest.NewRequest("GET", path, nil)
			w := &benchWriter{h: http.Header{}}
			for pb.Next() {
				w.reset()
				ta.api.ServeHTTP(w, r)
				if w.code != http.StatusOK {
					b.Errorf("status %d", w.code)
					return
				}
			}
		})
	})
	b.Run("handler/uncached", func(b *testing.B) {
		r := httptest.NewRequest("GET", path, nil)
		r.SetPathValue("name", "web") // called without the mux
		w := &benchWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			ta.api.healthService(w, r, nil)
		}
		if w.code != http.StatusOK || w.n < 1000 {
			b.Fatalf("answer: %d, %d bytes", w.code, w.n)
		}
	})
	b.Run("ServiceHealth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			err := ta.store.View(func(tx *catalog.ReadTx) error {
				if es, _ := tx.ServiceHealth("web", "", true); len(es) != 10 {
					b.Fatalf("%d instances", len(es))
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHealthServicePassingHTTP is the load test in miniature:
// GET /v1/health/service/web?passing (10 instances) over real keep-alive
// TCP connections from 16 concurrent clients in the same process (so the
// load generator shares the CPUs, as in the target setup). It reports
// requests per second and the p99 latency.
func BenchmarkHealthServicePassingHTTP(b *testing.B) {
	ta := newTestAPI(b)
	seedWebBench(b, ta, 10)
	url := ta.srv.URL + "/v1/health/service/web?passing"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)

	var mu sync.Mutex
	var latencies []time.Duration
	b.SetParallelism(8) // 8 × GOMAXPROCS clients
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("status %d, %v", resp.StatusCode, err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}
