package knativedecider

import (
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	am "knative.dev/serving/pkg/autoscaler/metrics"
	"knative.dev/serving/pkg/autoscaler/scaling"

	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
)

// errCount is a pod-counting failure other than NotFound.
var errCount = errors.New("pod lister unavailable")

// errNoData is what Knative's metric client says for empty windows.
var errNoData = am.ErrNoData

// feed is Knative's metric client and pod counter, answering with
// whatever the current tick says.
type feed struct {
	stable, panic float64
	noData        bool
	ready         int
	readyErr      bool
}

func (f *feed) StableAndPanicConcurrency(types.NamespacedName, time.Time) (float64, float64, error) {
	return f.values()
}

func (f *feed) StableAndPanicRPS(types.NamespacedName, time.Time) (float64, float64, error) {
	return f.values()
}

func (f *feed) values() (float64, float64, error) {
	if f.noData {
		return 0, 0, errNoData
	}
	return f.stable, f.panic, nil
}

func (f *feed) ReadyCount() (int, error) {
	if f.readyErr {
		return 0, errCount
	}
	return f.ready, nil
}

func (f *feed) NotReadyCount() (int, error) { return 0, nil }

func (f *feed) observation() scaler.Observation {
	return scaler.Observation{Stable: f.stable, Panic: f.panic, NoData: f.noData, ReadyPods: f.ready, ReadyErr: f.readyErr}
}

// pair runs ebb's decider and Knative's side by side.
type pair struct {
	spec  autoscaling.DeciderSpec
	feed  *feed
	kn    scaling.UniScaler
	state scaler.DeciderState
	log   *zap.SugaredLogger
}

// newPair builds both deciders at time.Now(), which Knative reads itself:
// callers run inside a synctest bubble so that the two agree on it.
func newPair(spec autoscaling.DeciderSpec, f *feed) *pair {
	ready := f.ready
	if f.readyErr {
		ready = -1
	}
	knSpec := &scaling.DeciderSpec{
		MaxScaleUpRate:      spec.MaxScaleUpRate,
		MaxScaleDownRate:    spec.MaxScaleDownRate,
		ScalingMetric:       spec.ScalingMetric,
		TargetValue:         spec.TargetValue,
		TotalValue:          spec.TotalValue,
		TargetBurstCapacity: spec.TargetBurstCapacity,
		ActivatorCapacity:   spec.ActivatorCapacity,
		PanicThreshold:      spec.PanicThreshold,
		StableWindow:        spec.StableWindow,
		ScaleDownDelay:      spec.ScaleDownDelay,
		InitialScale:        spec.InitialScale,
		Reachable:           spec.Reachable,
		ActivationScale:     spec.ActivationScale,
	}
	kn := scaling.New(attribute.NewSet(), noop.NewMeterProvider(), "default", "rev", f, f, knSpec)
	return &pair{
		spec:  spec,
		feed:  f,
		kn:    kn,
		state: scaler.NewDeciderState(spec, ready, time.Now()),
		log:   zap.NewNop().Sugar(),
	}
}

// result is one tick's outcome, in Knative's terms.
type result struct {
	Valid   bool
	Desired int32
	EBC     int32
}

// tick runs both deciders on the feed's current values.
func (p *pair) tick(now time.Time) (ebb, kn result) {
	var d scaler.Decision
	d, p.state = scaler.Decide(p.spec, p.feed.observation(), p.state, now)
	k := p.kn.Scale(p.log, now)
	ebb = result{Valid: d.Valid}
	if d.Valid {
		ebb.Desired, ebb.EBC = d.DesiredScale, d.ExcessBurstCapacity
	}
	return ebb, result{Valid: k.ScaleValid, Desired: k.DesiredPodCount, EBC: k.ExcessBurstCapacity}
}
