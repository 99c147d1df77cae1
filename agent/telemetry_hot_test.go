package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	metricsprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// TestHotSinkRecordsAsGoMetrics drives the same calls through go-metrics'
// own sinks (in-memory and Prometheus, fanned out, as beacon used them)
// and through hotSink in front of a second pair, and requires the same
// JSON summary and the same Prometheus exposition from both.
func TestHotSinkRecordsAsGoMetrics(t *testing.T) {
	type sinks struct {
		inmem *metrics.InmemSink
		reg   *prometheus.Registry
		hot   *hotSink
		m     *metrics.Metrics
	}
	newSinks := func(hot bool) sinks {
		s := sinks{inmem: metrics.NewInmemSink(inmemInterval, time.Minute), reg: prometheus.NewRegistry()}
		prom, err := metricsprom.NewPrometheusSinkFrom(metricsprom.PrometheusOpts{Registerer: s.reg, Name: "beacon", Expiration: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		var sink metrics.MetricSink = metrics.FanoutSink{s.inmem, prom}
		if hot {
			if s.hot, err = newHotSink(sink, s.reg, time.Minute); err != nil {
				t.Fatal(err)
			}
			sink = s.hot
		}
		cfg := metrics.DefaultConfig("beacon")
		cfg.EnableHostname = false
		cfg.EnableRuntimeMetrics = false
		if s.m, err = metrics.New(cfg, sink); err != nil {
			t.Fatal(err)
		}
		return s
	}
	oracle, hot := newSinks(false), newSinks(true)

	// Stay inside one in-memory interval: both sides must see the same one.
	if left := time.Until(time.Now().Truncate(inmemInterval).Add(inmemInterval)); left < 2*time.Second {
		time.Sleep(left + 10*time.Millisecond)
	}
	rpc := func(v string) []metrics.Label { return []metrics.Label{{Name: "rpcType", Value: v}} }
	for _, s := range []sinks{oracle, hot} {
		for range 3 {
			s.m.IncrCounter([]string{"raft", "apply"}, 1)
		}
		s.m.IncrCounter([]string{"raft", "apply"}, 5)
		s.m.IncrCounter([]string{"raft", "apply"}, -1) // Prometheus ignores it; the summary counts it
		s.m.IncrCounterWithLabels([]string{"raft", "net", "rpc"}, 2, rpc("AppendEntries"))
		s.m.IncrCounterWithLabels([]string{"raft", "net", "rpc"}, 1, rpc("Heartbeat"))
		s.m.AddSample([]string{"raft", "commitTime"}, 1.5)
		s.m.AddSample([]string{"raft", "commitTime"}, 3)
		s.m.AddSampleWithLabels([]string{"raft", "net", "rpcDecode"}, 0.25, rpc("AppendEntries"))
		s.m.AddSampleWithLabels([]string{"a key", "with-odd/chars=x"}, 7, []metrics.Label{{Name: "peer", Value: "s 2"}})
		s.m.AddSample([]string{"raft", "commitTime"}, 0.5)
		// Not the hot path: passed on to go-metrics' sinks as they are.
		s.m.SetGauge([]string{"raft", "peers"}, 3)
		s.m.SetGaugeWithLabels([]string{"raft", "state"}, 1, rpc("x"))
		s.m.SetPrecisionGauge([]string{"raft", "lastIndex"}, 1<<40+1)
		s.m.EmitKey([]string{"raft", "event"}, 1)
	}
	// A timer takes time.Now inside go-metrics; give both the same elapsed
	// time through AddSample instead.
	for _, s := range []sinks{oracle, hot} {
		s.m.AddSample([]string{"raft", "rpc", "appendEntries"}, float32(3*time.Millisecond)/float32(time.Millisecond))
	}

	summary := func(s sinks) string {
		v, err := s.inmem.DisplayMetrics(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := v.(metrics.MetricsSummary)
		if s.hot != nil {
			s.hot.addTo(&sum)
		}
		b, err := json.MarshalIndent(sum, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got, want := summary(hot), summary(oracle); got != want {
		t.Errorf("JSON summary through hotSink:\n%s\nwant (go-metrics' sinks):\n%s", got, want)
	}

	exposition := func(s sinks) string {
		mfs, err := s.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, mf := range mfs {
			if err := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain)).Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
		return buf.String()
	}
	if got, want := exposition(hot), exposition(oracle); got != want {
		t.Errorf("Prometheus exposition through hotSink:\n%s\nwant (go-metrics' sinks):\n%s", got, want)
	}
}

// TestHotSinkExpires: a metric not updated within the expiration leaves
// the Prometheus exposition, as with go-metrics' sink, and comes back when
// it is recorded again.
func TestHotSinkExpires(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := newHotSink(&metrics.BlackholeSink{}, reg, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	h.IncrCounter([]string{"beacon", "old"}, 1)
	h.IncrCounter([]string{"beacon", "new"}, 1)
	old := h.lookup(hotCounter, []string{"beacon", "old"}, nil)
	old.updated.Store(time.Now().Add(-2 * time.Minute).UnixNano())
	names := func() []string {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, mf := range mfs {
			out = append(out, mf.GetName())
		}
		return out
	}
	if got := names(); len(got) != 1 || got[0] != "beacon_new" {
		t.Fatalf("after beacon_old expired: %v, want [beacon_new]", got)
	}
	h.IncrCounter([]string{"beacon", "old"}, 1)
	if got := names(); len(got) != 2 {
		t.Fatalf("after beacon_old was recorded again: %v, want both", got)
	}
}

// TestHotSinkConcurrent records from several goroutines while scrapes and
// JSON summaries run: no increment is lost (run under -race in make test).
func TestHotSinkConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := newHotSink(&metrics.BlackholeSink{}, reg, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 2000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
				return
			}
			s := metrics.MetricsSummary{Timestamp: time.Now().Truncate(inmemInterval).Round(time.Second).UTC().String()}
			h.addTo(&s)
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				h.IncrCounterWithLabels([]string{"beacon", "c"}, 1, []metrics.Label{{Name: "w", Value: string(rune('a' + w%2))}})
				h.AddSample([]string{"beacon", "s", string(rune('a' + i%3))}, float32(i))
			}
		}()
	}
	wg.Wait()
	<-done
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total, samples float64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			total += m.GetCounter().GetValue()
			samples += float64(m.GetSummary().GetSampleCount())
		}
	}
	if total != writers*each || samples != writers*each {
		t.Fatalf("counted %v increments and %v samples, want %d of each", total, samples, writers*each)
	}
}

