package agent

import (
	"hash/maphash"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// hotSink is the go-metrics sink every metric goes through. Counters and
// samples, which raft records per log entry and per RPC (raft.apply,
// raft.commitTime, the transport's timings) and the API per request
// (api.http, see telemetry.Request), are recorded here as
// go-metrics' in-memory and Prometheus sinks would record them — the same
// names, labels, summary objectives and expiry — without their per-call
// work: each sink flattens the key and formats the labels on every call,
// 14–20 allocations and ~1 µs per call, 6–10 % of a server's CPU under
// write load. Here each distinct key and label set resolves once to a
// record; later calls hash the parts and find it without allocating.
// Gauges and points (a few per second) go on to next, the two go-metrics
// sinks.
type hotSink struct {
	next       metrics.MetricSink
	expiration time.Duration // Prometheus: a metric not updated for this long is dropped (0: never)
	seed       maphash.Seed

	mu   sync.RWMutex
	recs map[uint64][]*hotMetric
}

// inmemInterval and inmemRateDenom are the in-memory sink's interval and
// rate denominator (rate per second), as setupTelemetry creates it.
const (
	inmemInterval  = 10 * time.Second
	inmemRateDenom = float64(inmemInterval / time.Second)
)

type hotKind byte

const (
	hotCounter hotKind = iota
	hotSample
)

// hotMetric is one counter or sample: its Prometheus metric and its
// in-memory aggregates.
type hotMetric struct {
	kind   hotKind
	parts  []string
	labels []metrics.Label

	name    string // the in-memory sink's name (parts joined by ".")
	hash    string // its key: name;label=value…
	display map[string]string
	prom    prometheus.Metric // a Summary or a Counter
	updated atomic.Int64      // unix nanoseconds of the last record

	agg intervalAgg
}

func newHotSink(next metrics.MetricSink, reg prometheus.Registerer, expiration time.Duration) (*hotSink, error) {
	h := &hotSink{next: next, expiration: expiration, seed: maphash.MakeSeed(), recs: map[uint64][]*hotMetric{}}
	if err := reg.Register(h); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *hotSink) SetGauge(key []string, val float32) { h.next.SetGauge(key, val) }
func (h *hotSink) SetGaugeWithLabels(key []string, val float32, labels []metrics.Label) {
	h.next.SetGaugeWithLabels(key, val, labels)
}
func (h *hotSink) EmitKey(key []string, val float32) { h.next.EmitKey(key, val) }

// SetPrecisionGauge and SetPrecisionGaugeWithLabels pass 64-bit gauges on
// when next takes them (go-metrics' FanoutSink does).
func (h *hotSink) SetPrecisionGauge(key []string, val float64) {
	if p, ok := h.next.(metrics.PrecisionGaugeMetricSink); ok {
		p.SetPrecisionGauge(key, val)
	}
}
func (h *hotSink) SetPrecisionGaugeWithLabels(key []string, val float64, labels []metrics.Label) {
	if p, ok := h.next.(metrics.PrecisionGaugeMetricSink); ok {
		p.SetPrecisionGaugeWithLabels(key, val, labels)
	}
}

func (h *hotSink) IncrCounter(key []string, val float32) { h.record(hotCounter, key, nil, val) }
func (h *hotSink) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	h.record(hotCounter, key, labels, val)
}
func (h *hotSink) AddSample(key []string, val float32) { h.record(hotSample, key, nil, val) }
func (h *hotSink) AddSampleWithLabels(key []string, val float32, labels []metrics.Label) {
	h.record(hotSample, key, labels, val)
}

func (h *hotSink) record(kind hotKind, parts []string, labels []metrics.Label, val float32) {
	now := time.Now()
	m := h.lookup(kind, parts, labels)
	m.updated.Store(now.UnixNano())
	switch p := m.prom.(type) {
	case prometheus.Summary:
		p.Observe(float64(val))
	case prometheus.Counter:
		if val >= 0 { // Add panics below 0; go-metrics' sink skips those too
			p.Add(float64(val))
		}
	}
	m.agg.ingest(float64(val), now)
}

func (h *hotSink) lookup(kind hotKind, parts []string, labels []metrics.Label) *hotMetric {
	var mh maphash.Hash
	mh.SetSeed(h.seed)
	_ = mh.WriteByte(byte(kind))
	for _, p := range parts {
		mh.WriteString(p)
		_ = mh.WriteByte(0)
	}
	_ = mh.WriteByte(1)
	for _, l := range labels {
		mh.WriteString(l.Name)
		_ = mh.WriteByte(0)
		mh.WriteString(l.Value)
		_ = mh.WriteByte(0)
	}
	sum := mh.Sum64()
	h.mu.RLock()
	for _, m := range h.recs[sum] {
		if m.is(kind, parts, labels) {
			h.mu.RUnlock()
			return m
		}
	}
	h.mu.RUnlock()

	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.recs[sum] {
		if m.is(kind, parts, labels) {
			return m
		}
	}
	m := newHotMetric(kind, parts, labels)
	h.recs[sum] = append(h.recs[sum], m)
	return m
}

func (m *hotMetric) is(kind hotKind, parts []string, labels []metrics.Label) bool {
	return m.kind == kind && slices.Equal(m.parts, parts) && slices.Equal(m.labels, labels)
}

