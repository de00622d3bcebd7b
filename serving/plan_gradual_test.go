package serving

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/serving/config"
)

// gradual20s rolls the Service out over 20 s.
func gradual20s(s *Service) {
	s.Annotations = map[string]string{RolloutDurationAnnotation: "20s"}
}

// routedAt is the traffic of l as it routes at now.
func routedAt(l *Ledger, now time.Time) string {
	return FormatTraffic(RoutedAt([]*Ledger{l}, now)[0].Traffic)
}

// TestPlanGradual follows a 20 s rollout through planning: one change at
// its start recording the plan, none while it steps, one at its end; the
// split between them is the plan's at each moment.
func TestPlanGradual(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &world{ready: []string{"hello-00001"}, since: t0, now: t0}
	v1, v2 := []*Service{svc("a", gradual20s)}, []*Service{svc("b", gradual20s)}
	l := rolloutRun(t, nil, v1, w, []string{"revision: new revision hello-00001", "ready: revision hello-00001 is ready",
		"traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	if l[0].Gradual != nil {
		t.Fatalf("a first revision rolled out: %+v", l[0].Gradual)
	}
	w.now = t0.Add(10 * time.Second)
	l = rolloutRun(t, l, v2, w, []string{"revision: new revision hello-00002"}, "hello-00001 at 100% (latestRevision)")

	// Ready: the rollout starts, 1 % for a second, then 5 % a second.
	start := t0.Add(12500 * time.Millisecond)
	w.now, w.ready = start, []string{"hello-00001", "hello-00002"}
	l = rolloutRun(t, l, v2, w, []string{"ready: revision hello-00002 is ready",
		"rollout: rollout hello-00002: 1% at 12:00:12.500Z, +5% every 1s from 12:00:14.500Z, 100% at 12:00:33.500Z; hello-00001 99%",
		"traffic: hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)"},
		"hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)")
	if l[0].Gradual == nil {
		t.Fatal("no plan recorded")
	}
	if w := GradualWake(l, start); !w.Equal(start.Add(2 * time.Second)) {
		t.Errorf("GradualWake at the start = %v, want the first step, 2 s later", w)
	}
	for _, tc := range []struct {
		after time.Duration
		want  string
	}{
		{0, "hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)"},
		{2 * time.Second, "hello-00001 at 94% (latestRevision), hello-00002 at 6% (latestRevision)"},
		{10 * time.Second, "hello-00001 at 54% (latestRevision), hello-00002 at 46% (latestRevision)"},
		{21 * time.Second, "hello-00002 at 100% (latestRevision)"},
	} {
		if got := routedAt(l[0], start.Add(tc.after)); got != tc.want {
			t.Errorf("routed %v after the start: %s, want %s", tc.after, got, tc.want)
		}
	}
	// While it steps, planning changes nothing: no commit per percent.
	w.now = start.Add(10 * time.Second)
	l = rolloutRun(t, l, v2, w, nil, "hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)")
	if (Observed{Now: w.now}).Pending(l[0]) {
		t.Error("a pass is pending in the middle of the rollout")
	}
	// The last step taken, a pass is due and records the end.
	w.now = start.Add(21 * time.Second)
	if !(Observed{Now: w.now}).Pending(l[0]) {
		t.Error("no pass pending at the rollout's end")
	}
	if w := GradualWake(l, start.Add(21*time.Second)); !w.Equal(start.Add(21 * time.Second)) {
		t.Errorf("GradualWake at the end = %v, want at once", w)
	}
	l = rolloutRun(t, l, v2, w, []string{"rollout: rollout hello-00002 done: 100%", "traffic: hello-00002 at 100% (latestRevision)",
		"retired: revision hello-00001 retired (no traffic, no tag)"}, "hello-00002 at 100% (latestRevision)")
	if l[0].Gradual != nil || !GradualWake(l, w.now).IsZero() {
		t.Errorf("the plan stays after the end: %+v", l[0].Gradual)
	}
}

// TestPlanGradualScope: only the untagged latestRevision share moves;
// pinned targets and tags do not; config-network's duration applies when
// the annotation is not set; an analysed Service does not roll out
// gradually; a plan that does not validate is discarded.
func TestPlanGradualScope(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	split := routes(pin("hello-00001", 50, ""), latest(50, ""), latest(0, "next"))
	network := config.Default()
	network.Network.RolloutDuration = 20 * time.Second
	w := &world{ready: []string{"hello-00001", "hello-00002"}, since: t0, now: t0}
	at := Stamp{Commit: "c"}
	at.Time.Time = t0
	l, _, err := plan([]*Service{svc("a", split)}, nil, at, w.observed(), nil, nil, nil, network)
	if err != nil {
		t.Fatal(err)
	}
	w.now = t0.Add(10 * time.Second)
	l, _, err = plan([]*Service{svc("b", split)}, l, at, w.observed(), nil, nil, nil, network)
	if err != nil {
		t.Fatal(err)
	}
	want := "hello-00001 at 50%, hello-00001 at 49% (latestRevision), hello-00002 at 1% (latestRevision), hello-00002 at 0% (latestRevision, tag next)"
	if got := FormatTraffic(l[0].Traffic); got != want {
		t.Errorf("traffic at the start: %s, want %s", got, want)
	}
	// 50 % to move: 1 % at 12:00:10, then 19 steps of round(49/19) = 3 %.
	if got, want := routedAt(l[0], t0.Add(10*time.Second)), want; got != want {
		t.Errorf("routed at the start: %s, want %s", got, want)
	}
	if got, want := routedAt(l[0], t0.Add(40*time.Second)), "hello-00001 at 50%, hello-00002 at 50% (latestRevision), hello-00002 at 0% (latestRevision, tag next)"; got != want {
		t.Errorf("routed after the end: %s, want %s", got, want)
	}

	// A bad plan is discarded: the traffic moves at once.
	bad := l[0].DeepCopy()
	bad.Gradual.Configurations[0].Percent = 101
	w.now = t0.Add(12 * time.Second)
	next, changes, err := plan([]*Service{svc("b", split)}, []*Ledger{bad}, at, w.observed(), nil, nil, nil, network)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := FormatTraffic(next[0].Traffic), "hello-00001 at 50%, hello-00002 at 50% (latestRevision), hello-00002 at 0% (latestRevision, tag next)"; got != want {
		t.Errorf("after a bad plan: %s, want %s (changes %v)", got, want, changes)
	}
	if next[0].Gradual != nil {
		t.Errorf("a bad plan stays: %+v", next[0].Gradual)
	}

	// Analysed wins over rollout-duration.
	both := func(s *Service) {
		analysed(s)
		s.Annotations[RolloutDurationAnnotation] = "20s"
	}
	w.now = t0
	l2, _, err := Plan([]*Service{svc("a", both)}, nil, at, w.observed())
	if err != nil {
		t.Fatal(err)
	}
	w.now = t0.Add(10 * time.Second)
	l2, _, err = Plan([]*Service{svc("b", both)}, l2, at, w.observed())
	if err != nil {
		t.Fatal(err)
	}
	if l2[0].Gradual != nil || l2[0].Rollout == nil {
		t.Errorf("an analysed Service rolled out gradually: gradual %+v, canary %+v", l2[0].Gradual, l2[0].Rollout)
	}
	_ = cmp.Diff
}
