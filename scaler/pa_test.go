package scaler

import (
	"testing"
	"time"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/google/go-cmp/cmp"
)

func scaleSpec(mod func(*ScaleSpec)) ScaleSpec {
	s := NewScaleSpec(autoscaling.DefaultConfig(), nil, 0, true, 0)
	if mod != nil {
		mod(&s)
	}
	return s
}

func TestNewScaleSpec(t *testing.T) {
	cfg := autoscaling.DefaultConfig()
	cfg.ScaleToZeroPodRetentionPeriod = 10 * time.Second
	ann := map[string]string{
		autoscaling.MinScaleAnnotationKey:         "2",
		autoscaling.MaxScaleAnnotationKey:         "9",
		autoscaling.InitialScaleAnnotationKey:     "3",
		autoscaling.ProgressDeadlineAnnotationKey: "100s",
		autoscaling.WindowAnnotationKey:           "30s",
	}
	got := NewScaleSpec(cfg, ann, 10, true, 0)
	want := ScaleSpec{
		MinScale: 2, MaxScale: 9, InitialScale: 3, Reachable: true, EnableScaleToZero: true,
		StableWindow: 30 * time.Second, ScaleToZeroGracePeriod: 30 * time.Second, PodRetention: 10 * time.Second,
		ActivationTimeout: 130 * time.Second, TargetBurstCapacity: 211, TotalValue: 10, ActivatorCapacity: 100,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reachable (-want +got):\n%s", diff)
	}
	got = NewScaleSpec(cfg, ann, 10, false, 0)
	want.MinScale, want.Reachable, want.PodRetention = 0, false, 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unreachable (-want +got):\n%s", diff)
	}
	if got := NewScaleSpec(cfg, nil, 0, true, 0).ActivationTimeout; got != 630*time.Second {
		t.Errorf("default activation timeout = %v, want 630s", got)
	}
}

func TestNumActivators(t *testing.T) {
	tests := []struct {
		ready            int
		total, tbc, capa float64
		want             int32
	}{
		{0, 100, 200, 100, 2},
		{1, 100, 200, 100, 3},
		{15, 100, 200, 100, 17},
		{5, 100, -1, 100, 5},
		{100, 100, 0, 100, 2},
		{0, 100, 211, 100, 3},
		{0, 100, -1, 100, 2},
	}
	for _, tt := range tests {
		if got := NumActivators(tt.ready, tt.total, tt.tbc, tt.capa); got != tt.want {
			t.Errorf("NumActivators(%d, %v, %v, %v) = %d, want %d", tt.ready, tt.total, tt.tbc, tt.capa, got, tt.want)
		}
	}
}

// step is one reconcile of a scenario: input at a time, the action and
// the Active condition wanted afterwards.
type step struct {
	at       time.Duration
	in       ScaleInput
	act      ScaleAction
	activity Activity
	reason   string
}

func runSteps(t *testing.T, spec ScaleSpec, state ScaleState, steps []step) ScaleState {
	t.Helper()
	for i, s := range steps {
		var act ScaleAction
		act, state = Reconcile(spec, s.in, state, t0.Add(s.at))
		if diff := cmp.Diff(s.act, act); diff != "" {
			t.Errorf("step %d at %v: action (-want +got):\n%s", i, s.at, diff)
		}
		if state.Activity != s.activity || state.Reason != s.reason {
			t.Errorf("step %d at %v: %v/%q, want %v/%q", i, s.at, state.Activity, state.Reason, s.activity, s.reason)
		}
	}
	return state
}

func TestReconcileBounds(t *testing.T) {
	spec := scaleSpec(func(s *ScaleSpec) { s.MinScale, s.MaxScale = 2, 4 })
	runSteps(t, spec, NewScaleState(t0), []step{
		{at: 0, in: ScaleInput{Desired: 10, EBC: 5, Ready: 1, Replicas: 1},
			act: ScaleAction{Apply: true, Replicas: 4, Want: 4, Mode: route.Serve, Activators: 4}, activity: Activating, reason: ReasonQueued},
		{at: 2 * time.Second, in: ScaleInput{Desired: 0, EBC: 5, Ready: 4, Replicas: 4},
			act: ScaleAction{Apply: true, Replicas: 2, Want: 2, Mode: route.Serve, Activators: 7}, activity: Active},
		// Already at the bound: nothing to apply.
		{at: 4 * time.Second, in: ScaleInput{Desired: 1, EBC: -5, Ready: 2, Replicas: 2},
			act: ScaleAction{Want: 2, Mode: route.Proxy, Activators: 5}, activity: Active},
	})
}

