package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/proxy/header"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

func TestTrafficNames(t *testing.T) {
	got := trafficNames("ns", []serving.Target{
		{RevisionName: "a-2", LatestRevision: true, Percent: 50},
		{RevisionName: "a-1", Percent: 30, Tag: "old"},
		{RevisionName: "a-2", Percent: 20, Tag: "new"},
		{RevisionName: "a-3", Percent: 0, Tag: "next"},
	})
	want := []trafficName{
		{splits: []route.Split{split("ns", "a-2", 70), split("ns", "a-1", 30)}},
		{tag: "old", splits: []route.Split{split("ns", "a-1", 100)}},
		{tag: "new", splits: []route.Split{split("ns", "a-2", 100)}},
		{tag: "next", splits: []route.Split{split("ns", "a-3", 100)}},
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(trafficName{})); d != "" {
		t.Errorf("trafficNames (-want +got):\n%s", d)
	}
}

func TestTagHeaderPaths(t *testing.T) {
	names := []trafficName{
		{splits: []route.Split{split("ns", "a-2", 100)}},
		{tag: "old", splits: []route.Split{split("ns", "a-1", 100)}},
	}
	want := []route.Path{
		{Headers: map[string]string{header.Tag: "old"}, Splits: names[1].splits},
		{AppendHeaders: map[string]string{header.DefaultRoute: "true"}, Splits: names[0].splits},
	}
	if d := cmp.Diff(want, paths(names[0], names, true)); d != "" {
		t.Errorf("main paths (-want +got):\n%s", d)
	}
	wantTag := []route.Path{{AppendHeaders: map[string]string{header.Tag: "old"}, Splits: names[1].splits}}
	if d := cmp.Diff(wantTag, paths(names[1], names, true)); d != "" {
		t.Errorf("tag paths (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]route.Path{{Splits: names[0].splits}}, paths(names[0], names, false)); d != "" {
		t.Errorf("paths without tag headers (-want +got):\n%s", d)
	}
}

func TestIngressClass(t *testing.T) {
	cfg := config.Default()
	tests := []struct {
		annotations map[string]string
		want        string
		kingress    bool
	}{
		{nil, config.IngressClassEbb, false},
		{map[string]string{AnnotationIngressClass: config.IngressClassIstio}, config.IngressClassIstio, false},
		{map[string]string{AnnotationIngressClassAlias: "gateway-api"}, config.IngressClassGatewayAPI, false},
		{map[string]string{AnnotationIngressClass: "kourier.ingress.networking.knative.dev"}, config.IngressClassKourier, true},
		{map[string]string{AnnotationIngressClass: "contour"}, config.IngressClassContour, true},
		{map[string]string{AnnotationIngressClassAlias: "alb"}, config.IngressClassALB, true},
		{map[string]string{AnnotationIngressClass: "mse"}, config.IngressClassMSE, true},
		{map[string]string{AnnotationIngressClass: "example.com/edge"}, "example.com/edge", true},
	}
	for _, tt := range tests {
		got := IngressClass(tt.annotations, cfg)
		if got != tt.want || cfg.Network.RendersKIngress(got) != tt.kingress {
			t.Errorf("IngressClass(%v) = %q (KIngress %v); want %q (KIngress %v)", tt.annotations, got, cfg.Network.RendersKIngress(got), tt.want, tt.kingress)
		}
	}
}

// find returns the rendered object of a kind and name.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) map[string]any {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o.Object
		}
	}
	var have []string
	for _, o := range objs {
		have = append(have, o.GetKind()+"/"+o.GetName())
	}
	t.Fatalf("no %s %s among %v", kind, name, have)
	return nil
}

