package sync

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the sync loop's Prometheus metrics, labelled by source.
type Metrics struct {
	duration   *prometheus.HistogramVec
	passes     *prometheus.CounterVec
	errors     *prometheus.CounterVec
	writeBacks *prometheus.CounterVec
	conflicts  *prometheus.CounterVec
}

// NewMetrics registers the loop's metrics with reg:
// ebb_sync_duration_seconds, ebb_sync_passes_total{result},
// ebb_sync_errors_total{stage}, ebb_sync_write_backs_total and
// ebb_sync_conflicts_total. Fetch counts come from the source
// (SourceCollector).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ebb_sync_duration_seconds", Help: "Duration of sync passes that did work.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"source"}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_sync_passes_total", Help: "Sync passes by result (unchanged, applied, failed).",
		}, []string{"source", "result"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_sync_errors_total", Help: "Failed sync passes by stage (fetch, invalid, write-back, apply).",
		}, []string{"source", "stage"}),
		writeBacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_sync_write_backs_total", Help: "Ledger commits pushed.",
		}, []string{"source"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_sync_conflicts_total", Help: "Write-backs that lost the race for the branch and re-planned.",
		}, []string{"source"}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.passes, m.errors, m.writeBacks, m.conflicts} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) pass(source string, p Pass, d time.Duration) {
	if m == nil {
		return
	}
	switch {
	case p.Err != nil:
		m.passes.WithLabelValues(source, "failed").Inc()
		m.errors.WithLabelValues(source, p.Stage).Inc()
	case p.Commit != "":
		m.passes.WithLabelValues(source, "applied").Inc()
	default:
		m.passes.WithLabelValues(source, "unchanged").Inc()
		return
	}
	m.duration.WithLabelValues(source).Observe(d.Seconds())
}

func (m *Metrics) wrote(source string) {
	if m != nil {
		m.writeBacks.WithLabelValues(source).Inc()
	}
}

func (m *Metrics) conflict(source string) {
	if m != nil {
		m.conflicts.WithLabelValues(source).Inc()
	}
}

// SourceCollector exports a source's fetch counters as
// ebb_sync_fetches_total and ebb_sync_fetch_errors_total.
type SourceCollector struct {
	Name   string
	Source GitSource
}

var (
	fetchesDesc     = prometheus.NewDesc("ebb_sync_fetches_total", "Fetches of the source.", []string{"source"}, nil)
	fetchErrorsDesc = prometheus.NewDesc("ebb_sync_fetch_errors_total", "Failed fetches of the source.", []string{"source"}, nil)
)

// Describe implements prometheus.Collector.
func (c SourceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- fetchesDesc
	ch <- fetchErrorsDesc
}

// Collect implements prometheus.Collector.
func (c SourceCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.Source.Status().Counters
	ch <- prometheus.MustNewConstMetric(fetchesDesc, prometheus.CounterValue, float64(n.Fetches), c.Name)
	ch <- prometheus.MustNewConstMetric(fetchErrorsDesc, prometheus.CounterValue, float64(n.FetchErrors), c.Name)
}
