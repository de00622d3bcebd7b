package scaler

import (
	"math"
	"time"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
)

// Activity is a revision's Active condition: whether it serves, is coming
// up, or sits at (or on its way to) zero.
type Activity int

// Activities, named after Knative's PodAutoscaler Active condition.
const (
	// Activating (Active=Unknown): pods are being provisioned; requests
	// are held by the activator.
	Activating Activity = iota
	// Active (Active=True): enough pods are ready.
	Active
	// Inactive (Active=False): no traffic; the revision is at zero or
	// heading there.
	Inactive
)

func (a Activity) String() string {
	switch a {
	case Active:
		return "Active"
	case Inactive:
		return "Inactive"
	}
	return "Activating"
}

// Reasons for the Active condition.
const (
	ReasonQueued    = "Queued"
	ReasonNoTraffic = "NoTraffic"
	ReasonTimedOut  = "TimedOut"
)

// ScaleSpec is what turning a decision into replicas needs to know about a
// revision.
type ScaleSpec struct {
	// MinScale and MaxScale (0 = unlimited) bound the replicas; MinScale
	// is 0 for an unreachable revision.
	MinScale, MaxScale int32
	// InitialScale is the size the revision must reach once before
	// MinScale alone applies.
	InitialScale int32
	// Reachable is false when no route sends traffic to the revision.
	Reachable bool
	// EnableScaleToZero: when false, 0 becomes 1.
	EnableScaleToZero bool
	// StableWindow is how long a revision stays active before it may go to
	// zero.
	StableWindow time.Duration
	// ScaleToZeroGracePeriod is how long the activator must have been in
	// the path before the last pod is removed.
	ScaleToZeroGracePeriod time.Duration
	// PodRetention keeps the last pod this long after the revision went
	// inactive (0 for unreachable revisions).
	PodRetention time.Duration
	// ActivationTimeout gives up on a revision that does not come up:
	// the progress deadline plus ActivationTimeoutBuffer.
	ActivationTimeout time.Duration
	// TargetBurstCapacity, TotalValue and ActivatorCapacity size the
	// activator subset; TargetBurstCapacity -1 keeps the activator in the
	// path for good.
	TargetBurstCapacity, TotalValue, ActivatorCapacity float64
}

// NewScaleSpec derives a revision's ScaleSpec. progressDeadline is the
// cluster default (0 for DefaultProgressDeadline); the
// serving.knative.dev/progress-deadline annotation overrides it.
func NewScaleSpec(cfg *autoscaling.Config, annotations map[string]string, containerConcurrency int64, reachable bool, progressDeadline time.Duration) ScaleSpec {
	minScale, maxScale := autoscaling.MinMaxScale(cfg, annotations, reachable)
	ds := autoscaling.NewDeciderSpec(cfg, annotations, containerConcurrency, reachable)
	return ScaleSpec{
		MinScale:               minScale,
		MaxScale:               maxScale,
		InitialScale:           ds.InitialScale,
		Reachable:              reachable,
		EnableScaleToZero:      cfg.EnableScaleToZero,
		StableWindow:           ds.StableWindow,
		ScaleToZeroGracePeriod: cfg.ScaleToZeroGracePeriod,
		PodRetention:           autoscaling.ScaleToZeroPodRetention(cfg, annotations, reachable),
		ActivationTimeout:      autoscaling.ProgressDeadline(annotations, progressDeadline) + autoscaling.ActivationTimeoutBuffer,
		TargetBurstCapacity:    ds.TargetBurstCapacity,
		TotalValue:             ds.TotalValue,
		ActivatorCapacity:      ds.ActivatorCapacity,
	}
}

// ScaleState is a revision's scaling status carried between reconciles.
type ScaleState struct {
	// Activity and Reason are the Active condition; Since is when either
	// last changed.
	Activity Activity
	Reason   string
	Since    time.Time
	// Initialized (ScaleTargetInitialized) turns true once the revision
	// had InitialScale ready pods.
	Initialized bool
	// DesiredScale is the reported desired scale, -1 while unknown.
	DesiredScale int32
	// Mode is the traffic mode in force; ProxySince is when the activator
	// entered the path (zero in Serve mode).
	Mode       route.Mode
	ProxySince time.Time
}

// NewScaleState is the state of a new revision: activating, in proxy
// mode, desired scale unknown.
func NewScaleState(now time.Time) ScaleState {
	return ScaleState{Activity: Activating, Since: now, DesiredScale: -1, Mode: route.Proxy, ProxySince: now}
}

// WithMode returns the state with mode m in force from now on; the loop
// calls it once the traffic switch has been applied.
func (s ScaleState) WithMode(m route.Mode, now time.Time) ScaleState {
	if m == s.Mode {
		return s
	}
	s.Mode = m
	s.ProxySince = time.Time{}
	if m == route.Proxy {
		s.ProxySince = now
	}
	return s
}

func (s ScaleState) mark(a Activity, reason string, now time.Time) ScaleState {
	if s.Activity != a || s.Reason != reason {
		s.Activity, s.Reason, s.Since = a, reason, now
	}
	return s
}

// ScaleInput is what is known at one reconcile.
type ScaleInput struct {
	// Desired is the decider's last valid desired scale, -1 when it has
	// not decided yet; EBC its excess burst capacity.
	Desired int32
	EBC     int32
	// Ready is the number of ready pods; Replicas the current replica
	// count (-1 when unknown, taken as 1).
	Ready    int
	Replicas int32
}