// TestIntervalAgg: a metric's JSON aggregates are those of the interval
// the summary shows — the finished one or the current one — and a record
// after a gap of more than an interval drops the old ones.
func TestIntervalAgg(t *testing.T) {
	var a intervalAgg
	t0 := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC) // an interval's start
	a.ingest(2, t0.Add(1*time.Second))
	a.ingest(4, t0.Add(9*time.Second))
	a.ingest(8, t0.Add(11*time.Second)) // the next interval
	tests := []struct {
		name                string
		at                  time.Time
		ok                  bool
		count               int
		sum, min, max, rate float64
	}{
		{"finished interval", t0, true, 2, 6, 2, 4, 0.6},
		{"current interval", t0.Add(10 * time.Second), true, 1, 8, 8, 8, 0.8},
		{"an interval with no values", t0.Add(-10 * time.Second), false, 0, 0, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			agg, ok := a.at(tc.at)
			if ok != tc.ok || agg.Count != tc.count || agg.Sum != tc.sum || agg.Min != tc.min || agg.Max != tc.max || agg.Rate != tc.rate {
				t.Fatalf("at %v: ok=%v count %d sum %v min %v max %v rate %v, want ok=%v %d %v %v %v %v",
					tc.at, ok, agg.Count, agg.Sum, agg.Min, agg.Max, agg.Rate, tc.ok, tc.count, tc.sum, tc.min, tc.max, tc.rate)
			}
		})
	}
	a.ingest(16, t0.Add(45*time.Second))
	if _, ok := a.at(t0.Add(10 * time.Second)); ok {
		t.Fatal("after a gap, interval t0+10s still has values")
	}
	if agg, ok := a.at(t0.Add(40 * time.Second)); !ok || agg.Count != 1 || agg.Sum != 16 {
		t.Fatalf("interval t0+40s: ok=%v %+v, want the one value 16", ok, agg)
	}
}

// TestRequestMetric: every API request is one api.http sample labelled
// by method and route, in the JSON summary and in Prometheus, as Consul
// records it.
func TestRequestMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := newHotSink(&metrics.BlackholeSink{}, reg, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tel := &telemetry{hot: h}
	if left := time.Until(time.Now().Truncate(inmemInterval).Add(inmemInterval)); left < time.Second {
		time.Sleep(left + 10*time.Millisecond) // one interval for the whole test
	}
	tel.Request("PUT", "kv", 200, 2*time.Millisecond)
	tel.Request("PUT", "kv", 200, 4*time.Millisecond)
	tel.Request("GET", "kv", 404, time.Millisecond)

	s := metrics.MetricsSummary{Timestamp: time.Now().Truncate(inmemInterval).Round(time.Second).UTC().String()}
	h.addTo(&s)
	var got []string
	for _, v := range s.Samples {
		got = append(got, fmt.Sprintf("%s %v %d %v", v.Name, v.DisplayLabels, v.Count, v.Sum))
	}
	want := []string{"beacon.api.http map[method:GET path:kv] 1 1", "beacon.api.http map[method:PUT path:kv] 2 6"}
	if !slices.Equal(got, want) {
		t.Fatalf("JSON samples:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "beacon_api_http" || len(mfs[0].GetMetric()) != 2 {
		t.Fatalf("prometheus has %v, want beacon_api_http with 2 series (GET and PUT on kv)", mfs)
	}
	for _, m := range mfs[0].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if want := map[string]uint64{"GET": 1, "PUT": 2}[labels["method"]]; labels["path"] != "kv" || m.GetSummary().GetSampleCount() != want {
			t.Errorf("series %v counts %d, want path kv and %d", labels, m.GetSummary().GetSampleCount(), want)
		}
	}
}