func TestReconcileInitialScale(t *testing.T) {
	spec := scaleSpec(func(s *ScaleSpec) { s.InitialScale = 3 })
	state := runSteps(t, spec, NewScaleState(t0), []step{
		// No decision yet while activating: bounded up to the initial scale.
		{at: 0, in: ScaleInput{Desired: -1, EBC: -1, Ready: 0, Replicas: 3},
			act: ScaleAction{Want: 3, Mode: route.Proxy, Activators: 3}, activity: Activating, reason: ReasonQueued},
		{at: 2 * time.Second, in: ScaleInput{Desired: 1, EBC: 89, Ready: 3, Replicas: 3},
			act: ScaleAction{Want: 3, Mode: route.Serve, Activators: 6}, activity: Active},
	})
	if !state.Initialized {
		t.Fatal("not initialized after reaching the initial scale")
	}
	runSteps(t, spec, state, []step{
		{at: 4 * time.Second, in: ScaleInput{Desired: 1, EBC: 89, Ready: 3, Replicas: 3},
			act: ScaleAction{Apply: true, Replicas: 1, Want: 1, Mode: route.Serve, Activators: 6}, activity: Active},
	})
	// Unreachable revisions ignore the initial scale.
	spec.Reachable = false
	runSteps(t, spec, NewScaleState(t0), []step{
		{at: 0, in: ScaleInput{Desired: 1, EBC: -1, Ready: 0, Replicas: 3},
			act: ScaleAction{Apply: true, Replicas: 1, Want: 1, Mode: route.Proxy, Activators: 3}, activity: Activating, reason: ReasonQueued},
	})
}

func TestReconcileUnknownDesired(t *testing.T) {
	spec := scaleSpec(nil)
	state := NewScaleState(t0)
	state.Activity, state.DesiredScale = Active, 2
	act, next := Reconcile(spec, ScaleInput{Desired: -1, EBC: -1, Ready: 2, Replicas: 2}, state, t0)
	if diff := cmp.Diff(ScaleAction{Want: -1, Mode: route.Proxy, Activators: 5}, act); diff != "" {
		t.Errorf("action (-want +got):\n%s", diff)
	}
	if next.DesiredScale != 2 {
		t.Errorf("a temporary -1 replaced the desired scale: %d", next.DesiredScale)
	}
}

func TestReconcileActivatingTimeout(t *testing.T) {
	spec := scaleSpec(func(s *ScaleSpec) { s.ActivationTimeout = 40 * time.Second })
	runSteps(t, spec, NewScaleState(t0), []step{
		{at: 0, in: ScaleInput{Desired: 1, EBC: -1, Ready: 0, Replicas: 0},
			act: ScaleAction{Apply: true, Replicas: 1, Want: 1, Mode: route.Proxy, Activators: 3}, activity: Activating, reason: ReasonQueued},
		// Load went away before a pod came up: hold while activating.
		{at: 20 * time.Second, in: ScaleInput{Desired: 0, EBC: -1, Ready: 0, Replicas: 1},
			act: ScaleAction{Want: -1, Mode: route.Proxy, Activators: 3, Requeue: 40 * time.Second}, activity: Activating, reason: ReasonQueued},
		{at: 40 * time.Second, in: ScaleInput{Desired: 0, EBC: -1, Ready: 0, Replicas: 1},
			act: ScaleAction{Want: -1, Mode: route.Proxy, Activators: 3, Requeue: 40 * time.Second}, activity: Activating, reason: ReasonQueued},
		// More than the timeout since activating began: give up.
		{at: 40*time.Second + time.Millisecond, in: ScaleInput{Desired: 0, EBC: -1, Ready: 0, Replicas: 1},
			act: ScaleAction{Apply: true, Replicas: 0, Want: 0, Mode: route.Proxy, Activators: 3}, activity: Inactive, reason: ReasonTimedOut},
	})
}

