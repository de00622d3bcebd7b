package canary

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving/traffic"
)

func TestLadder(t *testing.T) {
	for _, tc := range []struct {
		a    Analysis
		want []traffic.Percent
	}{
		{Default(), []traffic.Percent{10, 20, 30, 40, 50}},
		{Analysis{StepWeight: 20, MaxWeight: 50}, []traffic.Percent{20, 40, 50}},
		{Analysis{StepWeight: 50, MaxWeight: 50}, []traffic.Percent{50}},
		{Analysis{StepWeight: 10, MaxWeight: 50, StepWeights: []traffic.Percent{5, 10, 25, 50}}, []traffic.Percent{5, 10, 25, 50}},
	} {
		if got := tc.a.Ladder(); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: ladder %v, want %v", tc.a, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	base := Default()
	a, set, errs := Parse(base, map[string]string{
		"canary.ebb.dev/interval": "2s", "canary.ebb.dev/step-weights": "5,10,25", "canary.ebb.dev/threshold": "2",
		"canary.ebb.dev/request-success-rate": "99.5", "canary.ebb.dev/request-duration": "250ms", "canary.ebb.dev/min-requests": "0",
		"other.example/interval": "9s",
	}, AnnotationPrefix)
	want := Analysis{Interval: 2 * time.Second, StepWeight: 10, StepWeights: []traffic.Percent{5, 10, 25}, MaxWeight: 50, Threshold: 2,
		SuccessRate: 99.5, Duration: 250 * time.Millisecond, MinRequests: 0}
	if diff := cmp.Diff(want, a); diff != "" || !set || len(errs) > 0 {
		t.Errorf("parse (-want +got):\n%s\nset %v, errors %v", diff, set, errs)
	}
	if _, set, _ := Parse(base, map[string]string{"interval": "2s"}, AnnotationPrefix); set {
		t.Error("a key without the prefix set the analysis")
	}

	for _, tc := range []struct{ key, value, want string }{
		{"interval", "500ms", "canary.ebb.dev/interval: 500ms must be at least 1s"},
		{"interval", "soon", `canary.ebb.dev/interval: invalid value "soon": want a duration such as 30s or 1m`},
		{"step-weight", "0", `canary.ebb.dev/step-weight: invalid value "0": want a whole percent in [1, 100]`},
		{"step-weight", "60", "canary.ebb.dev/step-weight: 60 is above max-weight 50"},
		{"step-weights", "10,5", `canary.ebb.dev/step-weights: invalid value "10,5": weights must rise`},
		{"step-weights", "10,100", `canary.ebb.dev/step-weights: invalid value "10,100": each weight must be a whole percent in [1, 99]`},
		{"max-weight", "101", `canary.ebb.dev/max-weight: invalid value "101": want a whole percent in [1, 100]`},
		{"threshold", "0", `canary.ebb.dev/threshold: invalid value "0": want a whole number, at least 1`},
		{"request-success-rate", "101", `canary.ebb.dev/request-success-rate: invalid value "101": want a percent in [0, 100]`},
		{"request-duration", "-1s", "canary.ebb.dev/request-duration: -1s must be positive"},
		{"min-requests", "-1", `canary.ebb.dev/min-requests: invalid value "-1": want a whole number, at least 0`},
	} {
		_, _, errs := Parse(base, map[string]string{AnnotationPrefix + tc.key: tc.value}, AnnotationPrefix)
		if len(errs) != 1 || errs[0].Error() != tc.want {
			t.Errorf("%s=%s: errors %v, want %q", tc.key, tc.value, errs, tc.want)
		}
	}
}

func micro(t time.Time) *metav1.MicroTime { m := metav1.NewMicroTime(t); return &m }

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	a := Analysis{Interval: 2 * time.Second, StepWeight: 20, MaxWeight: 40, Threshold: 2, SuccessRate: 99, Duration: 100 * time.Millisecond, MinRequests: 10}
	now := t0.Add(2 * time.Second)
	at20 := State{Canary: "c", Stable: "s", Phase: Progressing, Weight: 20, NextCheck: micro(now)}
	good := metric.Figures{Requests: 100, Failures: 0, P99: 12 * time.Millisecond}
	stable := metric.Figures{Requests: 400, Failures: 1}
	next := micro(now.Add(2 * time.Second))
	last := func(c metric.Figures) *Check {
		return &Check{Canary: ledgerFigures(c), Stable: Figures{Requests: 400, Failures: 1}}
	}
	for _, tc := range []struct {
		name    string
		s       State
		canary  metric.Figures
		want    State
		verdict Verdict
	}{
		{"too few requests hold the step", at20, metric.Figures{Requests: 9, Failures: 9}, at20, Inconclusive},
		{"a passing check steps", at20, good,
			State{Canary: "c", Stable: "s", Phase: Progressing, Weight: 40, NextCheck: next, Last: last(good)}, Step},
		{"a passing check at the last weight promotes", State{Canary: "c", Stable: "s", Phase: Progressing, Weight: 40, NextCheck: micro(now)}, good,
			State{Canary: "c", Stable: "s", Phase: Promoted, Weight: 40, Last: last(good)}, Promote},
		{"a failing check holds", at20, metric.Figures{Requests: 100, Failures: 2},
			State{Canary: "c", Stable: "s", Phase: Progressing, Weight: 20, FailedChecks: 1, NextCheck: next, Last: last(metric.Figures{Requests: 100, Failures: 2})}, Hold},
		{"the threshold-th failed check rolls back", State{Canary: "c", Stable: "s", Phase: Progressing, Weight: 20, FailedChecks: 1, NextCheck: micro(now)}, metric.Figures{Requests: 100, Failures: 50},
			State{Canary: "c", Stable: "s", Phase: RolledBack, FailedChecks: 2, Reason: "success 50.0% < 99%, 2 of 2 checks", Last: last(metric.Figures{Requests: 100, Failures: 50})}, Rollback},
		{"a slow p99 fails", at20, metric.Figures{Requests: 100, P99: 250 * time.Millisecond},
			State{Canary: "c", Stable: "s", Phase: Progressing, Weight: 20, FailedChecks: 1, NextCheck: next, Last: last(metric.Figures{Requests: 100, P99: 250 * time.Millisecond})}, Hold},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, verdict := Decide(tc.s, a, Period{Canary: tc.canary, Stable: stable}, now)
			if diff := cmp.Diff(tc.want, got); diff != "" || verdict != tc.verdict {
				t.Errorf("verdict %s, want %s; state (-want +got):\n%s", verdict, tc.verdict, diff)
			}
		})
	}
}