// ScaleAction is what a reconcile asks the runtime to do.
type ScaleAction struct {
	// Apply asks for the replicas to be set to Replicas.
	Apply    bool
	Replicas int32
	// Want is the scale the revision is heading for (-1 unknown): 0 while
	// waiting out a grace period even though pods remain.
	Want int32
	// Mode and Activators are the traffic mode and the number of
	// activators to put in the path.
	Mode       route.Mode
	Activators int32
	// Requeue asks for another reconcile after this long (0: next tick).
	Requeue time.Duration
}

// probePeriod is how soon to look again when the activator is not yet
// known to be in the path.
const probePeriod = time.Second

// proxyRequeue is how soon to look again at an active revision that waits
// for its scale to zero in proxy mode.
const proxyRequeue = 3 * time.Second

// Reconcile turns a decision into replicas, a traffic mode and a new
// status, as Knative's PodAutoscaler reconciler does: bounds, initial
// scale, and the scale-to-zero sequence (stable window while active, the
// activator in the path, pod retention and grace period while inactive,
// the activation timeout while activating). It is pure; now is the
// reconcile's time.
func Reconcile(spec ScaleSpec, in ScaleInput, prev ScaleState, now time.Time) (ScaleAction, ScaleState) {
	act := ScaleAction{Want: in.Desired}
	if in.Desired >= 0 || prev.Activity == Activating {
		act = scaleStep(spec, in, prev, now)
	}

	act.Mode = route.Proxy
	if act.Want > 0 && in.EBC >= 0 {
		act.Mode = route.Serve
	}
	act.Activators = NumActivators(in.Ready, spec.TotalValue, spec.TargetBurstCapacity, spec.ActivatorCapacity)

	next := prev
	if act.Want != -1 || prev.DesiredScale < 0 {
		next.DesiredScale = act.Want
	}
	next = activeCondition(spec, act.Want, in.Ready, next, now)
	next = next.WithMode(act.Mode, now)
	return act, next
}

// scaleStep bounds the decision and runs the scale-to-zero gate.
func scaleStep(spec ScaleSpec, in ScaleInput, prev ScaleState, now time.Time) ScaleAction {
	minScale := spec.MinScale
	if spec.InitialScale > 1 && !prev.Initialized && spec.Reachable {
		minScale = max(minScale, spec.InitialScale)
	}
	want := in.Desired
	if want < minScale {
		want = minScale
	} else if spec.MaxScale != 0 && want > spec.MaxScale {
		want = spec.MaxScale
	}

	act := ScaleAction{Want: want}
	apply := true
	if want == 0 {
		act.Want, apply, act.Requeue = toZero(spec, prev, now)
	}
	current := in.Replicas
	if current < 0 {
		current = 1
	}
	if apply && act.Want != current {
		act.Apply, act.Replicas = true, act.Want
	}
	return act
}

// toZero decides whether a revision that wants no pods may lose them now.
func toZero(spec ScaleSpec, prev ScaleState, now time.Time) (want int32, apply bool, requeue time.Duration) {
	if !spec.EnableScaleToZero {
		return 1, true, 0
	}
	since := now.Sub(prev.Since)
	switch prev.Activity {
	case Activating:
		if since > spec.ActivationTimeout {
			return 0, true, 0
		}
		return -1, false, spec.ActivationTimeout
	case Active:
		if since >= spec.StableWindow {
			// Report 0: the revision goes inactive and the activator
			// takes over the path before the pods go.
			if prev.Mode == route.Proxy {
				requeue = proxyRequeue
			}
			return 0, false, requeue
		}
		return 1, true, spec.StableWindow - since
	}
	// Inactive: the activator must be in the path (unless it always is).
	if spec.TargetBurstCapacity != -1 && prev.Mode != route.Proxy {
		return 0, false, probePeriod
	}
	if since >= max(spec.ScaleToZeroGracePeriod, spec.PodRetention) {
		return 0, true, 0
	}
	if spec.PodRetention > 0 && since < spec.PodRetention {
		return 0, false, spec.PodRetention - since
	}
	var proxyFor time.Duration
	if prev.Mode == route.Proxy {
		proxyFor = now.Sub(prev.ProxySince)
	}
	if left := spec.ScaleToZeroGracePeriod - proxyFor; left > 0 {
		return 0, false, left
	}
	return 0, true, 0
}

// activeCondition updates ScaleTargetInitialized and the Active condition
// from the scale wanted and the pods ready.
func activeCondition(spec ScaleSpec, want int32, ready int, s ScaleState, now time.Time) ScaleState {
	threshold := int(max(spec.MinScale, 1))
	if !s.Initialized {
		threshold = int(max(spec.MinScale, spec.InitialScale))
	}
	if ready >= threshold {
		s.Initialized = true
	}
	switch {
	case want == 0 || threshold == 0:
		if s.Activity == Activating && threshold > 0 {
			return s.mark(Inactive, ReasonTimedOut, now)
		}
		return s.mark(Inactive, ReasonNoTraffic, now)
	case ready < threshold:
		if want > 0 || s.Activity != Inactive {
			return s.mark(Activating, ReasonQueued, now)
		}
		return s.mark(Inactive, ReasonNoTraffic, now)
	default:
		if want > 0 || s.Activity != Inactive {
			return s.mark(Active, "", now)
		}
	}
	return s
}

// NumActivators is how many activators go in a revision's path:
// max(MinActivators, ceil((ready × total + max(tbc, 0)) / activatorCapacity)),
// and MinActivators when tbc is 0.
func NumActivators(ready int, total, tbc, activatorCapacity float64) int32 {
	if tbc == 0 {
		return autoscaling.MinActivators
	}
	capacity := float64(ready) * total
	if tbc > 0 {
		capacity += tbc
	}
	return int32(math.Max(float64(autoscaling.MinActivators), math.Ceil(capacity/activatorCapacity)))
}
