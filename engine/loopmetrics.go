package engine

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/canary"
)

// Metrics are the sync loop's Prometheus metrics, labelled by source.
type Metrics struct {
	duration   *prometheus.HistogramVec
	passes     *prometheus.CounterVec
	errors     *prometheus.CounterVec
	writeBacks *prometheus.CounterVec
	conflicts  *prometheus.CounterVec
	steps      *prometheus.CounterVec
}

// NewMetrics registers the loop's metrics with reg:
// ebb_sync_duration_seconds, ebb_sync_passes_total{result},
// ebb_sync_errors_total{stage}, ebb_sync_write_backs_total,
// ebb_sync_conflicts_total and ebb_rollout_steps_total{namespace, service,
// kind}. Fetch counts come from the source (SourceCollector), rollouts in
// force from RolloutCollector.
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
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_rollout_steps_total", Help: "Analysed canary changes committed, by kind (canary: a start, step or failed check; promote; rolled-back).",
		}, []string{"source", "namespace", "service", "kind"}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.passes, m.errors, m.writeBacks, m.conflicts, m.steps} {
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

// committed counts the rollout changes of a ledger commit.
func (m *Metrics) committed(source string, changes []serving.Change) {
	if m == nil {
		return
	}
	for _, c := range changes {
		if rolloutChange(c) {
			m.steps.WithLabelValues(source, c.Namespace, c.Service, string(c.Kind)).Inc()
		}
	}
}

// RolloutCollector exports the rollouts of the state a loop applied:
// ebb_rollout_weight{namespace, service, canary, stable} (the canary's
// percent) and ebb_rollout_phase{namespace, service, canary, phase} (1 for
// the phase it is in).
type RolloutCollector struct {
	Name    string
	Applied func() *Desired
}

var (
	rolloutWeightDesc = prometheus.NewDesc("ebb_rollout_weight", "The percent an analysed canary has now.",
		[]string{"source", "namespace", "service", "canary", "stable"}, nil)
	rolloutPhaseDesc = prometheus.NewDesc("ebb_rollout_phase", "The phase of a Service's latest analysed canary (1 for the phase it is in).",
		[]string{"source", "namespace", "service", "canary", "phase"}, nil)
)

// Describe implements prometheus.Collector.
func (c RolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rolloutWeightDesc
	ch <- rolloutPhaseDesc
}

// Collect implements prometheus.Collector.
func (c RolloutCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.Applied()
	if d == nil {
		return
	}
	for _, l := range d.Ledgers {
		r := l.Rollout
		if r == nil || l.Removed != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(rolloutWeightDesc, prometheus.GaugeValue, float64(r.Weight), c.Name, l.Namespace, l.Service, r.Canary, r.Stable)
		for _, phase := range []canary.Phase{canary.Progressing, canary.Promoted, canary.RolledBack} {
			v := 0.0
			if r.Phase == phase {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(rolloutPhaseDesc, prometheus.GaugeValue, v, c.Name, l.Namespace, l.Service, r.Canary, string(phase))
		}
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
