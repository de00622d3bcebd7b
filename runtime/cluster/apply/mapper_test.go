package apply

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

func resourceDiscovery(kind, resource, singular string, scope apidiscoveryv2.ResourceScope) apidiscoveryv2.APIResourceDiscovery {
	return apidiscoveryv2.APIResourceDiscovery{Resource: resource, SingularResource: singular, Scope: scope,
		ResponseKind: &metav1.GroupVersionKind{Kind: kind}}
}

// discovered is a server's discovery: the core group, apps, a group
// serving two versions (v2 preferred) and one whose only version is stale.
var discovered = []apidiscoveryv2.APIGroupDiscovery{
	{ObjectMeta: metav1.ObjectMeta{Name: ""}, Versions: []apidiscoveryv2.APIVersionDiscovery{{Version: "v1", Resources: []apidiscoveryv2.APIResourceDiscovery{
		resourceDiscovery("ConfigMap", "configmaps", "configmap", apidiscoveryv2.ScopeNamespace),
		resourceDiscovery("Namespace", "namespaces", "namespace", apidiscoveryv2.ScopeCluster),
		{Resource: "bindings", Scope: apidiscoveryv2.ScopeNamespace}, // no kind: left out
	}}}},
	{ObjectMeta: metav1.ObjectMeta{Name: "apps"}, Versions: []apidiscoveryv2.APIVersionDiscovery{{Version: "v1", Resources: []apidiscoveryv2.APIResourceDiscovery{
		resourceDiscovery("Deployment", "deployments", "", apidiscoveryv2.ScopeNamespace),
	}}}},
	{ObjectMeta: metav1.ObjectMeta{Name: "example.com"}, Versions: []apidiscoveryv2.APIVersionDiscovery{
		{Version: "v2", Resources: []apidiscoveryv2.APIResourceDiscovery{resourceDiscovery("Widget", "widgets", "widget", apidiscoveryv2.ScopeNamespace)}},
		{Version: "v1", Resources: []apidiscoveryv2.APIResourceDiscovery{
			resourceDiscovery("Widget", "widgets", "widget", apidiscoveryv2.ScopeNamespace),
			resourceDiscovery("Gizmo", "gizmos", "gizmo", apidiscoveryv2.ScopeCluster),
		}},
	}},
	{ObjectMeta: metav1.ObjectMeta{Name: "metrics.example.com"}, Versions: []apidiscoveryv2.APIVersionDiscovery{
		{Version: "v1", Freshness: apidiscoveryv2.DiscoveryFreshnessStale, Resources: []apidiscoveryv2.APIResourceDiscovery{
			resourceDiscovery("Sample", "samples", "sample", apidiscoveryv2.ScopeNamespace)}},
	}},
}

func TestRESTMapper(t *testing.T) {
	m := restMapper(discovered)
	type mapping struct {
		Resource   schema.GroupVersionResource
		Namespaced bool
	}
	for _, tc := range []struct {
		gk       schema.GroupKind
		versions []string
		want     mapping
		noMatch  bool
	}{
		{gk: schema.GroupKind{Kind: "ConfigMap"}, want: mapping{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true}},
		{gk: schema.GroupKind{Kind: "Namespace"}, versions: []string{"v1"}, want: mapping{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false}},
		{gk: schema.GroupKind{Group: "apps", Kind: "Deployment"}, versions: []string{"v1"}, want: mapping{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true}},
		// The preferred version without one asked for, the one asked for otherwise.
		{gk: schema.GroupKind{Group: "example.com", Kind: "Widget"}, want: mapping{schema.GroupVersionResource{Group: "example.com", Version: "v2", Resource: "widgets"}, true}},
		{gk: schema.GroupKind{Group: "example.com", Kind: "Widget"}, versions: []string{"v1"}, want: mapping{schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}, true}},
		{gk: schema.GroupKind{Group: "example.com", Kind: "Gizmo"}, want: mapping{schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "gizmos"}, false}},
		{gk: schema.GroupKind{Group: "example.com", Kind: "Gizmo"}, versions: []string{"v2"}, noMatch: true},
		{gk: schema.GroupKind{Group: "apps", Kind: "Deployment"}, versions: []string{"v1beta1"}, noMatch: true},
		{gk: schema.GroupKind{Group: "metrics.example.com", Kind: "Sample"}, noMatch: true},
		{gk: schema.GroupKind{Kind: "Binding"}, noMatch: true},
		{gk: schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}, versions: []string{"v1"}, noMatch: true},
	} {
		got, err := m.RESTMapping(tc.gk, tc.versions...)
		if tc.noMatch {
			var nm *meta.NoKindMatchError
			if !errors.As(err, &nm) {
				t.Errorf("RESTMapping(%s, %v) = %v, %v; want a NoKindMatchError", tc.gk, tc.versions, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("RESTMapping(%s, %v): %v", tc.gk, tc.versions, err)
			continue
		}
		if diff := cmp.Diff(tc.want, mapping{got.Resource, got.Scope.Name() == meta.RESTScopeNameNamespace}); diff != "" {
			t.Errorf("RESTMapping(%s, %v) (-want +got):\n%s", tc.gk, tc.versions, diff)
		}
	}
	if gvk, err := m.KindFor(schema.GroupVersionResource{Group: "apps", Resource: "deployment"}); err != nil || gvk.Kind != "Deployment" {
		t.Errorf("KindFor(deployment.apps) = %v, %v", gvk, err)
	}
}

// A server that does not serve aggregated discovery is named in the
// error, with the version that does.
func TestMapperNeedsAggregatedDiscovery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"APIVersions","versions":["v1"]}`))
	}))
	defer srv.Close()
	m, err := NewMapper(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.RESTMapping(schema.GroupKind{Kind: "ConfigMap"})
	if err == nil || meta.IsNoMatchError(err) {
		t.Fatalf("RESTMapping against a server without aggregated discovery = %v, want its error", err)
	}
	const want = `discovery /api: answered "application/json", want aggregated discovery (apidiscovery.k8s.io/v2, Kubernetes 1.30 and later)`
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}