// TestReconcileScaleToZeroFromProxy is the worked timeline with defaults:
// one idle pod stays in proxy mode (EBC < 0), so once the revision goes
// inactive the grace period has long passed and the pod goes at once.
func TestReconcileScaleToZeroFromProxy(t *testing.T) {
	spec := scaleSpec(nil)
	runSteps(t, spec, NewScaleState(t0), []step{
		{at: 0, in: ScaleInput{Desired: 1, EBC: -111, Ready: 1, Replicas: 1},
			act: ScaleAction{Want: 1, Mode: route.Proxy, Activators: 4}, activity: Active},
		// Active for less than the stable window: keep one pod.
		{at: 30 * time.Second, in: ScaleInput{Desired: 0, EBC: -111, Ready: 1, Replicas: 1},
			act: ScaleAction{Want: 1, Mode: route.Proxy, Activators: 4, Requeue: 30 * time.Second}, activity: Active},
		// Active for the stable window: report 0, go inactive, keep the pod.
		{at: 60 * time.Second, in: ScaleInput{Desired: 0, EBC: -111, Ready: 1, Replicas: 1},
			act: ScaleAction{Want: 0, Mode: route.Proxy, Activators: 4, Requeue: 3 * time.Second}, activity: Inactive, reason: ReasonNoTraffic},
		// Inactive, activator in the path for 62 s ≥ grace: scale to 0.
		{at: 62 * time.Second, in: ScaleInput{Desired: 0, EBC: -111, Ready: 1, Replicas: 1},
			act: ScaleAction{Apply: true, Replicas: 0, Want: 0, Mode: route.Proxy, Activators: 4}, activity: Inactive, reason: ReasonNoTraffic},
		// At zero and idle: nothing more.
		{at: 64 * time.Second, in: ScaleInput{Desired: 0, EBC: -211, Ready: 0, Replicas: 0},
			act: ScaleAction{Want: 0, Mode: route.Proxy, Activators: 3}, activity: Inactive, reason: ReasonNoTraffic},
	})
}

// TestReconcileScaleToZeroFromServe: a revision in serve mode first puts
// the activator back in the path and keeps its last pod for the grace
// period.
func TestReconcileScaleToZeroFromServe(t *testing.T) {
	spec := scaleSpec(nil)
	state := runSteps(t, spec, NewScaleState(t0), []step{
		{at: 0, in: ScaleInput{Desired: 3, EBC: 89, Ready: 3, Replicas: 3},
			act: ScaleAction{Want: 3, Mode: route.Serve, Activators: 6}, activity: Active},
	})
	if state.Mode != route.Serve || !state.ProxySince.IsZero() {
		t.Fatalf("state %+v, want serve mode", state)
	}
	runSteps(t, spec, state, []step{
		{at: 100 * time.Second, in: ScaleInput{Desired: 0, EBC: 89, Ready: 1, Replicas: 1},
			act: ScaleAction{Want: 0, Mode: route.Proxy, Activators: 4}, activity: Inactive, reason: ReasonNoTraffic},
		{at: 110 * time.Second, in: ScaleInput{Desired: 0, EBC: -111, Ready: 1, Replicas: 1},
			act: ScaleAction{Want: 0, Mode: route.Proxy, Activators: 4, Requeue: 20 * time.Second}, activity: Inactive, reason: ReasonNoTraffic},
		{at: 130 * time.Second, in: ScaleInput{Desired: 0, EBC: -111, Ready: 1, Replicas: 1},
			act: ScaleAction{Apply: true, Replicas: 0, Want: 0, Mode: route.Proxy, Activators: 4}, activity: Inactive, reason: ReasonNoTraffic},
	})
}