// TestDecideKeepsTheSchedule: a check that ran less than half an interval
// late keeps the schedule (the next is due an interval after the one
// due); a later one (too few requests, a new leader's first period)
// starts it again an interval after now, so that the weight it sets is
// judged over a whole interval of its own.
func TestDecideKeepsTheSchedule(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	a := Analysis{Interval: 2 * time.Second, StepWeight: 20, MaxWeight: 40, Threshold: 2, SuccessRate: 99, MinRequests: 10}
	good := Period{Canary: metric.Figures{Requests: 100}}
	bad := Period{Canary: metric.Figures{Requests: 100, Failures: 50}}
	for _, tc := range []struct {
		name     string
		due, now time.Time
		want     time.Time
	}{
		{"on time", t0, t0, t0.Add(2 * time.Second)},
		{"late by 300ms", t0, t0.Add(300 * time.Millisecond), t0.Add(2 * time.Second)},
		{"late by 999ms", t0, t0.Add(999 * time.Millisecond), t0.Add(2 * time.Second)},
		{"late by 1s", t0, t0.Add(time.Second), t0.Add(3 * time.Second)},
		{"late by 1900ms", t0, t0.Add(1900 * time.Millisecond), t0.Add(3900 * time.Millisecond)},
		{"late by 3s", t0, t0.Add(3 * time.Second), t0.Add(5 * time.Second)},
	} {
		for _, p := range []struct {
			name string
			p    Period
		}{{"step", good}, {"hold", bad}} {
			got, _ := Decide(State{Phase: Progressing, Weight: 20, NextCheck: micro(tc.due)}, a, p.p, tc.now)
			if !got.NextCheck.Time.Equal(tc.want) {
				t.Errorf("%s, %s: next check %v, want %v", tc.name, p.name, got.NextCheck.Time, tc.want)
			}
		}
	}
}

func TestDue(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	a := Analysis{Interval: 2 * time.Second}
	s := &State{Phase: Progressing, Weight: 10, NextCheck: micro(t0)}
	for _, tc := range []struct {
		name       string
		since, now time.Time
		want       bool
	}{
		{"before the period ends", t0.Add(-time.Hour), t0.Add(-time.Millisecond), false},
		{"at its end", t0.Add(-time.Hour), t0, true},
		{"a restart waits a fresh period", t0.Add(-time.Second), t0, false},
		{"a whole period after the restart", t0.Add(-time.Second), t0.Add(time.Second), true},
	} {
		if got := Due(s, a, tc.since, tc.now); got != tc.want {
			t.Errorf("%s: due %v, want %v", tc.name, got, tc.want)
		}
	}
	if Due(&State{Phase: Progressing, NextCheck: micro(t0)}, a, t0.Add(-time.Hour), t0) {
		t.Error("a canary at weight 0 is due for a check")
	}
}

func TestDescribe(t *testing.T) {
	got := Describe(Period{Canary: metric.Figures{Requests: 611, P99: 12340 * time.Microsecond}, Stable: metric.Figures{Requests: 1000, Failures: 1}})
	if want := "success 100.0%, p99 12.3ms, 611 req; stable 99.9%"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
