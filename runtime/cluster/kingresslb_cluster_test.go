//go:build unix

package cluster_test

import (
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/serving"
)

// TestKIngressPlaceholders routes hello through Kourier's class against
// the real apiserver, with the KIngresses followed by a watch: the
// placeholder Service hello starts as an ExternalName to Kourier's local
// gateway; a private load balancer written as net-kourier writes it
// (domainInternal) makes a pass due, and the pass points the placeholder
// at it; an IP makes it a headless Service with Endpoints at the IP; a
// domain again makes it an ExternalName, and the Endpoints are pruned; a
// mesh gives it a cluster IP, and an IP after that (a cluster IP cannot
// change in place) replaces it with a new headless Service.
func TestKIngressPlaceholders(t *testing.T) {
	const ns = "kingress-lb"
	kc := kourierSetup(t, ns)
	dyn, cs, dir := kc.dyn, kc.cs, kc.dir
	ings := followKIngresses(t, dyn)
	observe := func() serving.Observed { return serving.Observed{Programmed: ings.Programmed()} }
	passes := newPasses(t, kc.ssa, "kingress-lb", dir, observe)
	var last *engine.Desired
	reconcile := func() {
		t.Helper()
		last = passes.run(stamp("c1", 0))
	}
	placeholder := func() *corev1.Service {
		t.Helper()
		svc, err := cs.CoreV1().Services(ns).Get(t.Context(), "hello", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	// balance writes the private load balancer private, waits (bounded)
	// until the watch reports it, asks whether a pass is due, and runs it.
	balance := func(private map[string]any) {
		t.Helper()
		writeKIngressBalancers(t, dyn, ns, "hello", "True", "", "", map[string]any{"domain": "hello.kingress-lb.example.com"}, private)
		eventually(t, func() string {
			if !last.ReadyPending(observe()) {
				return "no pass due for the KIngress's load balancer"
			}
			return ""
		})
		reconcile()
		if last.ReadyPending(observe()) {
			t.Error("a pass is still due once the placeholder follows the load balancer")
		}
	}

	reconcile()
	if svc := placeholder(); svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != "kourier-internal.kourier-system.svc.cluster.local" {
		t.Fatalf("before a load balancer is reported: placeholder %s to %q, want an ExternalName to Kourier's local gateway", svc.Spec.Type, svc.Spec.ExternalName)
	}

	balance(map[string]any{"domainInternal": "envoy-internal.edge-system.svc.cluster.local"})
	if svc := placeholder(); svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != "envoy-internal.edge-system.svc.cluster.local" {
		t.Errorf("with domainInternal: placeholder %s to %q, want an ExternalName to it", svc.Spec.Type, svc.Spec.ExternalName)
	}

	balance(map[string]any{"ip": "10.0.0.77"})
	if svc := placeholder(); svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ClusterIP != corev1.ClusterIPNone || svc.Spec.ExternalName != "" {
		t.Errorf("with an IP: placeholder %s, clusterIP %q, externalName %q; want a headless ClusterIP Service", svc.Spec.Type, svc.Spec.ClusterIP, svc.Spec.ExternalName)
	}
	eps, err := cs.CoreV1().Endpoints(ns).Get(t.Context(), "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("with an IP: Endpoints hello: %v", err)
	}
	if len(eps.Subsets) != 1 || len(eps.Subsets[0].Addresses) != 1 || eps.Subsets[0].Addresses[0].IP != "10.0.0.77" ||
		len(eps.Subsets[0].Ports) != 1 || eps.Subsets[0].Ports[0].Port != 80 {
		t.Errorf("with an IP: Endpoints hello %+v, want 10.0.0.77 port 80", eps.Subsets)
	}

	balance(map[string]any{"domainInternal": "envoy-internal.edge-system.svc.cluster.local"})
	if svc := placeholder(); svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != "envoy-internal.edge-system.svc.cluster.local" {
		t.Errorf("back to domainInternal: placeholder %s to %q, want an ExternalName to it", svc.Spec.Type, svc.Spec.ExternalName)
	}
	if _, err := cs.CoreV1().Endpoints(ns).Get(t.Context(), "hello", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("back to domainInternal: Endpoints hello: %v, want it pruned (NotFound)", err)
	}

	// A mesh: a Service with a cluster IP; then an IP again: the cluster
	// IP cannot change in place, so the Service is created anew, headless.
	balance(map[string]any{"meshOnly": true})
	mesh := placeholder()
	if mesh.Spec.Type != corev1.ServiceTypeClusterIP || mesh.Spec.ClusterIP == "" || mesh.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Errorf("with a mesh: placeholder %s, clusterIP %q; want a ClusterIP Service with an address", mesh.Spec.Type, mesh.Spec.ClusterIP)
	}
	balance(map[string]any{"ip": "10.0.0.78"})
	if svc := placeholder(); svc.Spec.ClusterIP != corev1.ClusterIPNone || svc.UID == mesh.UID {
		t.Errorf("from a mesh to an IP: placeholder clusterIP %q (uid %s, was %s), want a new headless Service", svc.Spec.ClusterIP, svc.UID, mesh.UID)
	}
	if _, err := cs.CoreV1().Endpoints(ns).Get(t.Context(), "hello", metav1.GetOptions{}); err != nil {
		t.Errorf("from a mesh to an IP: Endpoints hello: %v", err)
	}
}

// passes reconciles a directory and applies it through a Target.
type passes struct {
	t      *testing.T
	dir    string
	rec    *engine.Pipeline
	target *cluster.Target
}

func newPasses(t *testing.T, ssa *apply.SSA, source, dir string, observe func() serving.Observed) *passes {
	target := &cluster.Target{Applier: ssa, Source: source}
	return &passes{t: t, dir: dir, target: target, rec: &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target, Observe: observe}}
}

// run reconciles the directory at at, fails the test on any error or
// refused object, and returns the state applied.
func (p *passes) run(at serving.Stamp) *engine.Desired {
	p.t.Helper()
	res, err := p.rec.Pass(p.t.Context(), os.DirFS(p.dir), at, time.Time{})
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.target.Flush(p.t.Context()); err != nil {
		p.t.Fatal(err)
	}
	if cs := p.target.LastChangeSet(); cs.Count(apply.Failed) > 0 {
		p.t.Fatalf("refused:\n%v", cs.Err())
	}
	return res.Desired
}
