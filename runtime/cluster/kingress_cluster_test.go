//go:build unix

package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

var kingressGVR = schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "ingresses"}

// TestKIngress routes the hello example through Kourier's class with
// Knative's KIngress CRD from manifests/kingress installed: the KIngress
// applies with server-side apply (and again without a change), the
// Service is ready only once a status written as net-kourier writes it
// says Ready, with the load balancer's address, and the KIngress is
// pruned when the Service leaves.
func TestKIngress(t *testing.T) {
	kc := kourierSetup(t, "kingress")
	k := kubetest.Clients(t, kc.cfg)
	dyn, ssa, dir := kc.dyn, kc.ssa, kc.dir
	const source = "kingress"
	healthy := func(string, string) (engine.RevisionHealth, bool) {
		return engine.RevisionHealth{Ready: engine.True}, true
	}
	status := cluster.NewStatus(k, "ebb-system", source, healthy, nil)
	status.Ingress = followKIngresses(t, dyn).Health
	target := &cluster.Target{Applier: ssa, Source: source, Status: status}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target}
	ctx := t.Context()
	reconcile := func(commit string, minute int) {
		t.Helper()
		if _, err := rec.Pass(ctx, os.DirFS(dir), stamp(commit, minute), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := target.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if cs := target.LastChangeSet(); cs.Count(apply.Failed) > 0 {
			t.Fatalf("refused:\n%v", cs.Err())
		}
	}
	service := func() engine.ServiceStatus {
		t.Helper()
		status.Refresh(ctx)
		doc, err := cluster.ReadStatus(ctx, k, "ebb-system", source)
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Services) != 1 {
			t.Fatalf("status lists %d Services, want 1", len(doc.Services))
		}
		return doc.Services[0]
	}
	// shows waits (bounded) until the status shows what ok accepts, as
	// the watch delivers the KIngress's status.
	shows := func(what string, ok func(engine.ServiceStatus) bool) {
		t.Helper()
		eventually(t, func() string {
			if s := service(); !ok(s) {
				return fmt.Sprintf("%s: Ready %s (%s), load balancer %q", what, s.Ready, s.Reason, s.LoadBalancer)
			}
			return ""
		})
	}

	reconcile("c1", 0)
	if created := refNames(target.LastChangeSet().Refs(apply.Created)); !slices.Contains(created, "Ingress hello") {
		t.Fatalf("created %v, want the KIngress hello among them", created)
	}
	reconcile("c1", 0)
	if n := len(target.LastChangeSet().Refs(apply.Configured)); n != 0 {
		t.Errorf("applying the same commit again configured %d objects: %v", n, refNames(target.LastChangeSet().Refs(apply.Configured)))
	}
	if s := service(); s.Ready != engine.Unknown || !strings.Contains(s.Reason, "ingress hello") {
		t.Errorf("before its ingress controller reports: Ready %s (%s), want Unknown naming the ingress", s.Ready, s.Reason)
	}

	// net-kourier reports the KIngress not configured, then ready.
	writeKIngressStatus(t, dyn, "kingress", "hello", "False", "IngressNotConfigured", "Envoy rejected the route")
	shows("with the KIngress not configured", func(s engine.ServiceStatus) bool {
		return s.Ready == engine.False && strings.Contains(s.Reason, "IngressNotConfigured: Envoy rejected the route")
	})
	writeKIngressStatus(t, dyn, "kingress", "hello", "True", "", "")
	shows("with the KIngress ready", func(s engine.ServiceStatus) bool {
		return s.Ready == engine.True && s.LoadBalancer == "kourier.kourier-system.svc.cluster.local"
	})

	// The Service leaves: its KIngress is pruned.
	if err := os.Remove(filepath.Join(dir, "service.yaml")); err != nil {
		t.Fatal(err)
	}
	reconcile("c2", 1)
	if pruned := refNames(target.LastChangeSet().Refs(apply.Pruned)); !slices.Contains(pruned, "Ingress hello") {
		t.Errorf("pruned %v, want the KIngress hello among them", pruned)
	}
	if _, err := dyn.Resource(kingressGVR).Namespace("kingress").Get(ctx, "hello", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("KIngress after prune: %v, want NotFound", err)
	}
}