func TestGatewayAPIRoutes(t *testing.T) {
	s := testService("hello")
	l := testLedger(s, s.Spec.Template, s.Spec.Template)
	l.Traffic = []serving.Target{{RevisionName: "hello-00002", Percent: 80}, {RevisionName: "hello-00001", Percent: 20, Tag: "old"}}
	cfg := testConfig(t, map[string]map[string]string{
		config.NetworkName: {"ingress-class": "gateway-api.ingress.networking.knative.dev"},
		config.DomainName:  {"example.com": ""},
	})
	objs, err := Render(Input{Services: []*serving.Service{s}, Ledgers: []*serving.Ledger{l}, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ext := find(t, objs, "HTTPRoute", "hello.default.example.com")
	want := map[string]any{
		"parentRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "istio-system", "name": "knative-gateway"}},
		"hostnames":  []any{"hello.default.example.com"},
		"rules": []any{map[string]any{
			"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}},
			"backendRefs": []any{
				backendRef("hello-00002", 80), backendRef("hello-00001", 20),
			},
		}},
	}
	if d := cmp.Diff(want, ext["spec"]); d != "" {
		t.Errorf("external HTTPRoute spec (-want +got):\n%s", d)
	}
	if v := ext["metadata"].(map[string]any)["labels"].(map[string]any)[LabelVisibility]; v != "" {
		t.Errorf("external route visibility label %q", v)
	}
	for name, tag := range map[string]any{"hello.default.example.com": nil, "old-hello.default.example.com": "old", "old-hello.default.svc.cluster.local": "old"} {
		if got := find(t, objs, "HTTPRoute", name)["metadata"].(map[string]any)["labels"].(map[string]any)[LabelTag]; got != tag {
			t.Errorf("HTTPRoute %s: tag label %v, want %v", name, got, tag)
		}
	}
	local := find(t, objs, "HTTPRoute", "old-hello.default.svc.cluster.local")
	spec := local["spec"].(map[string]any)
	if d := cmp.Diff([]any{"old-hello.default", "old-hello.default.svc", "old-hello.default.svc.cluster.local"}, spec["hostnames"]); d != "" {
		t.Errorf("local hostnames (-want +got):\n%s", d)
	}
	if name := spec["parentRefs"].([]any)[0].(map[string]any)["name"]; name != "knative-local-gateway" {
		t.Errorf("local parent %v", name)
	}
	find(t, objs, "HTTPRoute", "old-hello.default.example.com")
	find(t, objs, "HTTPRoute", "hello.default.svc.cluster.local")
	find(t, objs, "Service", "old-hello")
}

func backendRef(rev string, weight int64) map[string]any {
	return map[string]any{
		"group": "", "kind": "Service", "name": rev, "port": int64(80), "weight": weight,
		"filters": []any{map[string]any{
			"type": "RequestHeaderModifier",
			"requestHeaderModifier": map[string]any{"set": []any{
				map[string]any{"name": header.Namespace, "value": "default"},
				map[string]any{"name": header.Revision, "value": rev},
			}},
		}},
	}
}

func TestIstioRoutes(t *testing.T) {
	s := testService("hello")
	s.Spec.Template.Spec.Containers[0].Ports = nil
	s.Annotations = map[string]string{AnnotationIngressClass: "istio"}
	objs, err := Render(Input{Services: []*serving.Service{s}, Ledgers: []*serving.Ledger{testLedger(s)}})
	if err != nil {
		t.Fatal(err)
	}
	mesh := find(t, objs, "VirtualService", "hello-mesh")
	want := map[string]any{
		"gateways": []any{"mesh"},
		"hosts":    []any{"hello.default", "hello.default.svc", "hello.default.svc.cluster.local"},
		"http": []any{map[string]any{
			"match": []any{
				map[string]any{"authority": map[string]any{"prefix": "hello.default"}, "gateways": []any{"mesh"}},
				map[string]any{"authority": map[string]any{"prefix": "hello.default.svc"}, "gateways": []any{"mesh"}},
				map[string]any{"authority": map[string]any{"prefix": "hello.default.svc.cluster.local"}, "gateways": []any{"mesh"}},
			},
			"route": []any{map[string]any{
				"destination": map[string]any{"host": "hello-00001.default.svc.cluster.local", "port": map[string]any{"number": int64(80)}},
				"weight":      int64(100),
				"headers": map[string]any{"request": map[string]any{"set": map[string]any{
					header.Namespace: "default", header.Revision: "hello-00001",
				}}},
			}},
			"retries": map[string]any{},
		}},
	}
	if d := cmp.Diff(want, mesh["spec"]); d != "" {
		t.Errorf("mesh VirtualService (-want +got):\n%s", d)
	}
	ing := find(t, objs, "VirtualService", "hello-ingress")
	if gws := ing["spec"].(map[string]any)["gateways"]; !cmp.Equal(gws, []any{"knative-serving/knative-local-gateway"}) {
		t.Errorf("ingress gateways %v", gws)
	}
}

func TestRouteTableAndDomainMapping(t *testing.T) {
	s := testService("hello")
	s.Spec.Template.Spec.Containers[0].Ports = nil
	l := testLedger(s)
	dm := &serving.DomainMapping{}
	dm.Name, dm.Namespace = "hello.example.org", "default"
	dm.Spec.Ref = serving.KReference{Kind: "Service", Name: "hello"}
	objs, err := Render(Input{Services: []*serving.Service{s}, Ledgers: []*serving.Ledger{l}, DomainMappings: []*serving.DomainMapping{dm}})
	if err != nil {
		t.Fatal(err)
	}
	cm := find(t, objs, "ConfigMap", "hello.example.org-routes")
	labels := cm["metadata"].(map[string]any)["labels"].(map[string]any)
	if labels[route.LabelKey] != route.LabelValue {
		t.Errorf("route table labels %v", labels)
	}
	var table route.Table
	if err := jsonUnmarshal(cm["data"].(map[string]any)[route.DataKey].(string), &table); err != nil {
		t.Fatal(err)
	}
	want := route.Table{
		Routes: []route.Route{{Namespace: "default", Name: "hello.example.org", Rules: []route.Rule{{
			Hosts: []string{"hello.example.org"}, Visibility: route.ExternalIP,
			Paths: []route.Path{{Splits: []route.Split{split("default", "hello-00001", 100)}}},
		}}}},
		Revisions: []route.Revision{{Namespace: "default", Name: "hello-00001", Service: "hello", Protocol: "http1", TimeoutSeconds: 300}},
	}
	if d := cmp.Diff(want, table); d != "" {
		t.Errorf("DomainMapping route table (-want +got):\n%s", d)
	}
}

func TestRenderErrorsAndRemoved(t *testing.T) {
	s := testService("hello")
	if _, err := Render(Input{Services: []*serving.Service{s}}); err == nil || !strings.Contains(err.Error(), "no ledger") {
		t.Errorf("service without a ledger: %v", err)
	}

	l := testLedger(s)
	l.Removed = &serving.Stamp{Commit: "gone"}
	objs, err := Render(Input{Services: []*serving.Service{s}, Ledgers: []*serving.Ledger{l}})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind()+"/"+o.GetName())
	}
	if d := cmp.Diff([]string{"Service/hello-00001", "Service/hello-00001-private", "Deployment/hello-00001-deployment"}, kinds); d != "" {
		t.Errorf("a removed Service keeps its revisions and loses its routes (-want +got):\n%s", d)
	}

	clash := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "hello-00001", "namespace": "default"},
	}}
	_, err = Render(Input{Services: []*serving.Service{s}, Ledgers: []*serving.Ledger{testLedger(s)}, Objects: []*unstructured.Unstructured{clash}})
	if !errors.Is(err, ErrDuplicate) || !strings.Contains(err.Error(), "Service default/hello-00001") {
		t.Errorf("clashing object: %v", err)
	}
}

