//go:build unix

package cluster_test

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/serving"
)

// The Locator finds an object where the repository wrote it: an object
// of its own by its ref, an object ebb rendered at its Service, ledger or
// DomainMapping.
func TestLocator(t *testing.T) {
	dir := copyExample(t, "domain")
	if err := os.WriteFile(filepath.Join(dir, "objects.yaml"), []byte(`# Plain objects.
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: kube-system
data:
  a: b
`), 0o644); err != nil {
		t.Fatal(err)
	}
	tree, err := serving.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	// A ledger whose Service is gone still renders its revisions.
	tree.Sources[serving.LedgerRef("default", "gone")] = serving.Source{File: ".ebb/default/gone.yaml", Line: 1}
	obj := func(apiVersion, kind, ns, name string, labels map[string]string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		u.SetNamespace(ns)
		u.SetName(name)
		u.SetLabels(labels)
		return u
	}
	svc := map[string]string{render.LabelService: "site"}
	locate := cluster.Locator(tree)
	for _, tc := range []struct {
		name string
		u    *unstructured.Unstructured
		path string
		want string
	}{
		{"an object of the repository, at the field", obj("v1", "ConfigMap", "kube-system", "settings", nil), "metadata.namespace",
			"objects.yaml:6: metadata.namespace"},
		{"an object of the repository, as a whole", obj("v1", "ConfigMap", "kube-system", "settings", nil), "", "objects.yaml:2"},
		{"a revision's Deployment, at its Service's namespace",
			obj("apps/v1", "Deployment", "default", "site-00001-deployment", svc), "metadata.namespace", "service.yaml:7: metadata.namespace"},
		{"a rendered object's other fields are not the Service's", obj("v1", "Service", "default", "site", svc), "spec.externalName",
			"service.yaml:3"},
		{"a revision of a removed Service, at its ledger",
			obj("apps/v1", "Deployment", "default", "gone-00001-deployment", map[string]string{render.LabelService: "gone"}),
			"metadata.namespace", ".ebb/default/gone.yaml:1"},
		{"a DomainMapping's route", obj("v1", "ConfigMap", "default", "www.example.org", map[string]string{
			render.LabelDomainMapping: "www.example.org", render.LabelDomainMappingNamespace: "default"}), "metadata.namespace",
			"service.yaml:21: metadata.namespace"},
		{"nothing known", obj("v1", "ConfigMap", "default", "stray", nil), "", ""},
	} {
		if got := locate(tc.u, tc.path); got != tc.want {
			t.Errorf("%s: located at %q, want %q", tc.name, got, tc.want)
		}
	}
	if cluster.Locator(nil) != nil {
		t.Error("Locator(nil) locates")
	}
}
