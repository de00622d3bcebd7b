package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

// TestLoopPlaceholderFollowsEdge: a Loop following a Service routed
// through Kourier's class renders its placeholder Service to Kourier's
// local gateway; once the route's edge reports a private load balancer,
// a pass is due (ReadyPending), and it applies the placeholder pointing
// at the load balancer, rendering nothing else again.
func TestLoopPlaceholderFollowsEdge(t *testing.T) {
	f := newEdgeFixture(t)
	ctx := context.Background()
	f.user.CommitAndPush(t, map[string]string{"service.yaml": strings.Replace(helloService("World", ""), "  namespace: default\n",
		"  namespace: default\n  annotations:\n    networking.knative.dev/ingress.class: kourier\n", 1)}, "hello: through Kourier")
	if p := f.loop.SyncAt(ctx, f.now); p.Err != nil {
		t.Fatalf("first pass = %+v", p)
	}
	// placeholder is where the placeholder Service hello of the last
	// state applied points.
	placeholder := func() string {
		t.Helper()
		objs, err := f.target.last(t).All()
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.GetKind() == "Service" && o.GetName() == "hello" {
				name, _, _ := unstructured.NestedString(o.Object, "spec", "externalName")
				return name
			}
		}
		return "none"
	}
	if got := placeholder(); got != "kourier-internal.kourier-system.svc.cluster.local" {
		t.Fatalf("before the edge reports a load balancer: placeholder to %q, want Kourier's local gateway", got)
	}
	if f.loop.Main().ReadyPending(f.observed()) {
		t.Fatal("a pass is due with nothing reported")
	}

	f.edge = serving.Programmed{"default/hello": {Generation: 1, ProgrammedGeneration: 1, Revision: "hello-00001", Percent: 100,
		LoadBalancer: serving.LoadBalancer{Private: []serving.LoadBalancerIngress{{DomainInternal: "envoy.edge-system.svc.cluster.local"}}}}}
	if !f.loop.Main().ReadyPending(f.observed()) {
		t.Fatal("no pass due once the edge reports a load balancer")
	}
	f.now = f.now.Add(time.Second)
	if p := f.loop.SyncAt(ctx, f.now); p.Err != nil {
		t.Fatalf("pass = %+v", p)
	}
	if got := placeholder(); got != "envoy.edge-system.svc.cluster.local" {
		t.Errorf("with the load balancer reported: placeholder to %q, want it", got)
	}
	var again []render.Ref
	for _, o := range f.target.last(t).Objects {
		again = append(again, render.RefOf(o))
	}
	if want := (render.Ref{APIVersion: "v1", Kind: "Service", Namespace: "default", Name: "hello"}); len(again) != 1 || again[0] != want {
		t.Errorf("rendered again: %v, want the placeholder only", again)
	}
	if f.loop.Main().ReadyPending(f.observed()) {
		t.Error("a pass is still due once the placeholder follows the load balancer")
	}
}
