package scaler

import (
	"math"
	"time"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
)

// Observation is what the decider sees of a revision at one tick.
type Observation struct {
	// Stable and Panic are the revision's total concurrency (or RPS)
	// averaged over the stable and the panic window.
	Stable, Panic float64
	// NoData says the windows hold no data: the tick makes no decision.
	NoData bool
	// ReadyPods is the number of ready pods.
	ReadyPods int
	// ReadyErr says counting the ready pods failed: the tick makes no
	// decision. (A revision without pods is ReadyPods 0, not an error.)
	ReadyErr bool
}

// Decision is the outcome of one tick.
type Decision struct {
	// Valid is false when there was no data or the pods could not be
	// counted; the previous desired scale then stays in force.
	Valid bool
	// DesiredScale is the number of pods wanted, before min/max bounds.
	DesiredScale int32
	// ExcessBurstCapacity is the spare capacity beyond the target burst
	// capacity; negative means the activator must stay in the path.
	ExcessBurstCapacity int32
	// Panicking reports panic mode after this tick.
	Panicking bool
	// StablePods and PanicPods are ceil(value / target) before rate limits.
	StablePods, PanicPods float64
}

// DeciderState is what the decider carries from one tick to the next.
type DeciderState struct {
	// PanicTime is when the panic threshold was last exceeded; zero when
	// not panicking.
	PanicTime time.Time
	// MaxPanicPods is the largest decision made in the current panic.
	MaxPanicPods int32
	// Delay is the scale-down-delay window; Buckets 0 when there is none.
	Delay MaxWindow
}

// NewDeciderState is the state of a new decider (also after an autoscaler
// restart): with more than one ready pod it starts in panic mode holding
// that many pods, so the scale does not drop while the metric history is
// rebuilt. ready is -1 when counting failed.
func NewDeciderState(spec autoscaling.DeciderSpec, ready int, now time.Time) DeciderState {
	s := DeciderState{MaxPanicPods: int32(max(ready, 0))}
	if ready > 1 {
		s.PanicTime = now
	}
	if spec.ScaleDownDelay > 0 {
		s.Delay = NewMaxWindow(spec.ScaleDownDelay, autoscaling.TickInterval)
	}
	return s
}

// InvalidDecision is the result of a tick without data.
var InvalidDecision = Decision{DesiredScale: -1, ExcessBurstCapacity: -1}

// Decide runs one scaling step for a revision: Knative's KPA algorithm
// with stable and panic modes, scale rate limits, activation scale,
// scale-down delay and excess burst capacity. It is pure; now is the
// tick's time.
func Decide(spec autoscaling.DeciderSpec, obs Observation, prev DeciderState, now time.Time) (Decision, DeciderState) {
	if obs.ReadyErr || obs.NoData {
		return InvalidDecision, prev
	}
	next := prev
	ready := math.Max(1, float64(obs.ReadyPods))

	maxUp := math.Ceil(spec.MaxScaleUpRate * ready)
	maxDown := 0.0
	if spec.Reachable {
		maxDown = math.Floor(ready / spec.MaxScaleDownRate)
	}

	stablePods := math.Ceil(obs.Stable / spec.TargetValue)
	panicPods := math.Ceil(obs.Panic / spec.TargetValue)
	wantStable := int32(math.Min(math.Max(stablePods, maxDown), maxUp))
	wantPanic := int32(math.Min(math.Max(panicPods, maxDown), maxUp))

	if spec.ActivationScale > 1 {
		if stablePods > 0 && spec.ActivationScale > wantStable {
			wantStable = spec.ActivationScale
		}
		if panicPods > 0 && spec.ActivationScale > wantPanic {
			wantPanic = spec.ActivationScale
		}
	}

	overThreshold := panicPods/ready >= spec.PanicThreshold
	switch {
	case overThreshold:
		// Enter panic, or extend it.
		next.PanicTime = now
	case !next.PanicTime.IsZero() && next.PanicTime.Add(spec.StableWindow).Before(now):
		next.PanicTime = time.Time{}
		next.MaxPanicPods = 0
	}

	want := wantStable
	if !next.PanicTime.IsZero() {
		want = max(want, wantPanic)
		// Never scale down while panicking.
		next.MaxPanicPods = max(next.MaxPanicPods, want)
		want = next.MaxPanicPods
	}

	if spec.Reachable && spec.ScaleDownDelay > 0 {
		if w := NewMaxWindow(spec.ScaleDownDelay, autoscaling.TickInterval); next.Delay.Buckets != w.Buckets {
			// A new or changed delay: keep what was recorded, span the
			// new number of buckets.
			next.Delay.Buckets, next.Delay.Granularity = w.Buckets, w.Granularity
		}
		next.Delay = next.Delay.Record(now, want)
		want = next.Delay.Current()
	}

	ebc := -1.0
	switch {
	case spec.TargetBurstCapacity == 0:
		ebc = 0
	case spec.TargetBurstCapacity > 0:
		ebc = math.Floor(float64(obs.ReadyPods)*spec.TotalValue - spec.TargetBurstCapacity - obs.Panic)
	}

	return Decision{
		Valid:               true,
		DesiredScale:        want,
		ExcessBurstCapacity: int32(ebc),
		Panicking:           !next.PanicTime.IsZero(),
		StablePods:          stablePods,
		PanicPods:           panicPods,
	}, next
}
