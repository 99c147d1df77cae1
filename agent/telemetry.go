package agent

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	metricsprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/beacon-sd/beacon/agent/httpapi"
	"github.com/beacon-sd/beacon/configs"
)

// telemetry is the process's metrics: go-metrics' global instance (which
// Raft emits to) fanned out to an in-memory sink for /v1/agent/metrics and
// a Prometheus sink for ?format=prometheus — counters and samples through
// hotSink, which records them as those two sinks would at a fraction of
// the cost. go-metrics is process-global, so every agent in a process
// (tests run several) shares one telemetry.
type telemetry struct {
	inmem    *metrics.InmemSink
	registry *prometheus.Registry
	prom     http.Handler
	hot      *hotSink
}

var (
	telemetryOnce sync.Once
	telemetryInst *telemetry
	telemetryErr  error
)

// setupTelemetry installs the global metrics sinks once per process.
func setupTelemetry(cfg configs.Config) (*telemetry, error) {
	telemetryOnce.Do(func() {
		t := &telemetry{inmem: metrics.NewInmemSink(10*time.Second, time.Minute), registry: prometheus.NewRegistry()}
		sink, err := metricsprom.NewPrometheusSinkFrom(metricsprom.PrometheusOpts{
			Expiration: cfg.Telemetry.PrometheusRetentionTime,
			Registerer: t.registry,
			Name:       "beacon",
		})
		if err != nil {
			telemetryErr = fmt.Errorf("prometheus sink: %w", err)
			return
		}
		mc := metrics.DefaultConfig("beacon")
		mc.EnableHostname = !cfg.Telemetry.DisableHostname
		mc.EnableHostnameLabel = false
		mc.EnableRuntimeMetrics = true
		if t.hot, err = newHotSink(metrics.FanoutSink{t.inmem, sink}, t.registry, cfg.Telemetry.PrometheusRetentionTime); err != nil {
			telemetryErr = fmt.Errorf("metrics: %w", err)
			return
		}
		if _, err := metrics.NewGlobal(mc, t.hot); err != nil {
			telemetryErr = fmt.Errorf("metrics: %w", err)
			return
		}
		t.prom = promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
		telemetryInst = t
	})
	return telemetryInst, telemetryErr
}

// ServeHTTP serves /v1/agent/metrics: go-metrics' JSON summary, or the
// Prometheus text format with ?format=prometheus.
func (t *telemetry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("format") == "prometheus" {
		t.prom.ServeHTTP(w, r)
		return
	}
	v, err := t.inmem.DisplayMetrics(w, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if sum, ok := v.(metrics.MetricsSummary); ok {
		t.hot.addTo(&sum)
		v = sum
	}
	httpapi.WriteJSON(w, r, http.StatusOK, v)
}

// Request implements httpapi.Metrics: one timing sample per request,
// labelled by method and route, like Consul's api.http (a summary also
// counts). It goes to hotSink directly: the key already carries the
// service name go-metrics would put in front.
func (t *telemetry) Request(method, route string, _ int, elapsed time.Duration) {
	t.hot.AddSampleWithLabels(httpMetricKey, float32(elapsed.Seconds()*1000),
		[]metrics.Label{{Name: "method", Value: method}, {Name: "path", Value: route}})
}

var httpMetricKey = []string{"beacon", "api", "http"}