func TestReconcileInactiveNeedsActivatorInPath(t *testing.T) {
	spec := scaleSpec(nil)
	state := ScaleState{Activity: Inactive, Reason: ReasonNoTraffic, Since: t0, Initialized: true, DesiredScale: 0, Mode: route.Serve}
	act, _ := Reconcile(spec, ScaleInput{Desired: 0, EBC: 10, Ready: 1, Replicas: 1}, state, t0.Add(time.Hour))
	if diff := cmp.Diff(ScaleAction{Want: 0, Mode: route.Proxy, Activators: 4, Requeue: time.Second}, act); diff != "" {
		t.Errorf("serve mode (-want +got):\n%s", diff)
	}
	// With TBC -1 the activator is always in the path: no wait.
	spec.TargetBurstCapacity = -1
	act, _ = Reconcile(spec, ScaleInput{Desired: 0, EBC: -1, Ready: 1, Replicas: 1}, state, t0.Add(time.Hour))
	if !act.Apply || act.Replicas != 0 {
		t.Errorf("TBC -1: %+v, want scale to 0", act)
	}
}

func TestReconcileRetention(t *testing.T) {
	spec := scaleSpec(func(s *ScaleSpec) { s.PodRetention = 90 * time.Second })
	state := ScaleState{Activity: Inactive, Reason: ReasonNoTraffic, Since: t0, Initialized: true, DesiredScale: 0, Mode: route.Proxy, ProxySince: t0.Add(-time.Hour)}
	runSteps(t, spec, state, []step{
		{at: 40 * time.Second, in: ScaleInput{Desired: 0, EBC: -111, Ready: 1, Replicas: 1},
			act: ScaleAction{Want: 0, Mode: route.Proxy, Activators: 4, Requeue: 50 * time.Second}, activity: Inactive, reason: ReasonNoTraffic},
		{at: 90 * time.Second, in: ScaleInput{Desired: 0, EBC: -111, Ready: 1, Replicas: 1},
			act: ScaleAction{Apply: true, Replicas: 0, Want: 0, Mode: route.Proxy, Activators: 4}, activity: Inactive, reason: ReasonNoTraffic},
	})
}

func TestReconcileScaleToZeroDisabled(t *testing.T) {
	spec := scaleSpec(func(s *ScaleSpec) { s.EnableScaleToZero = false })
	state := ScaleState{Activity: Active, Since: t0, Initialized: true, DesiredScale: 1, Mode: route.Proxy, ProxySince: t0}
	runSteps(t, spec, state, []step{
		{at: time.Hour, in: ScaleInput{Desired: 0, EBC: -111, Ready: 1, Replicas: 1},
			act: ScaleAction{Want: 1, Mode: route.Proxy, Activators: 4}, activity: Active},
	})
}

func TestReconcileScaleFromZero(t *testing.T) {
	spec := scaleSpec(nil)
	state := ScaleState{Activity: Inactive, Reason: ReasonNoTraffic, Since: t0, Initialized: true, DesiredScale: 0, Mode: route.Proxy, ProxySince: t0}
	runSteps(t, spec, state, []step{
		{at: time.Minute, in: ScaleInput{Desired: 1, EBC: -212, Ready: 0, Replicas: 0},
			act: ScaleAction{Apply: true, Replicas: 1, Want: 1, Mode: route.Proxy, Activators: 3}, activity: Activating, reason: ReasonQueued},
		{at: time.Minute + 2*time.Second, in: ScaleInput{Desired: 1, EBC: -112, Ready: 1, Replicas: 1},
			act: ScaleAction{Want: 1, Mode: route.Proxy, Activators: 4}, activity: Active},
	})
}

func TestWithMode(t *testing.T) {
	s := NewScaleState(t0)
	s = s.WithMode(route.Proxy, t0.Add(time.Minute))
	if !s.ProxySince.Equal(t0) {
		t.Errorf("re-entering proxy moved ProxySince to %v", s.ProxySince)
	}
	s = s.WithMode(route.Serve, t0.Add(time.Minute))
	s = s.WithMode(route.Proxy, t0.Add(2*time.Minute))
	if !s.ProxySince.Equal(t0.Add(2*time.Minute)) || s.Mode != route.Proxy {
		t.Errorf("state %+v", s)
	}
	if Inactive.String() != "Inactive" || Active.String() != "Active" || Activating.String() != "Activating" {
		t.Error("names")
	}
}
