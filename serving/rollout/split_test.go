package rollout

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// t0 is the start of the rollouts below.
var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func revs(pairs ...any) []RevisionRollout {
	var out []RevisionRollout
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, RevisionRollout{RevisionName: pairs[i].(string), Percent: traffic.Percent(pairs[i+1].(int))})
	}
	return out
}

// TestPlanTwentySeconds follows a 20 s rollout of hello-00002 over
// hello-00001 at 100 %: 1 % for MinStep, then Knative's steps of
// round(99/19) = 5 % every 19 s / 19 = 1 s, 100 % after 21 s.
func TestPlanTwentySeconds(t *testing.T) {
	plan, changed := Plan(Desired("hello", "hello-00001", 100), Desired("hello", "hello-00002", 100), t0, 20*time.Second)
	if !changed {
		t.Fatal("Plan started no rollout")
	}
	want := Rollout{Configurations: []ConfigurationRollout{{
		ConfigurationName: "hello", Percent: 100,
		Revisions: revs("hello-00001", 99, "hello-00002", 1),
		StepParams: Params{
			StartTime: t0, NextStepTime: at(2), StepDuration: d(int64(time.Second)), StepSize: 5,
		},
	}}}
	if diff := cmp.Diff(want, plan); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if got, want := plan.Configurations[0].EndTime(), at(21); !got.Equal(want) {
		t.Errorf("EndTime = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		sec  float64
		want []RevisionRollout
		wake float64 // 0: none
	}{
		{0, revs("hello-00001", 99, "hello-00002", 1), 2},
		{1.999, revs("hello-00001", 99, "hello-00002", 1), 2},
		{2, revs("hello-00001", 94, "hello-00002", 6), 3},
		{10, revs("hello-00001", 54, "hello-00002", 46), 11},
		{10.5, revs("hello-00001", 54, "hello-00002", 46), 11},
		{20.999, revs("hello-00001", 4, "hello-00002", 96), 21},
		{21, revs("hello-00002", 100), 0},
		{3600, revs("hello-00002", 100), 0},
	} {
		got := SplitAt(plan, at(tc.sec))
		if diff := cmp.Diff(tc.want, got.Configurations[0].Revisions); diff != "" {
			t.Errorf("SplitAt(%gs) (-want +got):\n%s", tc.sec, diff)
		}
		wantWake := time.Time{}
		if tc.wake > 0 {
			wantWake = at(tc.wake)
		}
		if got := WakeAt(plan, at(tc.sec)); !got.Equal(wantWake) {
			t.Errorf("WakeAt(%gs) = %v, want %v", tc.sec, got, wantWake)
		}
		// Between its start and its end a pass records nothing.
		next, changed := Plan(plan, Desired("hello", "hello-00002", 100), at(tc.sec), 20*time.Second)
		if wantChanged := tc.sec >= 21; changed != wantChanged {
			t.Errorf("Plan at %gs: changed = %v, want %v", tc.sec, changed, wantChanged)
		}
		if changed && !next.Done() {
			t.Errorf("Plan at %gs: the rollout is not done: %+v", tc.sec, next)
		}
		if !changed && !Equal(next, plan) {
			t.Errorf("Plan at %gs changed nothing but returned %+v", tc.sec, next)
		}
	}
}

func TestPlan(t *testing.T) {
	// 49 steps of 1 % in the 119 s left after the first 1 %.
	left, steps := 119.0, 49.0
	step119of49 := time.Duration(left / steps * float64(time.Second))
	inFlight := Rollout{Configurations: []ConfigurationRollout{{
		ConfigurationName: "hello", Percent: 100,
		Revisions: revs("hello-00001", 99, "hello-00002", 1),
		StepParams: Params{
			StartTime: t0, NextStepTime: at(2), StepDuration: d(int64(time.Second)), StepSize: 5,
		},
	}}}
	tests := []struct {
		name        string
		prev        Rollout
		desired     Rollout
		now         time.Time
		duration    time.Duration
		want        Rollout
		wantChanged bool
	}{{
		name:     "a new Service: nothing to roll from",
		desired:  Desired("hello", "hello-00001", 100),
		now:      t0,
		duration: 20 * time.Second,
		want:     Desired("hello", "hello-00001", 100),
	}, {
		name:     "no new revision",
		prev:     Desired("hello", "hello-00001", 100),
		desired:  Desired("hello", "hello-00001", 100),
		now:      t0,
		duration: 20 * time.Second,
		want:     Desired("hello", "hello-00001", 100),
	}, {
		name:     "rollout off: the new revision takes its share at once",
		prev:     Desired("hello", "hello-00001", 100),
		desired:  Desired("hello", "hello-00002", 100),
		now:      t0,
		duration: 0,
		want:     Desired("hello", "hello-00002", 100),
	}, {
		name:        "rollout turned off during one: it ends",
		prev:        inFlight,
		desired:     Desired("hello", "hello-00002", 100),
		now:         at(5),
		duration:    0,
		want:        Desired("hello", "hello-00002", 100),
		wantChanged: true,
	}, {
		name:     "120 s at 50 %: the step size is Knative's 50/40",
		prev:     Desired("hello", "hello-00001", 50),
		desired:  Desired("hello", "hello-00002", 50),
		now:      t0,
		duration: 120 * time.Second,
		want: Rollout{Configurations: []ConfigurationRollout{{
			ConfigurationName: "hello", Percent: 50,
			Revisions: revs("hello-00001", 49, "hello-00002", 1),
			StepParams: Params{
				StartTime: t0, NextStepTime: t0.Add(time.Second + step119of49), StepDuration: d(int64(step119of49)), StepSize: 1,
			},
		}}},
		wantChanged: true,
	}, {
		name:     "a rollout shorter than MinStep is one step",
		prev:     Desired("hello", "hello-00001", 100),
		desired:  Desired("hello", "hello-00002", 100),
		now:      t0,
		duration: time.Second,
		want: Rollout{Configurations: []ConfigurationRollout{{
			ConfigurationName: "hello", Percent: 100,
			Revisions: revs("hello-00001", 99, "hello-00002", 1),
			StepParams: Params{
				StartTime: t0, NextStepTime: at(2), StepDuration: d(int64(time.Second)), StepSize: 99,
			},
		}}},
		wantChanged: true,
	}, {
		name:     "a third revision during a rollout: the newest is drained first",
		prev:     inFlight,
		desired:  Desired("hello", "hello-00003", 100),
		now:      at(10), // hello-00002 holds 46 %
		duration: 20 * time.Second,
		want: Rollout{Configurations: []ConfigurationRollout{{
			ConfigurationName: "hello", Percent: 100,
			Revisions: revs("hello-00001", 54, "hello-00002", 45, "hello-00003", 1),
			StepParams: Params{
				StartTime: at(10), NextStepTime: at(12), StepDuration: d(int64(time.Second)), StepSize: 5,
			},
		}}},
		wantChanged: true,
	}, {
		name:     "the percent falls during a rollout: the oldest gives it up",
		prev:     inFlight,
		desired:  Desired("hello", "hello-00002", 60),
		now:      at(10),
		duration: 20 * time.Second,
		want: Rollout{Configurations: []ConfigurationRollout{{
			ConfigurationName: "hello", Percent: 60,
			Revisions: revs("hello-00001", 14, "hello-00002", 46),
			StepParams: Params{
				StartTime: t0, NextStepTime: at(11), StepDuration: d(int64(time.Second)), StepSize: 5,
			},
		}}},
		wantChanged: true,
	}, {
		name:        "the last step is taken: the rollout ends",
		prev:        inFlight,
		desired:     Desired("hello", "hello-00002", 100),
		now:         at(30),
		duration:    20 * time.Second,
		want:        Desired("hello", "hello-00002", 100),
		wantChanged: true,
	}, {
		name:     "back to the old revision during a rollout: a rollout to it",
		prev:     inFlight,
		desired:  Desired("hello", "hello-00001", 100),
		now:      at(10),
		duration: 20 * time.Second,
		want: Rollout{Configurations: []ConfigurationRollout{{
			ConfigurationName: "hello", Percent: 100,
			Revisions: revs("hello-00001", 54, "hello-00002", 45, "hello-00001", 1),
			StepParams: Params{
				StartTime: at(10), NextStepTime: at(12), StepDuration: d(int64(time.Second)), StepSize: 5,
			},
		}}},
		wantChanged: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := Plan(tc.prev, tc.desired, tc.now, tc.duration)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	start, _ := Plan(Desired("hello", "hello-00001", 100), Desired("hello", "hello-00002", 100), t0, 20*time.Second)
	third, _ := Plan(start, Desired("hello", "hello-00003", 100), at(10.25), 120*time.Second)
	for _, tc := range []struct {
		r    Rollout
		want string
	}{
		{start, "rollout hello-00002: 1% at 12:00:00Z, +5% every 1s from 12:00:02Z, 100% at 12:00:21Z; hello-00001 99%"},
		{third, "rollout hello-00003: 1% at 12:00:10.250Z, +1% every 1.202s from 12:00:12.452Z, 100% at 12:02:10.250Z; hello-00001 54%, hello-00002 45%"},
		{SplitAt(start, at(30)), "rollout hello-00002 done: 100%"},
	} {
		if got := tc.r.Configurations[0].Describe(); got != tc.want {
			t.Errorf("Describe() = %q, want %q", got, tc.want)
		}
	}
}
