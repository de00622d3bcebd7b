//go:build unix

package render

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/ebb-dev/ebb/internal/kubetest"
)

// resources maps the kinds ebb renders to their API resources.
var resources = map[string]schema.GroupVersionResource{
	"ConfigMap":      {Version: "v1", Resource: "configmaps"},
	"Service":        {Version: "v1", Resource: "services"},
	"ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
	"Deployment":     {Group: "apps", Version: "v1", Resource: "deployments"},
	"HTTPRoute":      {Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"},
	"VirtualService": {Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"},
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// TestAPIServerAcceptsRenderedObjects creates (server-side dry run) every
// object of every example and of renders covering all builders and
// ingress classes in a real kube-apiserver, with Gateway API's own
// HTTPRoute CRD installed (its schema and CEL rules validate the routes).
func TestAPIServerAcceptsRenderedObjects(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{})
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	installCRD(ctx, t, dyn, gatewayAPICRD(t, "gateway.networking.k8s.io_httproutes.yaml"))
	installCRD(ctx, t, dyn, virtualServiceCRD())

	var objs []*unstructured.Unstructured
	for _, in := range richInputs() {
		out, err := Render(in)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, out...)
	}
	for _, dir := range examples(t) {
		out, err := Render(exampleInput(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, out...)
	}
	namespaces := map[string]bool{}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && !namespaces[ns] && ns != "default" {
			namespaces[ns] = true
			nsObj := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns},
			}}
			nsGVR := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
			if _, err := dyn.Resource(nsGVR).Create(ctx, nsObj, metav1.CreateOptions{}); err != nil {
				t.Fatalf("namespace %s: %v", ns, err)
			}
		}
	}
	kinds := map[string]int{}
	for _, o := range objs {
		gvr, ok := resources[o.GetKind()]
		if !ok {
			t.Fatalf("no resource known for %s", describe(o))
		}
		_, err := dyn.Resource(gvr).Namespace(o.GetNamespace()).Create(ctx, o, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Errorf("%s: %v", describe(o), err)
		}
		kinds[o.GetKind()]++
	}
	for kind := range resources {
		if kinds[kind] == 0 {
			t.Errorf("no %s was checked", kind)
		}
	}
}

// gatewayAPICRD reads a CRD shipped in the Gateway API module this
// repository builds against.
func gatewayAPICRD(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatalf("locate the gateway-api module: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard", file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// virtualServiceCRD is a structural stand-in for Istio's VirtualService
// CRD (Istio's API module is not a dependency): it checks the group,
// version, kind and object metadata, not Istio's schema.
func virtualServiceCRD() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "virtualservices.networking.istio.io"},
		"spec": map[string]any{
			"group": "networking.istio.io",
			"scope": "Namespaced",
			"names": map[string]any{"kind": "VirtualService", "listKind": "VirtualServiceList", "plural": "virtualservices", "singular": "virtualservice"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object",
					"properties": map[string]any{
						"spec": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true},
					},
				}},
			}},
		},
	}}
}

// installCRD creates a CRD and waits (bounded) until it is established.
func installCRD(ctx context.Context, t *testing.T, dyn dynamic.Interface, crd *unstructured.Unstructured) {
	t.Helper()
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD %s: %v", crd.GetName(), err)
	}
	for range 600 {
		got, err := dyn.Resource(crdGVR).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("CRD %s: %v", crd.GetName(), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("CRD %s was not established", crd.GetName())
}
