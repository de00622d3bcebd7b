package scaler

import (
	"sync"
	"time"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/scaler/window"
)

// RevisionKey names a revision.
type RevisionKey struct {
	Namespace string
	Name      string
}

func (k RevisionKey) String() string { return k.Namespace + "/" + k.Name }

// WindowSpec sizes a revision's metric windows.
type WindowSpec struct {
	StableWindow time.Duration
	PanicWindow  time.Duration
	// Algorithm is autoscaling.MetricAggregationAlgorithmLinear or
	// MetricAggregationAlgorithmWeightedExponential.
	Algorithm string
}

// NewWindowSpec derives the windows from the configuration and a
// revision's annotations.
func NewWindowSpec(cfg *autoscaling.Config, annotations map[string]string) WindowSpec {
	return WindowSpec{
		StableWindow: autoscaling.StableWindow(cfg, annotations),
		PanicWindow:  autoscaling.PanicWindow(cfg, annotations),
		Algorithm:    autoscaling.Algorithm(annotations),
	}
}

// Series holds one revision's four metric windows: concurrency and
// requests per second, each over the stable and the panic window. Stats
// recorded in the same second add up; the proxied part of each stat is
// subtracted, because the activator reports those requests itself.
// It is safe for concurrent use.
type Series struct {
	mu                                         sync.Mutex
	spec                                       WindowSpec
	concStable, concPanic, rpsStable, rpsPanic window.Averager
}

// NewSeries returns empty windows.
func NewSeries(spec WindowSpec) *Series {
	mk := func(w time.Duration) window.Averager {
		if spec.Algorithm == autoscaling.MetricAggregationAlgorithmWeightedExponential {
			return window.NewWeighted(w, autoscaling.BucketSize)
		}
		return window.NewLinear(w, autoscaling.BucketSize)
	}
	return &Series{
		spec:       spec,
		concStable: mk(spec.StableWindow),
		concPanic:  mk(spec.PanicWindow),
		rpsStable:  mk(spec.StableWindow),
		rpsPanic:   mk(spec.PanicWindow),
	}
}

// Record adds a stat at now.
func (s *Series) Record(now time.Time, st metric.Stat) {
	conc := st.AverageConcurrentRequests - st.AverageProxiedConcurrentRequests
	rps := st.RequestCount - st.ProxiedRequestCount
	s.mu.Lock()
	defer s.mu.Unlock()
	s.concStable.Record(now, conc)
	s.concPanic.Record(now, conc)
	s.rpsStable.Record(now, rps)
	s.rpsPanic.Record(now, rps)
}

// StableAndPanic returns the stable and panic averages of the metric
// (autoscaling.Concurrency or RPS) at now. noData is true when the stable
// window is empty and requireData is set (the revision is scraped, so an
// empty window means the data is missing rather than zero).
func (s *Series) StableAndPanic(metricName string, now time.Time, requireData bool) (stable, panic float64, noData bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, pn := s.concStable, s.concPanic
	if metricName == autoscaling.RPS {
		st, pn = s.rpsStable, s.rpsPanic
	}
	if requireData && st.IsEmpty(now) {
		return 0, 0, true
	}
	return st.Average(now), pn.Average(now), false
}

// Resize applies a new window spec, keeping the recorded data. A change of
// algorithm starts empty windows.
func (s *Series) Resize(spec WindowSpec, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if spec.Algorithm != s.spec.Algorithm {
		fresh := NewSeries(spec)
		s.spec = spec
		s.concStable, s.concPanic, s.rpsStable, s.rpsPanic = fresh.concStable, fresh.concPanic, fresh.rpsStable, fresh.rpsPanic
		return
	}
	s.spec = spec
	s.concStable.Resize(spec.StableWindow, now)
	s.rpsStable.Resize(spec.StableWindow, now)
	s.concPanic.Resize(spec.PanicWindow, now)
	s.rpsPanic.Resize(spec.PanicWindow, now)
}
