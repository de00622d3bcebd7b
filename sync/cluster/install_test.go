//go:build unix

package cluster_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/ebb-dev/ebb/internal/kubetest"
)

// installManifests builds manifests/ with kustomize.
func installManifests(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join("..", "..", "manifests"))
	if err != nil {
		t.Fatalf("kustomize build manifests: %v", err)
	}
	var out []*unstructured.Unstructured
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

// tenantManifest reads manifests/tenant/ebb-applier.yaml, what a namespace
// needs for ebb to deploy into it, placed in namespace ns as
// `kubectl -n NS apply -f` places it.
func tenantManifest(t *testing.T, ns string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "tenant", "ebb-applier.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yamlutil.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			break
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetNamespace() != "" {
			t.Errorf("manifests/tenant/ebb-applier.yaml: %s %s names namespace %s; want none, for kubectl -n", u.GetKind(), u.GetName(), u.GetNamespace())
		}
		u.SetNamespace(ns)
		out = append(out, u)
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
	cfg := c.Config()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		b, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		opts := metav1.PatchOptions{FieldManager: "test", Force: new(true)}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if o.GetNamespace() != "" {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		if _, err := ri.Patch(t.Context(), o.GetName(), types.ApplyPatchType, b, opts); err != nil {
			t.Errorf("apply %s %s (dry run %v): %v", o.GetKind(), o.GetName(), dryRun, err)
		}
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
