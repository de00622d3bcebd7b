package serving

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving/canary"
	"github.com/ebb-dev/ebb/serving/config"
)

// analysed gives the Service a 2s interval, steps of 20 up to 40 and a
// threshold of 2.
func analysed(s *Service) {
	s.Annotations = map[string]string{
		"canary.ebb.dev/interval": "2s", "canary.ebb.dev/step-weight": "20",
		"canary.ebb.dev/max-weight": "40", "canary.ebb.dev/threshold": "2",
	}
}

// world is what a rollout test's runtime observes: revisions ready, a
// clock, and every revision's figures.
type world struct {
	ready   []string
	since   time.Time
	now     time.Time
	figures map[string]metric.Figures
	// programmed are the edges' reports (see Programmed).
	programmed Programmed
}

func (w *world) observed() Observed {
	return Observed{
		Ready: func(_, rev string) bool { return slices.Contains(w.ready, rev) },
		Now:   w.now, Since: w.since, Programmed: w.programmed,
		Figures: func(_, rev string, from, to time.Time) metric.Figures {
			if to.Sub(from) != 2*time.Second || !to.Equal(w.now) {
				panic(fmt.Sprintf("figures asked for [%v, %v), now %v", from, to, w.now))
			}
			return w.figures[rev]
		},
	}
}

