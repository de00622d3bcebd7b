package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/serving"
)

// TestLoopGradualRolloutStepsWithoutCommits: a Loop following a Service
// with rollout-duration: 20s commits the plan when the rollout starts,
// applies each step's split as its time comes with no commit, and commits
// the end.
func TestLoopGradualRolloutStepsWithoutCommits(t *testing.T) {
	f := newLoopFixture(t, false)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.loop.Observe = func() serving.Observed {
		return serving.Observed{Ready: func(string, string) bool { return true }}
	}
	if p := f.loop.SyncAt(ctx, now); p.Err != nil || p.Wrote == "" {
		t.Fatalf("first pass = %+v", p)
	}
	commits := func() int { return len(strings.Split(gittest.Run(t, f.bare, "log", "--format=%s", "main"), "\n")) }
	routed := func() string {
		t.Helper()
		return serving.FormatTraffic(f.target.last(t).Routed()[0].Traffic)
	}
	// rendered reports whether the objects the pass rendered send percent
	// to revision.
	rendered := func(revision string, percent int) bool {
		t.Helper()
		want := fmt.Sprintf(`"revision":%q,"percent":%d,`, revision, percent)
		for _, o := range f.target.last(t).Objects {
			b, err := json.Marshal(o.Object)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), strings.ReplaceAll(want, `"`, `\"`)) {
				return true
			}
		}
		return false
	}

	f.pull(t)
	gradual := strings.Replace(helloService("Ebb", ""), "  namespace: default\n",
		"  namespace: default\n  annotations:\n    serving.knative.dev/rollout-duration: 20s\n", 1)
	f.user.CommitAndPush(t, map[string]string{"service.yaml": gradual}, "hello: say Ebb, over 20 s")
	now = now.Add(time.Minute)
	p := f.loop.SyncAt(ctx, now)
	if p.Err != nil || p.Wrote == "" {
		t.Fatalf("start pass = %+v", p)
	}
	subject := gittest.Run(t, f.bare, "log", "-1", "--format=%s", "main")
	if want := "ebb: default/hello: rollout hello-00002: 1% at 12:01:00Z, +5% every 1s from 12:01:02Z, 100% at 12:01:21Z; hello-00001 99% (and 3 more)"; subject != want {
		t.Errorf("start commit %q, want %q", subject, want)
	}
	if l := f.ledger(t); l.Gradual == nil {
		t.Fatal("no plan in the committed ledger")
	}
	if got, want := routed(), "hello-00001 at 99% (latestRevision), hello-00002 at 1% (latestRevision)"; got != want {
		t.Errorf("applied at the start: %s, want %s", got, want)
	}
	started, applies := commits(), f.target.count()

	// Before the first step nothing is due; at each step the split is
	// applied again, with no commit.
	now = now.Add(1500 * time.Millisecond)
	if p := f.loop.SyncAt(ctx, now); p.Err != nil || f.target.count() != applies {
		t.Fatalf("a pass before the first step applied: %+v", p)
	}
	for _, step := range []struct {
		after time.Duration
		want  string
		share int // hello-00002's
	}{
		{2 * time.Second, "hello-00001 at 94% (latestRevision), hello-00002 at 6% (latestRevision)", 6},
		{10 * time.Second, "hello-00001 at 54% (latestRevision), hello-00002 at 46% (latestRevision)", 46},
		{20 * time.Second, "hello-00001 at 4% (latestRevision), hello-00002 at 96% (latestRevision)", 96},
	} {
		now = time.Date(2026, 12, 7, 12, 1, 0, 0, time.UTC).Add(step.after)
		p := f.loop.SyncAt(ctx, now)
		if p.Err != nil || p.Wrote != "" {
			t.Fatalf("step at %v: %+v", step.after, p)
		}
		if got := routed(); got != step.want {
			t.Errorf("applied %v after the start: %s, want %s", step.after, got, step.want)
		}
		st := Status(f.target.last(t), func(string, string) (RevisionHealth, bool) { return RevisionHealth{}, false })
		if got := serving.FormatTraffic(st[0].Traffic); got != step.want {
			t.Errorf("status %v after the start: %s, want %s", step.after, got, step.want)
		}
		if !rendered("hello-00002", step.share) {
			t.Errorf("the routes rendered %v after the start do not send %d%% to hello-00002", step.after, step.share)
		}
	}
	if n := commits(); n != started {
		t.Errorf("%d commits while stepping", n-started)
	}

	// The last step: the end is committed.
	now = time.Date(2026, 12, 7, 12, 1, 21, 0, time.UTC)
	if p := f.loop.SyncAt(ctx, now); p.Err != nil || p.Wrote == "" {
		t.Fatalf("end pass = %+v", p)
	}
	if got := gittest.Run(t, f.bare, "log", "-1", "--format=%s", "main"); !strings.HasPrefix(got, "ebb: default/hello: rollout hello-00002 done: 100%") {
		t.Errorf("end commit %q", got)
	}
	if l := f.ledger(t); l.Gradual != nil || formatTraffic(l) != "hello-00002 at 100% (latestRevision)" {
		t.Errorf("ledger after the end: traffic %s, plan %+v", formatTraffic(l), l.Gradual)
	}
	if got, want := routed(), "hello-00002 at 100% (latestRevision)"; got != want {
		t.Errorf("applied after the end: %s, want %s", got, want)
	}
	now = now.Add(time.Minute)
	applies = f.target.count()
	if p := f.loop.SyncAt(ctx, now); p.Err != nil || p.Commit != "" || f.target.count() != applies {
		t.Errorf("idle pass after the end = %+v", p)
	}
}
