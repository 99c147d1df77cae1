package agent

import (
	"bytes"
	"encoding/json"
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
	t.Log(summary(hot))
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
