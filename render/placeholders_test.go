package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ebb-dev/ebb/serving"
)

// placeholder is a rendered placeholder Service, and its Endpoints when
// it has them.
type placeholder struct {
	Type         corev1.ServiceType
	ClusterIP    string
	ExternalName string
	Ports        string // name:port->targetPort, ...
	Endpoints    string // ip:name:port, ...
}

// placeholdersOf renders hello (its traffic tagged "next" as well)
// for class, with the edge's report lb, and returns its placeholders by
// name.
func placeholdersOf(t *testing.T, class string, lb serving.LoadBalancer) map[string]placeholder {
	t.Helper()
	s := testService("hello")
	s.Annotations = map[string]string{AnnotationIngressClass: class}
	l := testLedger(s)
	l.Traffic = append(l.Traffic, serving.Target{RevisionName: l.Latest, Tag: "next"})
	in := Input{Services: []*serving.Service{s}, Ledgers: []*serving.Ledger{l},
		Programmed: serving.Programmed{"default/hello": {Generation: 1, ProgrammedGeneration: 1, LoadBalancer: lb}}}
	objs, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]placeholder{}
	for _, o := range objs {
		if o.GetKind() != "Service" && o.GetKind() != "Endpoints" || strings.HasPrefix(o.GetName(), "hello-0") {
			continue // not a placeholder's: a revision's
		}
		if o.GetLabels()[LabelRoute] != "hello" {
			t.Errorf("%s %s labels %v, want the route's", o.GetKind(), o.GetName(), o.GetLabels())
		}
		p := out[o.GetName()]
		if o.GetKind() == "Service" {
			var svc corev1.Service
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &svc); err != nil {
				t.Fatal(err)
			}
			p.Type, p.ClusterIP, p.ExternalName = svc.Spec.Type, svc.Spec.ClusterIP, svc.Spec.ExternalName
			for _, port := range svc.Spec.Ports {
				p.Ports += fmt.Sprintf("%s:%d->%s ", port.Name, port.Port, port.TargetPort.String())
			}
		} else {
			var eps corev1.Endpoints
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &eps); err != nil {
				t.Fatal(err)
			}
			for _, ss := range eps.Subsets {
				for _, a := range ss.Addresses {
					for _, port := range ss.Ports {
						p.Endpoints += fmt.Sprintf("%s:%s:%d ", a.IP, port.Name, port.Port)
					}
				}
			}
		}
		out[o.GetName()] = p
	}
	return out
}

// A route's placeholder Services (its own and its tag's) follow the load
// balancer its KIngress reports, as Knative's MakeK8sService: the private
// one when it has an entry, else the public one; an IP before a
// cluster-internal domain before a domain. Until one is reported, or when
// there are several, they point where they start; the classes ebb serves
// itself read none.
func TestPlaceholdersFollowLoadBalancer(t *testing.T) {
	const (
		kourier = "kourier.ingress.networking.knative.dev"
		alb     = "alb.ingress.networking.knative.dev"
	)
	h2c := "http2:80->80 "
	external := func(target string) placeholder {
		return placeholder{Type: corev1.ServiceTypeExternalName, ExternalName: target, Ports: h2c}
	}
	both := func(p, next placeholder) map[string]placeholder {
		return map[string]placeholder{"hello": p, "next-hello": next}
	}
	headless := placeholder{Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", Ports: h2c, Endpoints: "10.0.0.7:http2:80 "}
	entry := func(in ...serving.LoadBalancerIngress) []serving.LoadBalancerIngress { return in }
	tests := []struct {
		name  string
		class string
		lb    serving.LoadBalancer
		want  map[string]placeholder
	}{
		{"kourier, nothing reported: its local gateway", kourier, serving.LoadBalancer{},
			both(external("kourier-internal.kourier-system.svc.cluster.local"), external("kourier-internal.kourier-system.svc.cluster.local"))},
		{"alb, nothing reported: the route's hosts", alb, serving.LoadBalancer{},
			both(external("hello.default.svc.cluster.local"), external("next-hello.default.svc.cluster.local"))},
		{"an IP: headless, with Endpoints at it", alb, serving.LoadBalancer{Private: entry(serving.LoadBalancerIngress{IP: "10.0.0.7", DomainInternal: "lb.internal"})},
			both(headless, headless)},
		{"a cluster-internal domain", kourier, serving.LoadBalancer{
			Public:  entry(serving.LoadBalancerIngress{Domain: "lb.example.com"}),
			Private: entry(serving.LoadBalancerIngress{DomainInternal: "envoy.contour-internal.svc.cluster.local", Domain: "lb.example.com"})},
			both(external("envoy.contour-internal.svc.cluster.local"), external("envoy.contour-internal.svc.cluster.local"))},
		{"a domain, public only", alb, serving.LoadBalancer{Public: entry(serving.LoadBalancerIngress{Domain: "lb.example.com"})},
			both(external("lb.example.com"), external("lb.example.com"))},
		{"a mesh: a ClusterIP Service", alb, serving.LoadBalancer{Public: entry(serving.LoadBalancerIngress{MeshOnly: true})},
			both(placeholder{Type: corev1.ServiceTypeClusterIP, Ports: "http:80->80 "}, placeholder{Type: corev1.ServiceTypeClusterIP, Ports: "http:80->80 "})},
		{"two entries: as they start", alb, serving.LoadBalancer{Private: entry(serving.LoadBalancerIngress{IP: "10.0.0.7"}, serving.LoadBalancerIngress{IP: "10.0.0.8"})},
			both(external("hello.default.svc.cluster.local"), external("next-hello.default.svc.cluster.local"))},
		{"an empty entry: as they start", kourier, serving.LoadBalancer{Private: entry(serving.LoadBalancerIngress{})},
			both(external("kourier-internal.kourier-system.svc.cluster.local"), external("kourier-internal.kourier-system.svc.cluster.local"))},
		{"the ebb class reads none", "ebb", serving.LoadBalancer{Private: entry(serving.LoadBalancerIngress{IP: "10.0.0.7"})},
			both(external("ebb-gateway.ebb-system.svc.cluster.local"), external("ebb-gateway.ebb-system.svc.cluster.local"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, placeholdersOf(t, tt.class, tt.lb)); diff != "" {
				t.Errorf("placeholders (-want +got):\n%s", diff)
			}
		})
	}
}

// PlaceholderBalancer names the KIngress whose load balancer has more
// than one entry, in Knative's words.
func TestPlaceholderBalancerSeveral(t *testing.T) {
	lb := serving.LoadBalancer{Public: []serving.LoadBalancerIngress{{IP: "10.0.0.7"}, {IP: "10.0.0.8"}}}
	_, ok, err := PlaceholderBalancer("hello", lb)
	want := "more than one ingress are specified in status(LoadBalancer) of Ingress hello"
	if ok || err == nil || err.Error() != want {
		t.Errorf("PlaceholderBalancer: %v, %v; want !ok and %q", ok, err, want)
	}
	in, ok, err := PlaceholderBalancer("hello", serving.LoadBalancer{Public: lb.Public[:1], Private: lb.Public})
	if ok || err == nil {
		t.Errorf("two private entries beside one public: %v, %v, %v; want the private ones refused", in, ok, err)
	}
}
