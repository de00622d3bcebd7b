//go:build unix

package cluster_test

import (
	"fmt"
	"os"
	"slices"
	gosync "sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving/names"
)

// TestRuntimeReadyOnceRoutable: against the real apiserver and
// controller-manager, a revision whose pod is ready (its private
// Service's EndpointSlice lists it) is not ready for routing while its
// public EndpointSlice is unwritten; once the Runtime writes it (the
// pod in serve mode, or the activators in proxy mode) the revision is
// ready and OnReady is told, once, so that a pass is kicked. Before,
// the Runtime prompts the autoscaler for the revision's mode.
func TestRuntimeReadyOnceRoutable(t *testing.T) {
	c := kubetest.Shared(t)
	for _, tc := range []struct {
		mode   route.Mode
		acts   []string
		wantIn string // an address the public slice must list
	}{
		{route.Serve, nil, "10.7.0.1"},
		{route.Proxy, []string{"10.7.9.1"}, "10.7.9.1"},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			ctx := t.Context()
			ns := "ready-" + tc.mode.String()
			cfg, cs := counted(t, c, &writes{})
			k := kubetest.Clients(t, cfg)
			dir := helloIn(t, cs, ns)
			acts := activators(t, cs, ns+"-system", tc.acts...)
			ssa, err := apply.New(cfg, apply.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: &cluster.Target{Applier: ssa, Source: ns}}
			if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
				t.Fatal(err)
			}
			var mu gosync.Mutex
			var told, prompted []string
			note := func(to *[]string) func(scaler.RevisionKey) {
				return func(key scaler.RevisionKey) {
					mu.Lock()
					defer mu.Unlock()
					*to = append(*to, key.String())
				}
			}
			// times counts the calls of rev in a list of note's.
			times := func(list *[]string, rev scaler.RevisionKey) int {
				mu.Lock()
				defer mu.Unlock()
				n := 0
				for _, k := range *list {
					if k == rev.String() {
						n++
					}
				}
				return n
			}
			rt, eps := startRuntimeWith(t, k, cluster.RuntimeOptions{Activators: acts,
				OnReady: note(&told), Prompt: note(&prompted)})
			rev := scaler.RevisionKey{Namespace: ns, Name: "hello-00001"}

			// The pod is ready, by its private Service's endpoints and by
			// its Deployment; no mode is set, so nothing writes the public
			// slice.
			ips := map[string]string{}
			eventually(t, func() string {
				runPods(t, cs, ns, rev.Name, ips, "10.7.0")
				if got := eps.Private(ns, rev.Name); len(got) != 1 {
					return fmt.Sprintf("private endpoints %v, want the pod's", got)
				}
				d, err := cs.AppsV1().Deployments(ns).Get(ctx, names.Deployment(rev.Name), metav1.GetOptions{})
				if err != nil || d.Status.ReadyReplicas != 1 {
					return fmt.Sprintf("Deployment not ready: %v", err)
				}
				return ""
			})
			// The autoscaler is prompted for the revision's mode.
			eventually(t, func() string {
				if times(&prompted, rev) == 0 {
					return "Prompt not called"
				}
				return ""
			})
			if rt.Observed().Ready(ns, rev.Name) {
				t.Fatal("ready before its public EndpointSlice is written")
			}
			if _, ok := eps.Public(ns, rev.Name); ok {
				t.Fatal("a public EndpointSlice written with no mode set")
			}

			if err := rt.SetMode(ctx, rev, tc.mode, 1); err != nil {
				t.Fatal(err)
			}
			// (The Runtime is told of revisions of other tests too.)
			eventually(t, func() string {
				if n := times(&told, rev); n != 1 {
					return fmt.Sprintf("OnReady told %s %d times, want once", rev, n)
				}
				return ""
			})
			if !rt.Observed().Ready(ns, rev.Name) {
				t.Error("not ready once its public EndpointSlice is written")
			}
			p, _ := eps.Public(ns, rev.Name)
			if p.Mode != tc.mode || !slices.Contains(p.Addresses, tc.wantIn) {
				t.Errorf("public slice %s %v, want %s with %s", p.Mode, p.Addresses, tc.mode, tc.wantIn)
			}
		})
	}
}
