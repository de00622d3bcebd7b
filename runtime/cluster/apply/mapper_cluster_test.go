//go:build unix

package apply_test

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// The Mapper reads a real apiserver's discovery: built-in kinds map with
// their scope, a kind defined after the Mapper read discovery maps once it
// is Reset, and a kind nobody defines is a NoKindMatchError.
func TestMapperDiscovery(t *testing.T) {
	e := newEnv(t, apply.Options{})
	m, err := apply.NewMapper(e.cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		gk         schema.GroupKind
		resource   schema.GroupVersionResource
		namespaced bool
	}{
		{schema.GroupKind{Kind: "ConfigMap"}, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true},
		{schema.GroupKind{Kind: "Namespace"}, schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false},
		{schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true},
		{schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}, true},
	} {
		got, err := m.RESTMapping(tc.gk)
		if err != nil {
			t.Errorf("RESTMapping(%s): %v", tc.gk, err)
			continue
		}
		if got.Resource != tc.resource || (got.Scope.Name() == meta.RESTScopeNameNamespace) != tc.namespaced {
			t.Errorf("RESTMapping(%s) = %v (scope %s), want %v (namespaced %v)", tc.gk, got.Resource, got.Scope.Name(), tc.resource, tc.namespaced)
		}
	}

	gadget := schema.GroupKind{Group: "mapper.example.com", Kind: "Gadget"}
	if _, err := m.RESTMapping(gadget, "v1"); !meta.IsNoMatchError(err) {
		t.Fatalf("RESTMapping of an undefined kind = %v, want a NoKindMatchError", err)
	}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := objects(t, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.mapper.example.com}
spec:
  group: mapper.example.com
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Cluster
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}
`)[0]
	if _, err := e.dyn.Resource(crds).Create(t.Context(), crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.dyn.Resource(crds).Delete(t.Context(), "gadgets.mapper.example.com", metav1.DeleteOptions{})
	})
	// Discovery read before the definition: still no match until a Reset.
	if _, err := m.RESTMapping(gadget, "v1"); !meta.IsNoMatchError(err) {
		t.Fatalf("RESTMapping before a Reset = %v, want a NoKindMatchError", err)
	}
	// The apiserver publishes a new kind's discovery shortly after the
	// definition is established: bounded retries.
	var got *meta.RESTMapping
	for range 300 {
		m.Reset()
		if got, err = m.RESTMapping(gadget, "v1"); !meta.IsNoMatchError(err) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("RESTMapping of a defined kind after Reset: %v", err)
	}
	if want := (schema.GroupVersionResource{Group: "mapper.example.com", Version: "v1", Resource: "gadgets"}); got.Resource != want || got.Scope.Name() != meta.RESTScopeNameRoot {
		t.Errorf("RESTMapping(Gadget) = %v (scope %s), want %v, cluster-scoped", got.Resource, got.Scope.Name(), want)
	}
}
