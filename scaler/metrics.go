package scaler

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// revisionMetrics are the per-revision Prometheus series.
type revisionMetrics struct {
	desired, actual, excess, panicMode *prometheus.GaugeVec
	stable, panic, target              *prometheus.GaugeVec
	coldStart                          *prometheus.HistogramVec
	scrapeErrors                       *prometheus.CounterVec
}

var revisionLabels = []string{"namespace", "revision"}

// newRevisionMetrics registers the series with reg; nil keeps them
// unregistered.
func newRevisionMetrics(reg prometheus.Registerer) (*revisionMetrics, error) {
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append(labels, revisionLabels...))
	}
	m := &revisionMetrics{
		desired:   gauge("ebb_revision_pods_desired", "Pods the autoscaler wants for the revision (-1 before its first decision)."),
		actual:    gauge("ebb_revision_pods_actual", "Ready pods of the revision."),
		excess:    gauge("ebb_revision_capacity_excess", "Excess burst capacity; negative keeps the activator in the path."),
		panicMode: gauge("ebb_revision_panic_mode", "1 while the revision's autoscaler is in panic mode."),
		stable:    gauge("ebb_revision_stable_value", "Load averaged over the stable window.", "metric"),
		panic:     gauge("ebb_revision_panic_value", "Load averaged over the panic window.", "metric"),
		target:    gauge("ebb_revision_target_value", "Per-pod target load.", "metric"),
		coldStart: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ebb_revision_cold_start_seconds",
			Help:    "Time a revision spent activating before enough pods were ready.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600},
		}, revisionLabels),
		scrapeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_autoscaler_scrape_errors_total",
			Help: "Scrapes of a revision's pods that yielded no stat.",
		}, revisionLabels),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.desired, m.actual, m.excess, m.panicMode, m.stable, m.panic, m.target, m.coldStart, m.scrapeErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register autoscaler metrics: %w", err)
		}
	}
	return m, nil
}

// forget drops a removed revision's series.
func (m *revisionMetrics) forget(k RevisionKey) {
	l := prometheus.Labels{"namespace": k.Namespace, "revision": k.Name}
	for _, v := range []*prometheus.GaugeVec{m.desired, m.actual, m.excess, m.panicMode, m.stable, m.panic, m.target} {
		v.DeletePartialMatch(l)
	}
	m.coldStart.DeletePartialMatch(l)
	m.scrapeErrors.DeletePartialMatch(l)
}
