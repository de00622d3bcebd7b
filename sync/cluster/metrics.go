package cluster

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/sync/apply"
)

// Metrics are the controller's sync series.
type Metrics struct {
	duration    prometheus.Histogram
	objects     *prometheus.CounterVec
	errors      *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	syncs       prometheus.Counter
}

// NewMetrics registers the sync series with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ebb_sync_apply_duration_seconds",
			Help:    "Time one apply of a repository state took.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_sync_objects_total",
			Help: "Objects handled by applies, by action (created, configured, unchanged, pruned, skipped, failed).",
		}, []string{"action"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_sync_errors_total",
			Help: "Syncs that failed, by stage (fetch, reconcile, apply).",
		}, []string{"stage"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ebb_sync_last_success_timestamp_seconds",
			Help: "Unix time of the last apply without failures.",
		}),
		syncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ebb_sync_applies_total",
			Help: "Applies of a repository state.",
		}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.objects, m.errors, m.lastSuccess, m.syncs} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register sync metrics: %w", err)
		}
	}
	for _, a := range []apply.Action{apply.Created, apply.Configured, apply.Unchanged, apply.Pruned, apply.Skipped, apply.Failed} {
		m.objects.WithLabelValues(string(a))
	}
	for _, s := range []string{"fetch", "reconcile", "apply"} {
		m.errors.WithLabelValues(s)
	}
	return m, nil
}

// Applied records one apply.
func (m *Metrics) Applied(cs apply.ChangeSet, err error, took time.Duration) {
	m.syncs.Inc()
	m.duration.Observe(took.Seconds())
	for _, c := range cs.Changes {
		m.objects.WithLabelValues(string(c.Action)).Inc()
	}
	if err != nil {
		m.errors.WithLabelValues("apply").Inc()
		return
	}
	m.lastSuccess.SetToCurrentTime()
}

// Error counts a failed stage ("fetch" or "reconcile").
func (m *Metrics) Error(stage string) { m.errors.WithLabelValues(stage).Inc() }
