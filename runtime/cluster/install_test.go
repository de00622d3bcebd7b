//go:build unix

package cluster_test

import (
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ebb-dev/ebb/internal/kubetest"
)

// installManifests builds manifests/ with kustomize.
func installManifests(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	objs, err := kubetest.Kustomize(filepath.Join("..", "..", "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// tenantManifest reads manifests/tenant/ebb-applier.yaml, what a namespace
// needs for ebb to deploy into it, placed in namespace ns as
// `kubectl -n NS apply -f` places it.
func tenantManifest(t *testing.T, ns string) []*unstructured.Unstructured {
	t.Helper()
	out, err := kubetest.ReadObjects(filepath.Join("..", "..", "manifests", "tenant", "ebb-applier.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range out {
		if u.GetNamespace() != "" {
			t.Errorf("manifests/tenant/ebb-applier.yaml: %s %s names namespace %s; want none, for kubectl -n", u.GetKind(), u.GetName(), u.GetNamespace())
		}
		u.SetNamespace(ns)
	}
	if len(out) == 0 {
		t.Fatal("manifests/tenant/ebb-applier.yaml holds no object")
	}
	return out
}

// adminApply applies objs with server-side apply as the cluster's admin
// (field manager "test"), as a dry run when dryRun is set; each failure
// fails the test.
func adminApply(t *testing.T, c *kubetest.Cluster, objs []*unstructured.Unstructured, dryRun bool) {
	t.Helper()
	if err := kubetest.Apply(t.Context(), c.Config(), objs, dryRun); err != nil {
		t.Error(err)
	}
}

// installedObjects returns the objects of the install base of the given
// kinds.
func installedObjects(t *testing.T, kinds ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, o := range installManifests(t) {
		for _, k := range kinds {
			if o.GetKind() == k {
				out = append(out, o)
			}
		}
	}
	return out
}

// installRBAC installs for real the install base's ServiceAccounts,
// roles, bindings and admission policy (and ebb's namespace, which the
// install creates).
func installRBAC(t *testing.T, c *kubetest.Cluster) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	mustNamespace(t, cs, "ebb-system")
	adminApply(t, c, installedObjects(t, "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"), false)
}

// serviceAccountConfig returns a REST config that authenticates as the
// ServiceAccount ns/name with a token of its own (TokenRequest), not
// through the admin's impersonation: what it impersonates in turn is then
// checked against its own RBAC, as in a pod.
func serviceAccountConfig(t *testing.T, c *kubetest.Cluster, ns, name string) *rest.Config {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token of ServiceAccount %s/%s: %v", ns, name, err)
	}
	cfg := c.Config()
	cfg.BearerToken = tr.Status.Token
	return cfg
}
