package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/serving"
)

// edgeFixture is a loop fixture whose Loop observes every revision
// ready, at now, with the edges' reports edge.
type edgeFixture struct {
	*loopFixture
	now  time.Time
	edge serving.Programmed
}

func newEdgeFixture(t *testing.T) *edgeFixture {
	e := &edgeFixture{loopFixture: newLoopFixture(t, false), now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	e.loop.Observe = e.observed
	return e
}

func (e *edgeFixture) observed() serving.Observed {
	return serving.Observed{Ready: func(string, string) bool { return true }, Now: e.now, Programmed: e.edge}
}

// TestLoopGradualRolloutHeldByEdge: a Loop following a Service rolled out
// over 20 s whose route's edge (a KIngress's net-* controller) reports
// what it has programmed applies no step while the first 1 % is not
// programmed, asks for no pass at the step times, and applies the next
// step on the first pass after the edge reports it programmed (which
// ReadyPending says is due).
func TestLoopGradualRolloutHeldByEdge(t *testing.T) {
	f := newEdgeFixture(t)
	ctx := context.Background()
	if p := f.loop.SyncAt(ctx, f.now); p.Err != nil || p.Wrote == "" {
		t.Fatalf("first pass = %+v", p)
	}
	routed := func() string {
		t.Helper()
		return serving.FormatTraffic(f.target.last(t).Routed()[0].Traffic)
	}
	f.pull(t)
	gradual := strings.Replace(helloService("Ebb", ""), "  namespace: default\n",
		"  namespace: default\n  annotations:\n    serving.knative.dev/rollout-duration: 20s\n", 1)
	f.user.CommitAndPush(t, map[string]string{"service.yaml": gradual}, "hello: say Ebb, over 20 s")
	f.now = f.now.Add(time.Minute)
	if p := f.loop.SyncAt(ctx, f.now); p.Err != nil || p.Wrote == "" {
		t.Fatalf("start pass = %+v", p)
	}
	start := "hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)"
	if got := routed(); got != start {
		t.Fatalf("applied at the start: %s, want %s", got, start)
	}

	// The edge carries the 1 % and has not programmed it: ten seconds on,
	// no step is applied, and none is due.
	f.edge = serving.Programmed{"default/hello": {Generation: 2, ProgrammedGeneration: 1, Revision: "hello-00002", Percent: 1}}
	f.now = f.now.Add(10 * time.Second)
	applies := f.target.count()
	if p := f.loop.SyncAt(ctx, f.now); p.Err != nil {
		t.Fatalf("held pass = %+v", p)
	}
	if got := routed(); got != start {
		t.Errorf("applied with the 1%% not programmed: %s, want %s", got, start)
	}
	if d := f.loop.Main(); d.GradualDue(f.now.Add(time.Hour)) || !d.NextRolloutCheck(f.now).IsZero() {
		t.Error("a held rollout asks for a pass at a time")
	}
	if f.loop.Main().ReadyPending(f.observed()) {
		t.Error("a pass is due with the f.edge's report unchanged")
	}

	// Programmed: a pass is due, and applies one step.
	f.edge = serving.Programmed{"default/hello": {Generation: 2, ProgrammedGeneration: 2, Revision: "hello-00002", Percent: 1}}
	if !f.loop.Main().ReadyPending(f.observed()) {
		t.Fatal("no pass due once the f.edge has programmed the 1%")
	}
	if p := f.loop.SyncAt(ctx, f.now); p.Err != nil || p.Wrote != "" {
		t.Fatalf("released pass = %+v", p)
	}
	if f.target.count() == applies {
		t.Error("the released step was not applied")
	}
	if got, want := routed(), "hello-00001 at 94% (latestRevision), hello-00002 at 6% (latestRevision)"; got != want {
		t.Errorf("applied once programmed: %s, want %s", got, want)
	}
}
