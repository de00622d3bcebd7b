//go:build unix

package cluster_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// TestKIngressRefused: a source whose ServiceAccount may apply what the
// hello example renders but KIngresses (the install's ebb-applier
// ClusterRole without its networking.internal.knative.dev rule) applies
// it routed through Kourier's class. RBAC refuses the KIngress, and the
// Service's status names that refusal, not Unknown "not yet reported by
// its ingress controller"; once the ServiceAccount may write KIngresses,
// the Service waits for its ingress controller again.
func TestKIngressRefused(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	const ns, source = "kingress-refused", "kingress-refused"
	admin, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	installKIngressCRD(t, dyn)
	mustNamespace(t, admin, "ebb-system")
	dir := kourierExample(t, admin, ns)

	// The applier's ClusterRole without KIngresses, bound in ns.
	var role *unstructured.Unstructured
	for _, u := range installedObjects(t, "ClusterRole") {
		if u.GetName() == "ebb-applier" {
			role = u
		}
	}
	if role == nil {
		t.Fatal("the install has no ClusterRole ebb-applier")
	}
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	var kept, kingress []any
	for _, r := range rules {
		groups, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "apiGroups")
		if slices.Contains(groups, cluster.KIngressResource.Group) {
			kingress = append(kingress, r)
		} else {
			kept = append(kept, r)
		}
	}
	if len(kingress) != 1 {
		t.Fatalf("ebb-applier has %d rules for KIngresses; want one", len(kingress))
	}
	role.SetName("ebb-applier-no-kingress")
	_ = unstructured.SetNestedSlice(role.Object, kept, "rules")
	tenant := tenantManifest(t, ns)
	for _, u := range tenant {
		if u.GetKind() == "RoleBinding" {
			_ = unstructured.SetNestedField(u.Object, role.GetName(), "roleRef", "name")
		}
	}
	adminApply(t, c, append([]*unstructured.Unstructured{role}, tenant...), false)
	t.Cleanup(func() {
		_ = admin.RbacV1().ClusterRoles().Delete(context.Background(), role.GetName(), metav1.DeleteOptions{})
	})

	ssa, err := apply.New(c.Config(), apply.Options{ServiceAccount: apply.ServiceAccount{Namespace: ns, Name: "ebb-applier"}})
	if err != nil {
		t.Fatal(err)
	}
	k := kubetest.Clients(t, c.Config())
	status := cluster.NewStatus(k, "ebb-system", source, func(string, string) (engine.RevisionHealth, bool) {
		return engine.RevisionHealth{Ready: engine.True}, true
	}, nil)
	status.Ingress = followKIngresses(t, dyn).Health
	target := &cluster.Target{Applier: ssa, Source: source, Status: status}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target}
	// failed is what the last pass could not apply.
	failed := func() []string {
		_, _ = rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{})
		return refNames(target.LastChangeSet().Refs(apply.Failed))
	}
	// RBAC takes a moment to see the new RoleBinding: until then more
	// than the KIngress fails.
	eventually(t, func() string {
		if got := failed(); !slices.Equal(got, []string{"Ingress hello"}) {
			return fmt.Sprintf("failed %v, want the KIngress hello only:\n%s", got, target.LastChangeSet())
		}
		return ""
	})
	if err := target.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	service := func() engine.ServiceStatus {
		t.Helper()
		status.Refresh(ctx)
		doc, err := cluster.ReadStatus(ctx, k, "ebb-system", source)
		if err != nil || len(doc.Services) != 1 {
			t.Fatalf("status %+v: %v; want one Service", doc, err)
		}
		return doc.Services[0]
	}
	want := "ingress hello: read: ServiceAccount " + ns + "/ebb-applier cannot read ingresses.networking.internal.knative.dev in namespace " + ns + ": "
	if s := service(); s.Ready != engine.False || !strings.HasPrefix(s.Reason, want) {
		t.Errorf("with the KIngress refused: Ready %s (%s), want False, %q…", s.Ready, s.Reason, want)
	}

	// Granted KIngresses by a Role of their own: the KIngress applies,
	// and waits for its controller.
	grant := []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
			"metadata": map[string]any{"name": "kingress", "namespace": ns}, "rules": kingress}},
		{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
			"metadata": map[string]any{"name": "kingress", "namespace": ns},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kingress"},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "ebb-applier", "namespace": ns}}}},
	}
	adminApply(t, c, grant, false)
	eventually(t, func() string {
		if got := failed(); len(got) > 0 {
			return fmt.Sprintf("failed %v", got)
		}
		return ""
	})
	if err := target.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := service(); s.Ready != engine.Unknown || s.Reason != "ingress hello: its ingress controller has not observed generation 1" {
		t.Errorf("with the KIngress applied: Ready %s (%s), want Unknown, waiting for its ingress controller", s.Ready, s.Reason)
	}
}