func TestSortOrder(t *testing.T) {
	obj := func(apiVersion, kind, ns, name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name, "namespace": ns},
		}}
	}
	objs := []*unstructured.Unstructured{
		obj("networking.istio.io/v1", "VirtualService", "a", "vs"),
		obj("gateway.networking.k8s.io/v1", "HTTPRoute", "a", "r"),
		obj("example.com/v1", "Widget", "a", "w"),
		// Kinds of one name sort by group, not version; an apiVersion
		// that does not parse sorts as no kind at all, as
		// Unstructured.GroupVersionKind reads it.
		obj("b.example.com/v1", "Widget", "a", "w1"),
		obj("a.example.com/v2", "Widget", "a", "w2"),
		obj("x/y/v1", "Service", "a", "bad"),
		obj("apps/v1", "Deployment", "a", "d"),
		obj("v1", "Service", "b", "s"),
		obj("v1", "Service", "a", "s"),
		obj("v1", "ConfigMap", "a", "c"),
		obj("v1", "Secret", "a", "x"),
		obj("v1", "ServiceAccount", "a", "sa"),
		obj("v1", "Namespace", "", "a"),
	}
	if err := sortObjects(objs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, describe(o))
	}
	want := []string{
		"Namespace a", "ServiceAccount a/sa", "Secret a/x", "ConfigMap a/c", "Service a/s", "Service b/s",
		"Deployment a/d", "Service a/bad", "Widget a/w2", "Widget a/w1", "Widget a/w", "HTTPRoute a/r", "VirtualService a/vs",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
}
