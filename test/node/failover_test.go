//go:build linux

package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLeaderFailover is must-show 3: the controller as shipped (two
// replicas, one leading through Lease ebb-system/ebb-controller) loses its
// leading pod, deleted as `kubectl delete pod` does, while a bounded load
// runs through the gateway. No request fails; the other replica takes the
// Lease, without restarting, and applies a change pushed after the delete;
// every Deployment and Service there before is there after.
func TestLeaderFailover(t *testing.T) {
	e := sharedEbb(t)
	tenant(t, e.n, "failover")
	const host = "fo.failover.example.com"
	e.push(t, map[string]string{"failover/service.yaml": appService("failover", "fo", appImage, "", map[string]string{"VERSION": "v1"})}, "failover: v1")
	waitFor(t, e.n, "fo-00001 serving", 3*time.Minute, e.answers(host, "fo-00001 (v1)"), "failover", "ebb-system")
	waitFor(t, e.n, "both controller replicas available", 2*time.Minute, func(ctx context.Context) string {
		return available(ctx, e.cs, "ebb-system", "ebb-controller")
	}, "ebb-system")
	var old string
	waitFor(t, e.n, "a leader", time.Minute, func(ctx context.Context) (why string) {
		old, why = e.leader(ctx)
		return why
	}, "ebb-system")
	before := e.workloads(t)
	restarts := e.podRestarts(t, controllerSelector)

	l := e.startLoad(t, host, 4, 10*time.Millisecond, 3*time.Minute, 50000)
	e.loadUnderWay(t, l, 100)
	killed := time.Now()
	if err := e.cs.CoreV1().Pods("ebb-system").Delete(t.Context(), old, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete the leading pod %s: %v", old, err)
	}
	var next string
	waitFor(t, e.n, "another pod leading", 2*time.Minute, func(ctx context.Context) string {
		id, why := e.leader(ctx)
		if why != "" {
			return why
		}
		if id == old {
			return "the Lease is still " + old + "'s"
		}
		next = id
		return ""
	}, "ebb-system")
	tookOver := time.Since(killed)
	e.push(t, map[string]string{"failover/service.yaml": appService("failover", "fo", appImage, "", map[string]string{"VERSION": "v2"})}, "failover: v2, after the leader's pod was deleted")
	waitFor(t, e.n, "fo-00002 serving, applied by the new leader", 3*time.Minute, e.answers(host, "fo-00002 (v2)"), "failover", "ebb-system")
	applied := time.Since(killed)
	// A little more load on the new revision alone.
	e.loadUnderWay(t, l, l.seen()+200)
	r := l.stop()
	t.Logf("leader %s deleted; %s leads after %v; fo-00002 serving after %v; load: %v", old, next, tookOver.Round(time.Millisecond), applied.Round(time.Millisecond), r)
	if len(r.failed) > 0 {
		t.Errorf("requests failed across the failover: %v", r)
	}
	for answer := range r.answers {
		if answer != "fo-00001 (v1)" && answer != "fo-00002 (v2)" {
			t.Errorf("an answer from elsewhere: %q", answer)
		}
	}
	if got := e.podRestarts(t, controllerSelector)[next]; got != restarts[next] {
		t.Errorf("the new leader %s restarted: %d restarts, %d before", next, got, restarts[next])
	}
	after := e.workloads(t)
	if gone := missingFrom(before, after); len(gone) > 0 {
		t.Errorf("gone after the failover: %s", strings.Join(gone, ", "))
	}
	waitFor(t, e.n, "the controller back at two replicas", 2*time.Minute, func(ctx context.Context) string {
		return available(ctx, e.cs, "ebb-system", "ebb-controller")
	}, "ebb-system")
}
