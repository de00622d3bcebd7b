package cluster

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// Metrics are the apply step's series (the sync loop has its own,
// sync.Metrics): ebb_apply_duration_seconds, ebb_apply_objects_total{action},
// ebb_apply_errors_total, ebb_apply_last_success_timestamp_seconds and
// ebb_applies_total.
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
			Name:    "ebb_apply_duration_seconds",
			Help:    "Time one apply of a repository state took.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_apply_objects_total",
			Help: "Objects handled by applies, by action (created, configured, unchanged, pruned, skipped, failed).",
		}, []string{"action"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_apply_errors_total",
			Help: "Applies with at least one failed object, by kind of failure (apply).",
		}, []string{"stage"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ebb_apply_last_success_timestamp_seconds",
			Help: "Unix time of the last apply without failures.",
		}),
		syncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ebb_applies_total",
			Help: "Applies of a repository state.",
		}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.objects, m.errors, m.lastSuccess, m.syncs} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register sync metrics: %w", err)
		}
	}
	for _, a := range []apply.Action{apply.Created, apply.Configured, apply.Unchanged, apply.Pruned, apply.Released, apply.Skipped, apply.Failed} {
		m.objects.WithLabelValues(string(a))
	}
	m.errors.WithLabelValues("apply")
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