// The two sinks' key rules: the in-memory sink joins the parts with "."
// and turns spaces into "_"; the Prometheus sink joins them with "_" and
// turns " ", ".", "=", "-" and "/" into "_".
var (
	inmemSpaces = strings.NewReplacer(" ", "_")
	promChars   = strings.NewReplacer(" ", "_", ".", "_", "=", "_", "-", "_", "/", "_")
)

func newHotMetric(kind hotKind, parts []string, labels []metrics.Label) *hotMetric {
	m := &hotMetric{
		kind:    kind,
		parts:   slices.Clone(parts),
		labels:  slices.Clone(labels),
		name:    inmemSpaces.Replace(strings.Join(parts, ".")),
		display: make(map[string]string, len(labels)),
	}
	var hash strings.Builder
	hash.WriteString(m.name)
	promLabels := make(prometheus.Labels, len(labels))
	for _, l := range labels {
		inmemSpaces.WriteString(&hash, ";"+l.Name+"="+l.Value)
		m.display[l.Name] = l.Value
		promLabels[l.Name] = l.Value
	}
	m.hash = hash.String()
	promName := promChars.Replace(strings.Join(parts, "_"))
	if kind == hotSample {
		m.prom = prometheus.NewSummary(prometheus.SummaryOpts{
			Name:        promName,
			Help:        promName,
			MaxAge:      10 * time.Second, // go-metrics' Prometheus sink's settings
			ConstLabels: promLabels,
			Objectives:  map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
		})
	} else {
		m.prom = prometheus.NewCounter(prometheus.CounterOpts{Name: promName, Help: promName, ConstLabels: promLabels})
	}
	return m
}

// Describe sends nothing: the metrics come and go (an unchecked collector,
// as go-metrics' Prometheus sink is in effect).
func (h *hotSink) Describe(chan<- *prometheus.Desc) {}

// Collect sends every metric updated within the expiration and drops the
// others, as go-metrics' Prometheus sink does. It sends after releasing
// the lock, so a scrape does not hold up the writers recording metrics.
func (h *hotSink) Collect(c chan<- prometheus.Metric) {
	now := time.Now().UnixNano()
	var live []prometheus.Metric
	h.mu.Lock()
	for sum, ms := range h.recs {
		kept := ms[:0]
		for _, m := range ms {
			if h.expiration > 0 && now-m.updated.Load() > int64(h.expiration) {
				continue
			}
			kept = append(kept, m)
			live = append(live, m.prom)
		}
		if len(kept) == 0 {
			delete(h.recs, sum)
		} else {
			clear(ms[len(kept):])
			h.recs[sum] = kept
		}
	}
	h.mu.Unlock()
	for _, m := range live {
		c <- m
	}
}

// addTo adds the counters and samples of the summary's interval to it, in
// the in-memory sink's form and order (by key).
func (h *hotSink) addTo(s *metrics.MetricsSummary) {
	at, err := time.Parse("2006-01-02 15:04:05 -0700 MST", s.Timestamp)
	if err != nil {
		return
	}
	h.mu.RLock()
	for _, ms := range h.recs {
		for _, m := range ms {
			agg, ok := m.agg.at(at)
			if !ok {
				continue
			}
			v := metrics.SampledValue{Name: m.name, Hash: m.hash, AggregateSample: &agg, Mean: agg.Mean(), Stddev: agg.Stddev(), DisplayLabels: maps.Clone(m.display)}
			if m.kind == hotCounter {
				s.Counters = append(s.Counters, v)
			} else {
				s.Samples = append(s.Samples, v)
			}
		}
	}
	h.mu.RUnlock()
	sort.Slice(s.Counters, func(i, j int) bool { return s.Counters[i].Hash < s.Counters[j].Hash })
	sort.Slice(s.Samples, func(i, j int) bool { return s.Samples[i].Hash < s.Samples[j].Hash })
}

// intervalAgg is one metric's in-memory aggregates for the current
// interval (inmemInterval long) and the one before it, as go-metrics'
// in-memory sink keeps them (its JSON summary shows the last finished
// interval, or the current one while it is the only one).
type intervalAgg struct {
	mu        sync.Mutex
	cur, prev metrics.AggregateSample
	curAt     time.Time // start of the interval cur holds (zero: none)
	prevAt    time.Time
}

func (a *intervalAgg) ingest(v float64, now time.Time) {
	at := now.Truncate(inmemInterval)
	a.mu.Lock()
	if at != a.curAt {
		if at.Sub(a.curAt) == inmemInterval {
			a.prev, a.prevAt = a.cur, a.curAt
		} else {
			a.prev, a.prevAt = metrics.AggregateSample{}, time.Time{}
		}
		a.cur, a.curAt = metrics.AggregateSample{}, at
	}
	a.cur.Ingest(v, inmemRateDenom)
	a.mu.Unlock()
}

// at returns the aggregate of the interval starting at t (as the summary's
// timestamp gives it, rounded to the second), if it has any values.
func (a *intervalAgg) at(t time.Time) (metrics.AggregateSample, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var agg metrics.AggregateSample
	switch {
	case !a.curAt.IsZero() && a.curAt.Round(time.Second).Equal(t):
		agg = a.cur
	case !a.prevAt.IsZero() && a.prevAt.Round(time.Second).Equal(t):
		agg = a.prev
	}
	return agg, agg.Count > 0
}
