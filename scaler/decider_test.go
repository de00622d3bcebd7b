package scaler

import (
	"testing"
	"time"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Unix(1_700_000_000, 0)

// spec returns a decider spec with Knative's defaults for a revision with
// containerConcurrency 0 (target 70, total 100), changed by mod.
func testSpec(mod func(*autoscaling.DeciderSpec)) autoscaling.DeciderSpec {
	s := autoscaling.NewDeciderSpec(autoscaling.DefaultConfig(), nil, 0, true)
	if mod != nil {
		mod(&s)
	}
	return s
}

type tick struct {
	at   time.Duration // since t0
	obs  Observation
	want int32 // desired scale, -1 for an invalid decision
	ebc  int32
	pan  bool
}

func runTicks(t *testing.T, spec autoscaling.DeciderSpec, state DeciderState, ticks []tick) DeciderState {
	t.Helper()
	for i, tk := range ticks {
		var d Decision
		d, state = Decide(spec, tk.obs, state, t0.Add(tk.at))
		got := tick{at: tk.at, obs: tk.obs, want: d.DesiredScale, ebc: d.ExcessBurstCapacity, pan: d.Panicking}
		if d.Valid != (tk.want >= 0) {
			t.Errorf("tick %d at %v: valid = %v", i, tk.at, d.Valid)
		}
		if diff := cmp.Diff(tk, got, cmp.AllowUnexported(tick{})); diff != "" {
			t.Errorf("tick %d at %v (-want +got):\n%s", i, tk.at, diff)
		}
	}
	return state
}

func obs(stable, panic float64, ready int) Observation {
	return Observation{Stable: stable, Panic: panic, ReadyPods: ready}
}

func TestDecideStable(t *testing.T) {
	spec := testSpec(nil)
	runTicks(t, spec, NewDeciderState(spec, 1, t0), []tick{
		// ceil(100/70) = 2; EBC = floor(2×100 − 211 − 100).
		{at: 0, obs: obs(100, 100, 2), want: 2, ebc: -111},
		{at: 2 * time.Second, obs: obs(70, 70, 2), want: 1, ebc: -81},
		{at: 4 * time.Second, obs: obs(0, 0, 1), want: 0, ebc: -111},
	})
}

func TestDecideInvalid(t *testing.T) {
	spec := testSpec(nil)
	state := NewDeciderState(spec, 3, t0)
	for _, o := range []Observation{{NoData: true, ReadyPods: 3}, {ReadyErr: true, Stable: 10}} {
		d, next := Decide(spec, o, state, t0.Add(time.Second))
		if diff := cmp.Diff(InvalidDecision, d); diff != "" {
			t.Errorf("%+v: decision (-want +got):\n%s", o, diff)
		}
		if diff := cmp.Diff(state, next); diff != "" {
			t.Errorf("%+v: state changed (-want +got):\n%s", o, diff)
		}
	}
}

func TestDecidePanic(t *testing.T) {
	spec := testSpec(nil)
	runTicks(t, spec, NewDeciderState(spec, 1, t0), []tick{
		// 3 pods, panic avg 500 → 8 pods, 8/3 ≥ 2: panic, want max(3, 8).
		{at: 0, obs: obs(200, 500, 3), want: 8, ebc: -411, pan: true},
		// Load drops: panic holds the maximum.
		{at: 2 * time.Second, obs: obs(100, 100, 8), want: 8, ebc: 489, pan: true},
		// Over threshold again at 10 s (ceil(1200/70)=18, 18/8 ≥ 2): extend
		// and grow.
		{at: 10 * time.Second, obs: obs(300, 1200, 8), want: 18, ebc: -611, pan: true},
		// 60 s after the last extension, not yet out (strictly after).
		{at: 70 * time.Second, obs: obs(20, 20, 18), want: 18, ebc: 1569, pan: true},
		// Out of panic: stable 20 → 1 pod, but max-scale-down-rate 2 → 9.
		{at: 72 * time.Second, obs: obs(20, 20, 18), want: 9, ebc: 1569, pan: false},
		{at: 74 * time.Second, obs: obs(20, 20, 9), want: 4, ebc: 669},
		{at: 76 * time.Second, obs: obs(20, 20, 4), want: 2, ebc: 169},
		{at: 78 * time.Second, obs: obs(20, 20, 2), want: 1, ebc: -31},
	})
}

func TestDecidePanicThresholdBoundary(t *testing.T) {
	spec := testSpec(nil)
	// ceil(280/70) = 4 = 2 × 2 ready: exactly at the threshold panics.
	d, _ := Decide(spec, obs(0, 280, 2), NewDeciderState(spec, 0, t0), t0)
	if !d.Panicking || d.DesiredScale != 4 {
		t.Errorf("at threshold: %+v, want panicking with 4", d)
	}
	// ceil(210/70) = 3 < 2 × 2.
	d, _ = Decide(spec, obs(0, 210, 2), NewDeciderState(spec, 0, t0), t0)
	if d.Panicking || d.DesiredScale != 1 {
		t.Errorf("below threshold: %+v, want stable with 1", d)
	}
}

func TestDecideRateLimits(t *testing.T) {
	spec := testSpec(func(s *autoscaling.DeciderSpec) { s.MaxScaleUpRate = 2; s.MaxScaleDownRate = 4 })
	runTicks(t, spec, NewDeciderState(spec, 0, t0), []tick{
		// From zero ready (counted as 1): at most ceil(2×1) = 2.
		{at: 0, obs: obs(700, 0, 0), want: 2, ebc: -211},
		// ceil(2×3)=6 even though 10 are wanted.
		{at: 2 * time.Second, obs: obs(700, 0, 3), want: 6, ebc: 89},
		// Down: at least floor(20/4) = 5.
		{at: 4 * time.Second, obs: obs(0, 0, 20), want: 5, ebc: 1789},
		{at: 6 * time.Second, obs: obs(0, 0, 5), want: 1, ebc: 289},
		{at: 8 * time.Second, obs: obs(0, 0, 3), want: 0, ebc: 89},
	})
}

func TestDecideUnreachableDropsToZero(t *testing.T) {
	spec := testSpec(func(s *autoscaling.DeciderSpec) { s.Reachable = false; s.ScaleDownDelay = time.Minute })
	runTicks(t, spec, NewDeciderState(spec, 0, t0), []tick{
		// 20 ready, no load: no max-scale-down floor, no delay window.
		{at: 0, obs: obs(0, 0, 20), want: 0, ebc: 1789},
	})
}

func TestDecideActivationScale(t *testing.T) {
	spec := testSpec(func(s *autoscaling.DeciderSpec) { s.ActivationScale = 3 })
	runTicks(t, spec, NewDeciderState(spec, 0, t0), []tick{
		{at: 0, obs: obs(1, 1, 0), want: 3, ebc: -212},
		{at: 2 * time.Second, obs: obs(300, 300, 3), want: 5, ebc: -211},
		{at: 4 * time.Second, obs: obs(0, 0, 1), want: 0, ebc: -111},
	})
}

func TestDecideScaleDownDelay(t *testing.T) {
	// 10 s delay = 5 buckets of 2 s.
	spec := testSpec(func(s *autoscaling.DeciderSpec) { s.ScaleDownDelay = 10 * time.Second; s.MaxScaleDownRate = 100 })
	runTicks(t, spec, NewDeciderState(spec, 0, t0), []tick{
		{at: 0, obs: obs(700, 0, 1), want: 10, ebc: -111},
		{at: 2 * time.Second, obs: obs(140, 0, 10), want: 10, ebc: 789},
		{at: 4 * time.Second, obs: obs(140, 0, 10), want: 10, ebc: 789},
		{at: 8 * time.Second, obs: obs(140, 0, 10), want: 10, ebc: 789},
		// The 10 recorded at t0 leaves the window 5 buckets later.
		{at: 10 * time.Second, obs: obs(70, 0, 10), want: 2, ebc: 789},
		{at: 12 * time.Second, obs: obs(70, 0, 10), want: 2, ebc: 789},
		{at: 20 * time.Second, obs: obs(70, 0, 10), want: 1, ebc: 789},
		// Up is immediate.
		{at: 22 * time.Second, obs: obs(350, 0, 10), want: 5, ebc: 789},
	})
}

func TestDecideRestartInPanic(t *testing.T) {
	spec := testSpec(nil)
	state := NewDeciderState(spec, 5, t0)
	if diff := cmp.Diff(DeciderState{PanicTime: t0, MaxPanicPods: 5}, state); diff != "" {
		t.Fatalf("state after restart (-want +got):\n%s", diff)
	}
	runTicks(t, spec, state, []tick{
		// Little load, but the 5 pods stay until a stable window passes.
		{at: 2 * time.Second, obs: obs(10, 10, 5), want: 5, ebc: 279, pan: true},
		{at: 60 * time.Second, obs: obs(10, 10, 5), want: 5, ebc: 279, pan: true},
		{at: 62 * time.Second, obs: obs(10, 10, 5), want: 2, ebc: 279},
	})
	for _, ready := range []int{-1, 0, 1} {
		s := NewDeciderState(spec, ready, t0)
		if !s.PanicTime.IsZero() || s.MaxPanicPods != int32(max(ready, 0)) {
			t.Errorf("ready %d: state %+v, want not panicking", ready, s)
		}
	}
}

func TestDecideBurstCapacity(t *testing.T) {
	tests := []struct {
		tbc   float64
		ready int
		panic float64
		want  int32
	}{
		{tbc: 211, ready: 1, panic: 0, want: -111},
		{tbc: 211, ready: 3, panic: 0, want: 89},
		{tbc: 211, ready: 3, panic: 89.5, want: -1},
		{tbc: 211, ready: 0, panic: 0, want: -211},
		{tbc: 0, ready: 0, panic: 50, want: 0},
		{tbc: -1, ready: 10, panic: 0, want: -1},
		{tbc: 200, ready: 2, panic: 0.5, want: -1},
	}
	for _, tt := range tests {
		spec := testSpec(func(s *autoscaling.DeciderSpec) { s.TargetBurstCapacity = tt.tbc })
		d, _ := Decide(spec, obs(tt.panic, tt.panic, tt.ready), NewDeciderState(spec, 0, t0), t0)
		if d.ExcessBurstCapacity != tt.want {
			t.Errorf("tbc %v ready %d panic %v: EBC = %d, want %d", tt.tbc, tt.ready, tt.panic, d.ExcessBurstCapacity, tt.want)
		}
	}
}

func TestMaxWindow(t *testing.T) {
	w := NewMaxWindow(6*time.Second, 2*time.Second) // 3 buckets
	steps := []struct {
		at   time.Duration
		v    int32
		want int32
	}{
		{0, 5, 5},
		{time.Second, 7, 7},             // same bucket: larger kept
		{1500 * time.Millisecond, 3, 7}, // same bucket: smaller absorbed
		{2 * time.Second, 4, 7},
		{4 * time.Second, 1, 7},
		{6 * time.Second, 2, 4}, // bucket 0 left
		{8 * time.Second, 0, 2},
		{20 * time.Second, 9, 9},
		{22 * time.Second, 1, 9},
	}
	for _, s := range steps {
		prev := w
		w = w.Record(t0.Add(s.at), s.v)
		if got := w.Current(); got != s.want {
			t.Errorf("at %v record %d: Current = %d, want %d (%+v)", s.at, s.v, got, s.want, w.Entries)
		}
		if len(w.Entries) > w.Buckets {
			t.Errorf("at %v: %d entries for %d buckets", s.at, len(w.Entries), w.Buckets)
		}
		_ = prev.Current() // the previous value stays usable
	}
	if got := (MaxWindow{}).Current(); got != 0 {
		t.Errorf("empty Current = %d", got)
	}
}
