package agent

import (
	"strconv"
	"strings"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestHTTPMetrics checks api.http against what go-metrics' sinks record
// for AddSampleWithLabels: the in-memory summary of a finished interval
// holds each route's count, sum, min and max under the sink's key, and the
// Prometheus summary counts every request.
func TestHTTPMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := newHTTPMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC) // an interval's start
	h.record("PUT", "kv", 2, t0.Add(1*time.Second))
	h.record("PUT", "kv", 4, t0.Add(9*time.Second))
	h.record("GET", "kv", 1, t0.Add(5*time.Second))
	h.record("PUT", "kv", 8, t0.Add(11*time.Second)) // the next interval

	summaryAt := func(at time.Time) metrics.MetricsSummary {
		s := metrics.MetricsSummary{Timestamp: at.Round(time.Second).UTC().String()}
		h.addTo(&s)
		return s
	}
	tests := []struct {
		name string
		at   time.Time
		want []string // Hash count sum min max, in order
	}{
		{"finished interval", t0, []string{"beacon.api.http;method=GET;path=kv 1 1 1 1", "beacon.api.http;method=PUT;path=kv 2 6 2 4"}},
		{"current interval", t0.Add(10 * time.Second), []string{"beacon.api.http;method=PUT;path=kv 1 8 8 8"}},
		{"an interval with no requests", t0.Add(-10 * time.Second), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, s := range summaryAt(tc.at).Samples {
				if s.Name != "beacon.api.http" || s.DisplayLabels["path"] != "kv" {
					t.Errorf("sample %+v: want name beacon.api.http and label path=kv", s)
				}
				got = append(got, strings.Join([]string{s.Hash, ftoa(float64(s.Count)), ftoa(s.Sum), ftoa(s.Min), ftoa(s.Max)}, " "))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("samples:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	// A request after a gap of more than an interval drops the old ones.
	h.record("PUT", "kv", 16, t0.Add(45*time.Second))
	if s := summaryAt(t0.Add(10 * time.Second)); len(s.Samples) != 0 {
		t.Fatalf("after a gap, interval t0+10s still has %d samples", len(s.Samples))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "beacon_api_http" || len(mfs[0].GetMetric()) != 2 {
		t.Fatalf("prometheus has %v, want beacon_api_http with 2 series (GET and PUT on kv)", mfs)
	}
	var m dto.Metric
	if err := h.summary.WithLabelValues("PUT", "kv").(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetSummary().GetSampleCount(); got != 4 {
		t.Fatalf("prometheus count for PUT kv = %d, want 4", got)
	}
}

func ftoa(f float64) string {
	return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(f, 'f', 3, 64), "0"), ".")
}
