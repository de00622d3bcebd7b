//go:build unix

package cluster_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// TestKIngressHoldsRollout rolls hello out over 20 s through Kourier's
// class against the real apiserver, with the KIngresses followed by a
// watch: past the first step's time the KIngress keeps the first 1 %
// while net-kourier has not programmed it; a status written as
// net-kourier writes it reaches the watch, asks for a pass, and the pass
// moves the KIngress one step on (6 %), where it waits again, also when
// net-kourier reports it not configured.
func TestKIngressHoldsRollout(t *testing.T) {
	const ns = "kingress-rollout"
	kc := kourierSetup(t, ns)
	dyn, dir := kc.dyn, kc.dir
	rewrite(t, filepath.Join(dir, "service.yaml"), "  namespace: "+ns+"\n",
		"  namespace: "+ns+"\n  annotations:\n    serving.knative.dev/rollout-duration: 20s\n")

	changed := make(chan struct{}, 1)
	ings := cluster.NewKIngresses(dyn, nil, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { ings.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	t0 := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	now := t0
	observe := func() serving.Observed {
		return serving.Observed{Ready: func(string, string) bool { return true }, Now: now, Since: t0, Programmed: ings.Programmed()}
	}
	passes := newPasses(t, kc.ssa, "kingress-rollout", dir, observe)
	var last *engine.Desired
	reconcile := func(commit string) {
		t.Helper()
		last = passes.run(stamp(commit, int(now.Sub(t0)/time.Minute)))
	}
	// carried is the newest revision and percent of the KIngress's rollout
	// annotation, read from the apiserver.
	carried := func() (string, traffic.Percent) {
		t.Helper()
		ing, err := dyn.Resource(cluster.KIngressResource).Namespace(ns).Get(t.Context(), "hello", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rev, percent, _ := render.RolloutNewest(ing.GetAnnotations()[render.AnnotationRollout], "hello")
		return rev, percent
	}
	// seen waits (bounded) until the watch reports generation of the
	// KIngress, programmed or not.
	seen := func(programmed bool) {
		t.Helper()
		ing, err := dyn.Resource(cluster.KIngressResource).Namespace(ns).Get(t.Context(), "hello", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, func() string {
			e := ings.Programmed()[ns+"/hello"]
			if e.Generation != ing.GetGeneration() || e.Ready() != programmed {
				return "the watch has not reported the KIngress's generation yet"
			}
			return ""
		})
	}

	// report writes the KIngress's status as net-kourier does and waits
	// (bounded) until the watch tells of it.
	report := func(ready, reason, message string) {
		t.Helper()
		for len(changed) > 0 {
			<-changed
		}
		writeKIngressStatus(t, dyn, ns, "hello", ready, reason, message)
		select {
		case <-changed:
		case <-time.After(30 * time.Second):
			t.Fatal("the watch reported no change of the KIngress in 30 s")
		}
	}

	reconcile("c1")
	writeKIngressStatus(t, dyn, ns, "hello", "True", "", "")
	seen(true)

	// A new revision: the rollout starts at 1 %.
	rewrite(t, filepath.Join(dir, "service.yaml"), "value: World", "value: Ebb")
	now = t0.Add(time.Minute)
	reconcile("c2")
	if rev, percent := carried(); rev != "hello-00002" || percent != 1 {
		t.Fatalf("the rollout's start carries %s at %d%%, want hello-00002 at 1%%", rev, percent)
	}
	seen(false)

	// Ten seconds on the plan would be at 46 %: the KIngress is not
	// programmed, so it stays at 1 %.
	now = now.Add(10 * time.Second)
	reconcile("c2")
	if rev, percent := carried(); rev != "hello-00002" || percent != 1 {
		t.Fatalf("not programmed, the KIngress carries %s at %d%%, want hello-00002 held at 1%%", rev, percent)
	}
	if last.ReadyPending(observe()) {
		t.Fatal("a pass is due with the KIngress still not programmed")
	}

	// net-kourier programs it: the watch tells, a pass is due and moves
	// the KIngress one step on.
	report("True", "", "")
	seen(true)
	if !last.ReadyPending(observe()) {
		t.Fatal("no pass due once the KIngress is programmed")
	}
	reconcile("c2")
	if rev, percent := carried(); rev != "hello-00002" || percent != 6 {
		t.Fatalf("programmed, the KIngress carries %s at %d%%, want hello-00002 at 6%%", rev, percent)
	}
	seen(false)
	reconcile("c2")
	if rev, percent := carried(); percent != 6 {
		t.Fatalf("6%% not programmed yet, the KIngress carries %s at %d%%, want it held", rev, percent)
	}
	// net-kourier observes the generation and says it is not configured:
	// still held.
	report("False", "IngressNotConfigured", "Envoy rejected the route")
	reconcile("c2")
	if rev, percent := carried(); percent != 6 {
		t.Fatalf("6%% not configured, the KIngress carries %s at %d%%, want it held", rev, percent)
	}
}
