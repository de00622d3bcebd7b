//go:build unix

package gatewaycmd

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/proxy/header"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/proxy/route"
)

// TestGatewayCluster feeds the cluster gateway from a real apiserver: the
// route table from a route-table ConfigMap, a revision's backends from its
// private EndpointSlice, its mode from the label on its public one. No
// request is sent to the (10.x, data-only) pod addresses.
func TestGatewayCluster(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{})
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k := kubetest.Clients(t, c.Config())
	g, err := newClusterGateway(k, clusterGatewayConfig{namespace: "apps",
		id: clusterGatewayIdentity{podName: "gw-1", activators: proxykube.ServiceRef{Namespace: "apps", Name: "ebb-gateway"}}})
	if err != nil {
		t.Fatal(err)
	}
	g.follow(ctx)

	table := `{"routes":[{"namespace":"apps","name":"hello","rules":[{"hosts":["hello.apps.example.com"],"visibility":"ExternalIP","paths":[{"splits":[{"namespace":"apps","revision":"hello-00001","percent":100}]}]}]}],` +
		`"revisions":[{"namespace":"apps","name":"hello-00001","service":"hello","protocol":"http1","containerConcurrency":0,"timeoutSeconds":300}]}`
	if _, err := cs.CoreV1().ConfigMaps("apps").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "hello-routes", Labels: map[string]string{route.LabelKey: route.LabelValue, route.ManagedByKey: route.ManagedByValue}},
		Data:       map[string]string{route.DataKey: table},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claim := route.Claim{Host: "hello.apps.example.com", Namespace: "apps"}
	if _, err := cs.CoreV1().ConfigMaps("apps").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: route.ClaimObjectName(claim.Host), Labels: map[string]string{route.ClaimLabelKey: route.ClaimLabelValue}},
		Data:       claim.Data(),
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready := true
	slice := func(name, svc string, labels map[string]string, ips ...string) {
		t.Helper()
		es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
			AddressType: discoveryv1.AddressTypeIPv4}
		for k, v := range labels {
			es.Labels[k] = v
		}
		for i, ip := range ips {
			ep := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
			if svc == "ebb-gateway" {
				ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Name: fmt.Sprintf("gw-%d", i+1)}
			}
			es.Endpoints = append(es.Endpoints, ep)
		}
		old, err := cs.DiscoveryV1().EndpointSlices("apps").Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			old.Labels, old.Endpoints = es.Labels, es.Endpoints
			_, err = cs.DiscoveryV1().EndpointSlices("apps").Update(ctx, old, metav1.UpdateOptions{})
		} else {
			_, err = cs.DiscoveryV1().EndpointSlices("apps").Create(ctx, es, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	slice("hello-00001-private-abc", "hello-00001-private", nil, "10.1.0.7", "10.1.0.8")
	slice("hello-00001", "hello-00001", map[string]string{discoveryv1.LabelManagedBy: proxykube.ManagedBy, proxykube.ModeLabel: "serve"}, "10.1.0.7", "10.1.0.8")

	var last string
	for range 600 {
		ns, rev, ok := g.gw.Lookup("hello.apps.example.com", "/", http.Header{})
		addrs := g.eps.Addresses("apps", "hello-00001")
		mode := g.gw.ModeOf("apps", "hello-00001")
		last = fmt.Sprintf("lookup %s/%s %v, mode %v, addresses %v", ns, rev, ok, mode, addrs)
		if ok && rev == "hello-00001" && mode == route.Serve && cmp.Equal(addrs, []string{"10.1.0.7:8012", "10.1.0.8:8012"}) && g.ready() {
			last = ""
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != "" {
		t.Fatalf("gateway not fed from the API: %s", last)
	}

	// A revision no route table lists (routed by an HTTPRoute): the
	// activator knows it from its Deployment's queue-proxy environment.
	one := int32(1)
	if _, err := cs.AppsV1().Deployments("apps").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api-00003-deployment", Labels: map[string]string{"serving.knative.dev/revision": "api-00003"}},
		Spec: appsv1.DeploymentSpec{Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api-00003"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api-00003"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "user-container", Image: "registry.example.com/api:1"},
					{Name: "queue-proxy", Image: "registry.example.com/ebb:1", Env: []corev1.EnvVar{
						{Name: "SERVING_SERVICE", Value: "api"}, {Name: "CONTAINER_CONCURRENCY", Value: "10"},
						{Name: "REVISION_TIMEOUT_SECONDS", Value: "60"}, {Name: "QUEUE_SERVING_PORT", Value: "8013"},
						{Name: "SERVING_POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					}},
				}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := route.Revision{Namespace: "apps", Name: "api-00003", Service: "api", Protocol: route.ProtocolH2C, ContainerConcurrency: 10, TimeoutSeconds: 60}
	for range 600 {
		if got, ok := g.Revision("apps", "api-00003"); ok && got == want {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, ok := g.Revision("apps", "api-00003"); !ok || got != want {
		t.Errorf("revision facts from the Deployment = %+v %v, want %+v", got, ok, want)
	}
	if got, ok := g.Revision("apps", "hello-00001"); !ok || got.TimeoutSeconds != 300 || got.Service != "hello" {
		t.Errorf("revision facts from the route table = %+v %v", got, ok)
	}

	// The activator port: a request naming an unknown revision reaches the
	// activator (which knows no such revision); one without is routed by
	// host (and finds no route).
	h := g.activatorHandler()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://x/", nil)
	req.Header.Set(header.Revision, "nope-00001")
	req.Header.Set(header.Namespace, "apps")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "revision apps/nope-00001 not found") {
		t.Errorf("activator port, unknown revision: %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://other.example.com/", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "no route for host") {
		t.Errorf("activator port, unknown host: %d %q", rec.Code, rec.Body.String())
	}

	// Proxied through two activators, the revision's activator finds
	// itself (gw-1, by its pod's endpoint in the activators Service)
	// first of the two.
	slice("ebb-gateway-abc", "ebb-gateway", nil, "10.2.0.1", "10.2.0.2")
	slice("hello-00001", "hello-00001", map[string]string{discoveryv1.LabelManagedBy: proxykube.ManagedBy, proxykube.ModeLabel: "proxy"}, "10.2.0.2", "10.2.0.1")
	for range 600 {
		acts, self := g.peers.Activators("apps", "hello-00001")
		last = fmt.Sprintf("mode %v, activators %v, self %q", g.gw.ModeOf("apps", "hello-00001"), acts, self)
		if g.gw.ModeOf("apps", "hello-00001") == route.Proxy && cmp.Equal(acts, []string{"10.2.0.1", "10.2.0.2"}) && self == "10.2.0.1" {
			last = ""
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != "" {
		t.Errorf("activator peers not fed from the API: %s", last)
	}
}

func TestGatewayClusterFlags(t *testing.T) {
	e := Env{Getenv: func(k string) string { return map[string]string{"POD_NAMESPACE": "ebb"}[k] }}
	for _, tc := range []struct {
		args    []string
		want    proxykube.ServiceRef
		wantErr string
	}{
		{nil, proxykube.ServiceRef{Namespace: "ebb", Name: "ebb-gateway"}, ""},
		{[]string{"--activators", "edge/gw"}, proxykube.ServiceRef{Namespace: "edge", Name: "gw"}, ""},
		{[]string{"--activators", "gw"}, proxykube.ServiceRef{}, `--activators "gw": want NAMESPACE/NAME`},
		{[]string{"--activators", "edge/"}, proxykube.ServiceRef{}, `--activators "edge/": want NAMESPACE/NAME`},
	} {
		o, err := gatewayClusterFlags(e, tc.args)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.wantErr || (err == nil && o.activators != tc.want) {
			t.Errorf("%v: activators %+v, error %q; want %+v, %q", tc.args, o.activators, got, tc.want, tc.wantErr)
		}
	}
}
