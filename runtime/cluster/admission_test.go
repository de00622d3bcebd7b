//go:build unix

package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/kubetest"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// TestManifestsAdmission installs the install base's RBAC and admission
// policy and checks, as the controller's ServiceAccount, that it writes
// only the EndpointSlices and Namespaces labelled as ebb's: it can neither
// create others, nor take over or delete someone else's. For Namespaces
// the controller is granted the RBAC too (as ebb-controller-extra lets an
// operator do), so that the policy is what refuses.
func TestManifestsAdmission(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	installRBAC(t, c)
	admin, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	const ns = "admission"
	mustNamespace(t, admin, ns)
	extra := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "admission-test-namespaces", Labels: map[string]string{"ebb.dev/aggregate-to-controller": "true"}},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "create", "update", "patch", "delete"}}},
	}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, extra, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.RbacV1().ClusterRoles().Delete(context.Background(), extra.Name, metav1.DeleteOptions{})
	})
	ctl, err := kubernetes.NewForConfig(serviceAccountConfig(t, c, "ebb-system", "ebb-controller"))
	if err != nil {
		t.Fatal(err)
	}

	slice := func(name, managedBy string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name, Labels: map[string]string{discoveryv1.LabelManagedBy: managedBy}},
			AddressType: discoveryv1.AddressTypeIPv4,
		}
	}
	namespace := func(name string, labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	ebbs := map[string]string{apply.PartOfLabel: apply.PartOf}
	// Someone else's, made by the admin.
	if _, err := admin.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice("theirs", "endpointslice-controller.k8s.io"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, namespace("admission-theirs", nil), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// The policy and the aggregated role take a moment to be in force.
	eventually(t, func() string {
		_, err := ctl.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice("probe", "someone"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "ebb-controller-owns") {
			return fmt.Sprintf("an unlabelled EndpointSlice as the controller: %v, want refused by the policy", err)
		}
		_, err = ctl.CoreV1().Namespaces().Create(ctx, namespace("admission-probe", ebbs), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return fmt.Sprintf("a labelled Namespace as the controller: %v, want allowed", err)
		}
		return ""
	})

	relabel := []byte(`{"metadata":{"labels":{"` + discoveryv1.LabelManagedBy + `":"` + proxykube.ManagedBy + `","` + apply.PartOfLabel + `":"` + apply.PartOf + `"}}}`)
	const (
		allowed = iota
		byPolicy
		byRBAC
	)
	for _, tc := range []struct {
		what string
		do   func() error
		want int
	}{
		{"create an EndpointSlice labelled as ebb's", func() error {
			_, err := ctl.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice("ours", proxykube.ManagedBy), metav1.CreateOptions{})
			return err
		}, allowed},
		{"create an EndpointSlice labelled as another controller's", func() error {
			_, err := ctl.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice("fake", "endpointslice-controller.k8s.io"), metav1.CreateOptions{})
			return err
		}, byPolicy},
		{"label someone else's EndpointSlice as ebb's", func() error {
			_, err := ctl.DiscoveryV1().EndpointSlices(ns).Patch(ctx, "theirs", types.MergePatchType, relabel, metav1.PatchOptions{})
			return err
		}, byPolicy},
		// (RBAC already refuses: the controller deletes no EndpointSlice.)
		{"delete someone else's EndpointSlice", func() error {
			return ctl.DiscoveryV1().EndpointSlices(ns).Delete(ctx, "theirs", metav1.DeleteOptions{})
		}, byRBAC},
		{"update its own EndpointSlice", func() error {
			_, err := ctl.DiscoveryV1().EndpointSlices(ns).Patch(ctx, "ours", types.MergePatchType, []byte(`{"metadata":{"labels":{"ebb.dev/mode":"serve"}}}`), metav1.PatchOptions{})
			return err
		}, allowed},
		{"create a Namespace not labelled as ebb's", func() error {
			_, err := ctl.CoreV1().Namespaces().Create(ctx, namespace("admission-unlabelled", nil), metav1.CreateOptions{})
			return err
		}, byPolicy},
		{"label someone else's Namespace as ebb's", func() error {
			_, err := ctl.CoreV1().Namespaces().Patch(ctx, "admission-theirs", types.MergePatchType, relabel, metav1.PatchOptions{})
			return err
		}, byPolicy},
		{"delete someone else's Namespace", func() error {
			return ctl.CoreV1().Namespaces().Delete(ctx, "admission-theirs", metav1.DeleteOptions{})
		}, byPolicy},
		{"create a Namespace labelled as ebb's", func() error {
			_, err := ctl.CoreV1().Namespaces().Create(ctx, namespace("admission-ours", ebbs), metav1.CreateOptions{})
			return err
		}, allowed},
		{"delete its own Namespace", func() error {
			return ctl.CoreV1().Namespaces().Delete(ctx, "admission-ours", metav1.DeleteOptions{})
		}, allowed},
	} {
		err := tc.do()
		switch {
		case tc.want == allowed && err != nil:
			t.Errorf("%s: %v, want allowed", tc.what, err)
		case tc.want != allowed && !apierrors.IsForbidden(err):
			t.Errorf("%s: %v, want refused", tc.what, err)
		case tc.want == byPolicy && !strings.Contains(err.Error(), "ebb-controller-owns"):
			t.Errorf("%s: %v, want refused by ValidatingAdmissionPolicy ebb-controller-owns", tc.what, err)
		}
	}
	if s, err := admin.DiscoveryV1().EndpointSlices(ns).Get(ctx, "theirs", metav1.GetOptions{}); err != nil || s.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" {
		t.Errorf("someone else's EndpointSlice after the controller's attempts: %v %v", s.Labels, err)
	}
}
