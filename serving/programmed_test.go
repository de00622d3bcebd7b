package serving

import (
	"testing"
	"time"

	"github.com/ebb-dev/ebb/scaler/metric"
)

// TestPlanGradualHeldByEdge follows TestPlanGradual's 20 s rollout on a
// route whose edge (a KIngress's net-* controller) reports what it has
// programmed: a share not programmed holds the split and the rollout's
// end, with no pass due and no wake; a programmed one releases the next
// step at once, and the one after waits for the edge again (no wake); the
// end is recorded only once the edge allows it.
func TestPlanGradualHeldByEdge(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &world{ready: []string{"hello-00001"}, since: t0, now: t0}
	v1, v2 := []*Service{svc("a", gradual20s)}, []*Service{svc("b", gradual20s)}
	l := rolloutRun(t, nil, v1, w, []string{"revision: new revision hello-00001", "ready: revision hello-00001 is ready",
		"traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	start := t0.Add(12500 * time.Millisecond)
	w.now, w.ready = start, []string{"hello-00001", "hello-00002"}
	// The edge still carries hello-00001, programmed: the rollout starts
	// as without an edge.
	w.programmed = Programmed{"default/hello": {Generation: 1, ProgrammedGeneration: 1, Revision: "hello-00001", Percent: 100}}
	l = rolloutRun(t, l, v2, w, []string{"revision: new revision hello-00002", "ready: revision hello-00002 is ready",
		"rollout: rollout hello-00002: 1% at 12:00:12.500Z, +5% every 1s from 12:00:14.500Z, 100% at 12:00:33.500Z; hello-00001 99%",
		"traffic: hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)"},
		"hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)")

	notReady := Edge{Generation: 2, ProgrammedGeneration: 1, Revision: "hello-00002", Percent: 1}
	ready := notReady
	ready.ProgrammedGeneration = 2
	for _, tc := range []struct {
		name    string
		after   time.Duration
		edge    Edge
		routed  string
		wake    time.Duration // after start; 0: none
		pending bool
	}{
		{"1% not programmed, 10 s in: held", 10 * time.Second, notReady,
			"hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)", 0, false},
		{"1% programmed, 10 s in: one step", 10 * time.Second, ready,
			"hello-00001 at 94% (latestRevision), hello-00002 at 6% (latestRevision)", 0, false},
		{"1% not programmed, at the start: the plan's wake", 0, notReady,
			"hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)", 2 * time.Second, false},
		{"96% not programmed, past the end: the end waits", 30 * time.Second, Edge{Generation: 21, ProgrammedGeneration: 20, Revision: "hello-00002", Percent: 96},
			"hello-00001 at 4% (latestRevision), hello-00002 at 96% (latestRevision)", 0, false},
		{"96% programmed, past the end: the end is due", 30 * time.Second, Edge{Generation: 21, ProgrammedGeneration: 21, Revision: "hello-00002", Percent: 96},
			"hello-00002 at 100% (latestRevision)", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Programmed{"default/hello": tc.edge}
			now := start.Add(tc.after)
			if got := FormatTraffic(p.RoutedAt(l, now)[0].Traffic); got != tc.routed {
				t.Errorf("routed %s, want %s", got, tc.routed)
			}
			var wake time.Time
			if tc.wake != 0 {
				wake = start.Add(tc.wake)
			}
			if got := p.GradualWake(l, now); !got.Equal(wake) {
				t.Errorf("GradualWake = %v, want %v", got, wake)
			}
			if got := (Observed{Now: now, Programmed: p}).Pending(l[0]); got != tc.pending {
				t.Errorf("Pending = %v, want %v", got, tc.pending)
			}
		})
	}

	// Planning while the edge holds the end records nothing; once it has
	// programmed 96 %, the end.
	w.now = start.Add(30 * time.Second)
	w.programmed = Programmed{"default/hello": {Generation: 21, ProgrammedGeneration: 20, Revision: "hello-00002", Percent: 96}}
	l = rolloutRun(t, l, v2, w, nil, "hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)")
	if l[0].Gradual == nil {
		t.Fatal("the plan ended while its edge held the last step")
	}
	was := w.programmed
	w.programmed = Programmed{"default/hello": {Generation: 21, ProgrammedGeneration: 21, Revision: "hello-00002", Percent: 96}}
	if !w.observed().Released(l, was, w.now) {
		t.Error("the edge programming 96% released nothing")
	}
	if w.observed().Released(l, w.programmed, w.now) {
		t.Error("the same reports released a step")
	}
	l = rolloutRun(t, l, v2, w, []string{"rollout: rollout hello-00002 done: 100%", "traffic: hello-00002 at 100% (latestRevision)",
		"retired: revision hello-00001 retired (no traffic, no tag)"}, "hello-00002 at 100% (latestRevision)")
	if l[0].Gradual != nil {
		t.Errorf("the plan stays after the end: %+v", l[0].Gradual)
	}
}

// TestPlanCanaryHeldByEdge follows TestPlanCanaryPromoted's canary on a
// route whose edge reports what it has programmed: a passing check steps
// the canary only once the edge has programmed its weight, and promotes
// it only then; a failing one is judged at once.
func TestPlanCanaryHeldByEdge(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &world{ready: []string{"hello-00001", "hello-00002"}, since: t0, now: t0}
	v1, v2 := []*Service{svc("a", analysed)}, []*Service{svc("b", analysed)}
	l := rolloutRun(t, nil, v1, w, []string{"revision: new revision hello-00001", "ready: revision hello-00001 is ready",
		"traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	w.now = t0.Add(10 * time.Second)
	w.programmed = Programmed{"default/hello": {Generation: 1, ProgrammedGeneration: 1, Revision: "hello-00001", Percent: 100}}
	l = rolloutRun(t, l, v2, w, []string{"revision: new revision hello-00002", "ready: revision hello-00002 is ready",
		"canary: canary hello-00002 waits to be ready (stable hello-00001)", "canary: canary hello-00002 0% -> 20% (ready)",
		"traffic: hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)"},
		"hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)")
	passing := map[string]metric.Figures{"hello-00002": {Requests: 50, P99: 12 * time.Millisecond}, "hello-00001": {Requests: 200, Failures: 1}}

	// 20 % applied, not programmed: the passing check does not step.
	w.now, w.figures = t0.Add(12*time.Second), passing
	w.programmed = Programmed{"default/hello": {Generation: 2, ProgrammedGeneration: 1, Revision: "hello-00002", Percent: 20}}
	l = rolloutRun(t, l, v2, w, nil, "hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)")
	if !w.observed().Pending(l[0]) {
		t.Error("the held check is not pending")
	}
	// Programmed: it steps.
	w.programmed = Programmed{"default/hello": {Generation: 2, ProgrammedGeneration: 2, Revision: "hello-00002", Percent: 20}}
	l = rolloutRun(t, l, v2, w, []string{"canary: canary hello-00002 20% -> 40% (success 100.0%, p99 12ms, 50 req; stable 99.5%)",
		"traffic: hello-00001 at 60% (latestRevision), hello-00002 at 40% (latestRevision)"},
		"hello-00001 at 60% (latestRevision), hello-00002 at 40% (latestRevision)")
	// 40 % not programmed: no promotion.
	w.now = t0.Add(14 * time.Second)
	w.programmed = Programmed{"default/hello": {Generation: 3, ProgrammedGeneration: 2, Revision: "hello-00002", Percent: 40}}
	l = rolloutRun(t, l, v2, w, nil, "hello-00001 at 60% (latestRevision), hello-00002 at 40% (latestRevision)")
	// A failing check is judged whatever the edge reports.
	w.figures = map[string]metric.Figures{"hello-00002": {Requests: 40, Failures: 20}, "hello-00001": {Requests: 160}}
	l = rolloutRun(t, l, v2, w, []string{"canary: canary hello-00002 held at 40% (success 50.0%, 40 req; stable 100.0%; failed 1 of 2 checks)"},
		"hello-00001 at 60% (latestRevision), hello-00002 at 40% (latestRevision)")
	_ = l
}