// rolloutRun plans services against ledgers as w observes, checks the
// changes and the traffic, and that planning its output again changes
// nothing.
func rolloutRun(t *testing.T, ledgers []*Ledger, services []*Service, w *world, changes []string, traffic string) []*Ledger {
	t.Helper()
	at := Stamp{Commit: "c"}
	at.Time.Time = w.now.Truncate(time.Second)
	next, got, err := Plan(services, ledgers, at, w.observed())
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, c := range got {
		msgs = append(msgs, string(c.Kind)+": "+c.Message)
	}
	if diff := cmp.Diff(changes, msgs); diff != "" {
		t.Errorf("at %v: changes (-want +got):\n%s", w.now.Format("15:04:05.000"), diff)
	}
	if got := FormatTraffic(next[0].Traffic); got != traffic {
		t.Errorf("at %v: traffic %s, want %s", w.now.Format("15:04:05.000"), got, traffic)
	}
	again, more, err := Plan(services, next, at, w.observed())
	if err != nil || len(more) > 0 || !cmp.Equal(next, again) {
		t.Errorf("planning the plan again: %v %v", more, err)
	}
	// What is committed reads back equal.
	for _, l := range next {
		b, err := MarshalLedger(l)
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalLedger("ledger.yaml", b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(l, back); diff != "" {
			t.Errorf("ledger read back (-planned +read):\n%s", diff)
		}
	}
	return next
}

func TestPlanCanaryPromoted(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &world{ready: []string{"hello-00001"}, since: t0, now: t0}
	v1, v2 := []*Service{svc("a", analysed)}, []*Service{svc("b", analysed)}
	l := rolloutRun(t, nil, v1, w, []string{"revision: new revision hello-00001", "ready: revision hello-00001 is ready",
		"traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	if l[0].Rollout != nil {
		t.Fatalf("a first revision rolled out: %+v", l[0].Rollout)
	}
	w.now = t0.Add(10 * time.Second)
	l = rolloutRun(t, l, v2, w, []string{"revision: new revision hello-00002", "canary: canary hello-00002 waits to be ready (stable hello-00001)"},
		"hello-00001 at 100% (latestRevision)")
	w.now, w.ready = t0.Add(12500*time.Millisecond), []string{"hello-00001", "hello-00002"}
	l = rolloutRun(t, l, v2, w, []string{"ready: revision hello-00002 is ready", "canary: canary hello-00002 0% -> 20% (ready)",
		"traffic: hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)"},
		"hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)")
	// Not due before the period ends.
	w.now = t0.Add(14 * time.Second)
	l = rolloutRun(t, l, v2, w, nil, "hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)")
	w.now = t0.Add(14500 * time.Millisecond)
	w.figures = map[string]metric.Figures{"hello-00002": {Requests: 5}, "hello-00001": {Requests: 20}}
	l = rolloutRun(t, l, v2, w, nil, "hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)")
	w.now = t0.Add(15 * time.Second)
	w.figures = map[string]metric.Figures{"hello-00002": {Requests: 50, P99: 12 * time.Millisecond}, "hello-00001": {Requests: 200, Failures: 1}}
	l = rolloutRun(t, l, v2, w, []string{"canary: canary hello-00002 20% -> 40% (success 100.0%, p99 12ms, 50 req; stable 99.5%)",
		"traffic: hello-00001 at 60% (latestRevision), hello-00002 at 40% (latestRevision)"},
		"hello-00001 at 60% (latestRevision), hello-00002 at 40% (latestRevision)")
	w.now = t0.Add(17 * time.Second)
	l = rolloutRun(t, l, v2, w, []string{"promote: promote hello-00002 (success 100.0%, p99 12ms, 50 req; stable 99.5%)",
		"traffic: hello-00002 at 100% (latestRevision)", "retired: revision hello-00001 retired (no traffic, no tag)"},
		"hello-00002 at 100% (latestRevision)")
	if r := l[0].Rollout; r.Phase != canary.Promoted || r.Canary != "hello-00002" || r.Stable != "hello-00001" {
		t.Errorf("rollout after promotion: %+v", r)
	}
	// The next change rolls out against the promoted revision.
	w.now = t0.Add(30 * time.Second)
	l = rolloutRun(t, l, []*Service{svc("c", analysed)}, w, []string{"revision: new revision hello-00003",
		"canary: canary hello-00003 waits to be ready (stable hello-00002)"}, "hello-00002 at 100% (latestRevision)")
	_ = l
}

func TestPlanCanaryRolledBack(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &world{ready: []string{"hello-00001", "hello-00002"}, since: t0, now: t0}
	v1, v2 := []*Service{svc("a", analysed)}, []*Service{svc("b", analysed)}
	l := rolloutRun(t, nil, v1, w, []string{"revision: new revision hello-00001", "ready: revision hello-00001 is ready",
		"traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	w.now = t0.Add(10 * time.Second)
	// Ready at once: it waits, and its first step is the next pass's.
	l = rolloutRun(t, l, v2, w, []string{"revision: new revision hello-00002", "ready: revision hello-00002 is ready",
		"canary: canary hello-00002 waits to be ready (stable hello-00001)", "canary: canary hello-00002 0% -> 20% (ready)",
		"traffic: hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)"},
		"hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)")
	w.figures = map[string]metric.Figures{"hello-00002": {Requests: 40, Failures: 20}, "hello-00001": {Requests: 160}}
	w.now = t0.Add(12 * time.Second)
	l = rolloutRun(t, l, v2, w, []string{"canary: canary hello-00002 held at 20% (success 50.0%, 40 req; stable 100.0%; failed 1 of 2 checks)"},
		"hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)")
	w.now = t0.Add(14 * time.Second)
	l = rolloutRun(t, l, v2, w, []string{"rolled-back: rollback hello-00002 at 20%: success 50.0% < 99%, 2 of 2 checks; hello-00001 back to its full share",
		"traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	if r := l[0].Rollout; r.Phase != canary.RolledBack || r.Reason != "success 50.0% < 99%, 2 of 2 checks" {
		t.Errorf("rollout after rollback: %+v", r)
	}
	if failed := l[0].Revisions[1].Failed; failed == nil {
		t.Error("the rolled back revision is not marked failed")
	}
	// Never retried: the same template plans nothing, however long.
	w.now = t0.Add(time.Hour)
	l = rolloutRun(t, l, v2, w, nil, "hello-00001 at 100% (latestRevision)")
	// The next template starts a new canary against the stable revision.
	l = rolloutRun(t, l, []*Service{svc("c", analysed)}, w, []string{"revision: new revision hello-00003",
		"canary: canary hello-00003 waits to be ready (stable hello-00001)", "retired: revision hello-00002 retired (no traffic, no tag)"},
		"hello-00001 at 100% (latestRevision)")
	_ = l
}

// TestPlanCanaryReverted: a push of the stable revision's template during
// a rollout sends the canary's share back at once, in one plan.
func TestPlanCanaryReverted(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &world{ready: []string{"hello-00001", "hello-00002"}, since: t0, now: t0}
	v1, v2 := []*Service{svc("a", analysed)}, []*Service{svc("b", analysed)}
	l := rolloutRun(t, nil, v1, w, []string{"revision: new revision hello-00001", "ready: revision hello-00001 is ready",
		"traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	l = rolloutRun(t, l, v2, w, []string{"revision: new revision hello-00002", "ready: revision hello-00002 is ready",
		"canary: canary hello-00002 waits to be ready (stable hello-00001)", "canary: canary hello-00002 0% -> 20% (ready)",
		"traffic: hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)"},
		"hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)")
	w.now = t0.Add(time.Second)
	l = rolloutRun(t, l, v1, w, []string{"rolled-back: rollback hello-00002 at 20%: template reverted to hello-00001's; hello-00001 back to its full share",
		"traffic: hello-00001 at 100% (latestRevision)", "retired: revision hello-00002 retired (no traffic, no tag)"}, "hello-00001 at 100% (latestRevision)")
	if l[0].Latest != "hello-00001" || l[0].Generation != 3 || len(l[0].Revisions) != 2 {
		t.Errorf("after the revert: latest %s, generation %d, %d revisions", l[0].Latest, l[0].Generation, len(l[0].Revisions))
	}
}

// TestPlanCanaryProgressDeadline: a canary not ready within its progress
// deadline is rolled back with that reason; the stable revision never
// lost its share.
func TestPlanCanaryProgressDeadline(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &world{ready: []string{"hello-00001"}, since: t0, now: t0}
	deadline := func(s *Service) {
		s.Spec.Template.Annotations = map[string]string{"serving.knative.dev/progress-deadline": "30s"}
	}
	l := rolloutRun(t, nil, []*Service{svc("a", analysed)}, w, []string{"revision: new revision hello-00001", "ready: revision hello-00001 is ready",
		"traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	v2 := []*Service{svc("b", analysed, deadline)}
	l = rolloutRun(t, l, v2, w, []string{"revision: new revision hello-00002", "canary: canary hello-00002 waits to be ready (stable hello-00001)"},
		"hello-00001 at 100% (latestRevision)")
	w.now = t0.Add(29 * time.Second)
	if (Observed{Now: w.now}).Pending(l[0]) {
		t.Error("a pass is due before the deadline")
	}
	l = rolloutRun(t, l, v2, w, nil, "hello-00001 at 100% (latestRevision)")
	w.now = t0.Add(30 * time.Second)
	if !(Observed{Now: w.now}).Pending(l[0]) {
		t.Error("no pass is due at the deadline")
	}
	rolloutRun(t, l, v2, w, []string{"rolled-back: rollback hello-00002 at 0%: not ready within 30s (progress-deadline); hello-00001 back to its full share"},
		"hello-00001 at 100% (latestRevision)")
}

// TestPlanCanaryShare: only untagged latestRevision targets give the
// canary their share; pinned targets and tags stay.
func TestPlanCanaryShare(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &world{ready: []string{"hello-00001", "hello-00002"}, since: t0, now: t0}
	split := routes(latest(30, ""), latest(0, "current"), pin("hello-00001", 70, "stable"))
	l := rolloutRun(t, nil, []*Service{svc("a", analysed, split)}, w, []string{"revision: new revision hello-00001", "ready: revision hello-00001 is ready",
		"traffic: hello-00001 at 30% (latestRevision), hello-00001 at 0% (latestRevision, tag current), hello-00001 at 70% (tag stable)"},
		"hello-00001 at 30% (latestRevision), hello-00001 at 0% (latestRevision, tag current), hello-00001 at 70% (tag stable)")
	want := "hello-00001 at 10% (latestRevision), hello-00002 at 20% (latestRevision), hello-00001 at 0% (latestRevision, tag current), hello-00001 at 70% (tag stable)"
	l = rolloutRun(t, l, []*Service{svc("b", analysed, split)}, w, []string{"revision: new revision hello-00002", "ready: revision hello-00002 is ready",
		"canary: canary hello-00002 waits to be ready (stable hello-00001)", "canary: canary hello-00002 0% -> 20% (ready)", "traffic: " + want}, want)
	w.figures = map[string]metric.Figures{"hello-00002": {Requests: 40}}
	w.now = t0.Add(2 * time.Second)
	want = "hello-00002 at 30% (latestRevision), hello-00001 at 0% (latestRevision, tag current), hello-00001 at 70% (tag stable)"
	l = rolloutRun(t, l, []*Service{svc("b", analysed, split)}, w, []string{"canary: canary hello-00002 20% -> 40% (success 100.0%, 40 req; stable 100.0%)", "traffic: " + want}, want)
	if strings.Contains(FormatTraffic(l[0].Traffic), "hello-00001 at 0% (latestRevision)") {
		t.Error("an empty stable share is listed")
	}
}

// TestPlanCanaryNeedsLatestTraffic: a Service whose traffic is all pinned
// has nothing for a canary to take: its new revision rolls out as usual.
func TestPlanCanaryNeedsLatestTraffic(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &world{ready: []string{"hello-00001", "hello-00002"}, since: t0, now: t0}
	pinned := routes(pin("hello-00001", 100, ""), latest(0, "next"))
	l := rolloutRun(t, nil, []*Service{svc("a", analysed, routes(latest(100, "")))}, w, []string{"revision: new revision hello-00001",
		"ready: revision hello-00001 is ready", "traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	l = rolloutRun(t, l, []*Service{svc("b", analysed, pinned)}, w, []string{"revision: new revision hello-00002", "ready: revision hello-00002 is ready",
		"traffic: hello-00001 at 100%, hello-00002 at 0% (latestRevision, tag next)"}, "hello-00001 at 100%, hello-00002 at 0% (latestRevision, tag next)")
	if l[0].Rollout != nil {
		t.Errorf("a rollout with no latestRevision share: %+v", l[0].Rollout)
	}
}

// TestPlanCanaryDeploymentProgressDeadline: without the annotation, the
// canary's deadline is config-deployment's progress-deadline, recorded
// in the ledger when the rollout starts.
func TestPlanCanaryDeploymentProgressDeadline(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cfg := config.Default()
	cfg.Deployment.ProgressDeadline = 20 * time.Second
	w := &world{ready: []string{"hello-00001"}, since: t0, now: t0}
	at := Stamp{Commit: "c", Time: metav1.NewTime(t0)}
	l, _, err := plan([]*Service{svc("a", analysed)}, nil, at, w.observed(), nil, nil, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err = plan([]*Service{svc("b", analysed)}, l, at, w.observed(), nil, nil, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := l[0].Rollout; r == nil || !r.ReadyBy.Time.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("rollout %+v, want ready by %v", r, t0.Add(20*time.Second))
	}
	for _, tc := range []struct {
		after time.Duration
		want  []string
	}{
		{19 * time.Second, nil},
		{20 * time.Second, []string{"rollback hello-00002 at 0%: not ready within 20s (progress-deadline); hello-00001 back to its full share"}},
	} {
		w.now = t0.Add(tc.after)
		_, changes, err := plan([]*Service{svc("b", analysed)}, l, at, w.observed(), nil, nil, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range changes {
			if c.Kind == ChangeRolledBack {
				got = append(got, c.Message)
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("after %v (-want +got):\n%s", tc.after, diff)
		}
	}
}