// kourierCluster is the hello example routed through Kourier's class on
// the shared apiserver, with the KIngress CRD installed.
type kourierCluster struct {
	cfg *rest.Config
	cs  kubernetes.Interface
	dyn dynamic.Interface
	ssa *apply.SSA
	dir string // the example's directory (see kourierExample)
}

// kourierSetup is a kourierCluster with the example in namespace.
func kourierSetup(t *testing.T, namespace string) *kourierCluster {
	t.Helper()
	c := kubetest.Shared(t)
	kc := &kourierCluster{}
	kc.cfg, kc.cs = counted(t, c, &writes{})
	var err error
	if kc.dyn, err = dynamic.NewForConfig(c.Config()); err != nil {
		t.Fatal(err)
	}
	installKIngressCRD(t, kc.dyn)
	if kc.ssa, err = apply.New(kc.cfg, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	kc.dir = kourierExample(t, kc.cs, namespace)
	return kc
}

// kourierExample is the hello example in namespace, which it creates,
// routed through Kourier's class: its directory.
func kourierExample(t *testing.T, cs kubernetes.Interface, namespace string) string {
	t.Helper()
	dir := copyExample(t, "hello")
	rewrite(t, filepath.Join(dir, "service.yaml"), "namespace: default", "namespace: "+namespace)
	if err := os.Rename(filepath.Join(dir, ".ebb", "default"), filepath.Join(dir, ".ebb", namespace)); err != nil {
		t.Fatal(err)
	}
	rewriteAll(t, filepath.Join(dir, ".ebb", namespace), "namespace: default", "namespace: "+namespace)
	network := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config-network, namespace: ebb-system}\ndata: {ingress-class: kourier.ingress.networking.knative.dev}\n"
	if err := os.WriteFile(filepath.Join(dir, "config-network.yaml"), []byte(network), 0o644); err != nil {
		t.Fatal(err)
	}
	mustNamespace(t, cs, namespace)
	return dir
}

// installKIngressCRD creates the CRD of manifests/kingress, unless a test
// before did, and waits (bounded) until it is established.
func installKIngressCRD(t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	if err := kubetest.InstallCRD(t.Context(), dyn, filepath.Join("..", "..", "manifests", "kingress", "ingress.yaml")); err != nil {
		t.Fatal(err)
	}
}

// followKIngresses follows the KIngresses with a watch until the test
// ends, once it has listed them.
func followKIngresses(t *testing.T, dyn dynamic.Interface) *cluster.KIngresses {
	t.Helper()
	ings := cluster.NewKIngresses(dyn, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { ings.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	if !ings.WaitForSync(t.Context()) {
		t.Fatal("the KIngress watch did not sync")
	}
	return ings
}

// writeKIngressStatus writes a KIngress's status as net-kourier does:
// the generation observed, the Ready condition, and its Services as the
// public and private load balancers.
func writeKIngressStatus(t *testing.T, dyn dynamic.Interface, namespace, name, ready, reason, message string) {
	t.Helper()
	writeKIngressBalancers(t, dyn, namespace, name, ready, reason, message,
		map[string]any{"domainInternal": "kourier.kourier-system.svc.cluster.local"},
		map[string]any{"domainInternal": "kourier-internal.kourier-system.svc.cluster.local"})
}

// writeKIngressBalancers is writeKIngressStatus with the load balancers'
// entries given.
func writeKIngressBalancers(t *testing.T, dyn dynamic.Interface, namespace, name, ready, reason, message string, public, private map[string]any) {
	t.Helper()
	ings := dyn.Resource(kingressGVR).Namespace(namespace)
	ing, err := ings.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC).Format(time.RFC3339)
	cond := func(typ string) any {
		return map[string]any{"type": typ, "status": ready, "reason": reason, "message": message, "lastTransitionTime": now}
	}
	ing.Object["status"] = map[string]any{
		"observedGeneration":  ing.GetGeneration(),
		"conditions":          []any{cond("LoadBalancerReady"), cond("NetworkConfigured"), cond("Ready")},
		"publicLoadBalancer":  map[string]any{"ingress": []any{public}},
		"privateLoadBalancer": map[string]any{"ingress": []any{private}},
	}
	if _, err := ings.UpdateStatus(t.Context(), ing, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("write the status of KIngress %s/%s: %v", namespace, name, err)
	}
}
