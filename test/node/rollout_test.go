//go:build linux

package node_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// canaryMeta is the analysis of TestCanaryOnPods's Service (docs/rollouts.md):
// checks every 2 s, the canary at 20 % then 50 % before promotion, rolled
// back at the second failed check, a check judged on 10 canary requests
// or more.
const canaryMeta = `    canary.ebb.dev/interval: 2s
    canary.ebb.dev/step-weights: "20,50"
    canary.ebb.dev/threshold: "2"
    canary.ebb.dev/min-requests: "10"
`

// TestCanaryOnPods is must-show 5's analysed canary on real pods, under a
// bounded load through the gateway (which gives the analysis its figures):
// a healthy revision steps 20 % → 50 % → promoted, no request failing; a
// revision whose app answers 500 is held and rolled back, and the gateway
// serves the stable revision alone again. Each step is a commit in the
// serving repository's git log.
func TestCanaryOnPods(t *testing.T) {
	t.Parallel()
	e := sharedEbb(t)
	tenant(t, e.n, "canary")
	const host = "web.canary.example.com"
	push := func(env map[string]string, msg string) {
		e.push(t, map[string]string{"canary/service.yaml": appService("canary", "web", nodeApp, canaryMeta, env)}, msg)
	}
	push(map[string]string{"VERSION": "v1"}, "canary: v1")
	waitFor(t, e.n, "web-00001 serving", 3*time.Minute, e.answers(host, "web-00001 (v1)"), "canary", "ebb-system")

	// The healthy canary.
	l := e.startLoad(t, host, 2, 20*time.Millisecond, 4*time.Minute, 50000)
	start := time.Now()
	push(map[string]string{"VERSION": "v2"}, "canary: v2")
	e.waitLedger(t, "canary web-00002 promoted", "promote web-00002", "canary")
	promoted := time.Since(start)
	waitFor(t, e.n, "web-00002 serving alone", time.Minute, e.answers(host, "web-00002 (v2)"), "canary")
	r := l.stop()
	steps := e.ledgerMentions(t, "web-00002")
	t.Logf("web-00002 promoted %v after its push; load: %v; its commits (oldest first):\n%s", promoted.Round(time.Millisecond), r, strings.Join(steps, "\n"))
	if len(r.failed) > 0 {
		t.Errorf("requests failed during the healthy canary: %v", r)
	}
	if r.answers["web-00001 (v1)"] == 0 || r.answers["web-00002 (v2)"] == 0 {
		t.Errorf("the load saw %v, want both revisions answering during the rollout", r.answers)
	}
	inOrder(t, steps, "web-00002 0% -> 20%", "web-00002 20% -> 50%", "promote web-00002")

	// The failing canary: web-00003 answers 500.
	l = e.startLoad(t, host, 2, 20*time.Millisecond, 4*time.Minute, 50000)
	start = time.Now()
	push(map[string]string{"VERSION": "v3", "FAIL": "1"}, "canary: v3, which fails")
	e.waitLedger(t, "canary web-00003 rolled back", "rollback web-00003", "canary")
	rolledBack := time.Since(start)
	for range 20 {
		if why := e.answers(host, "web-00002 (v2)")(t.Context()); why != "" {
			t.Fatalf("after the rollback: %s", why)
		}
	}
	r = l.stop()
	steps = e.ledgerMentions(t, "web-00003")
	t.Logf("web-00003 rolled back %v after its push; load (its 500s are the canary's): %v; its commits (oldest first):\n%s", rolledBack.Round(time.Millisecond), r, strings.Join(steps, "\n"))
	inOrder(t, steps, "web-00003 0% -> 20%", "web-00003 held at 20%", "rollback web-00003 at 20%")
	for _, f := range r.failed {
		if !strings.Contains(f.err, "status 500") || !strings.Contains(f.err, "web-00003 (v3) fails as asked") {
			t.Errorf("a failure other than web-00003's 500: %s", f.err)
		}
	}
}

// TestCrashLoop is the rest of must-show 5: a revision whose container
// exits at start is reported on the Service as Knative reports it
// (RevisionFailed, with the revision's ExitCode<N>), in the status the
// controller publishes, while the previous revision keeps serving.
func TestCrashLoop(t *testing.T) {
	t.Parallel()
	e := sharedEbb(t)
	tenant(t, e.n, "crash")
	const host = "crash.crash.example.com"
	e.push(t, map[string]string{"crash/service.yaml": appService("crash", "crash", nodeApp, "", map[string]string{"VERSION": "v1"})}, "crash: v1")
	waitFor(t, e.n, "crash-00001 serving", 3*time.Minute, e.answers(host, "crash-00001 (v1)"), "crash", "ebb-system")
	e.push(t, map[string]string{"crash/service.yaml": appService("crash", "crash", nodeApp, "", map[string]string{"VERSION": "v2", "CRASH": "3"})}, "crash: v2, which exits at start")
	const want = `RevisionFailed: Revision "crash-00002" failed with message: ExitCode3`
	var got serviceStatus
	waitFor(t, e.n, "Service crash/crash not Ready: "+want, 3*time.Minute, func(ctx context.Context) string {
		s, why := e.status(ctx, "crash", "crash")
		if why != "" {
			return why
		}
		if s.Ready != "False" || !strings.HasPrefix(s.Reason, want) {
			return fmt.Sprintf("ready %s: %s", s.Ready, s.Reason)
		}
		got = s
		return ""
	}, "crash")
	t.Logf("Service crash/crash: ready %s: %s", got.Ready, got.Reason)
	for _, r := range got.Revisions {
		t.Logf("revision %s: %d%%, ready %s %s", r.Name, r.Percent, r.Ready, r.Reason)
		if r.Name == "crash-00001" && (r.Percent != 100 || r.Ready != "True") {
			t.Errorf("revision crash-00001: %d%%, ready %s; want 100%%, True", r.Percent, r.Ready)
		}
	}
	for range 20 {
		if why := e.answers(host, "crash-00001 (v1)")(t.Context()); why != "" {
			t.Fatalf("while crash-00002 crashes: %s", why)
		}
	}
}

// waitLedger waits until a commit subject of the serving repository
// contains want.
func (e *ebb) waitLedger(t *testing.T, what, want string, namespaces ...string) {
	t.Helper()
	waitFor(t, e.n, what, 3*time.Minute, func(context.Context) string {
		if len(e.ledgerMentions(t, want)) == 0 {
			return "no commit says " + want
		}
		return ""
	}, namespaces...)
}

// ledgerMentions returns the serving repository's commit subjects that
// contain s, oldest first.
func (e *ebb) ledgerMentions(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for _, c := range e.ledger(t) {
		if strings.Contains(c, s) {
			out = append(out, c)
		}
	}
	slices.Reverse(out)
	return out
}

// inOrder checks that subjects has one containing each of want, in that
// order.
func inOrder(t *testing.T, subjects []string, want ...string) {
	t.Helper()
	i := 0
	for _, s := range subjects {
		if i < len(want) && strings.Contains(s, want[i]) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("git log: no commit saying %q after the ones before it; the commits:\n%s", want[i], strings.Join(subjects, "\n"))
	}
}
