package knativeingress

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	netv1alpha1 "knative.dev/networking/pkg/apis/networking/v1alpha1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	routeresources "knative.dev/serving/pkg/reconciler/route/resources"
	svcresources "knative.dev/serving/pkg/reconciler/service/resources"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

// TestPlaceholdersMatchKnative renders a Service with a tag through
// Kourier's class with each kind of load balancer its KIngress may
// report, and requires the placeholder Services (and Endpoints) Knative's
// route reconciler makes from the same status (MakeK8sService): names,
// labels, annotations, specs and subsets, with the API server's defaults
// filled in on both sides (ebb renders ports' protocol, target ports and
// session affinity only where Knative leaves them to the defaults). A
// status Knative refuses (more than one entry, none) leaves ebb's
// placeholders as they start.
func TestPlaceholdersMatchKnative(t *testing.T) {
	r := repo{
		name:   "a Service with a tag",
		config: map[string]map[string]string{"config-network": {"ingress-class": kourier}, "config-domain": {"example.com": ""}},
		commits: []string{service("shop", "  labels: {team: a}\n  annotations: {note: kept}\nspec:\n"+template("v1", "")+`  traffic:
    - {latestRevision: true, percent: 100}
    - {latestRevision: true, percent: 0, tag: next}
`)},
	}
	entry := func(in serving.LoadBalancerIngress) []serving.LoadBalancerIngress {
		return []serving.LoadBalancerIngress{in}
	}
	tests := []struct {
		name string
		lb   serving.LoadBalancer
	}{
		{"an IP", serving.LoadBalancer{Private: entry(serving.LoadBalancerIngress{IP: "10.0.0.7"})}},
		{"an IP before a domain", serving.LoadBalancer{Private: entry(serving.LoadBalancerIngress{IP: "10.0.0.7", DomainInternal: "lb.internal", Domain: "lb.example.com"})}},
		{"a cluster-internal domain", serving.LoadBalancer{Private: entry(serving.LoadBalancerIngress{DomainInternal: "kourier-internal.kourier-system.svc.cluster.local"})}},
		{"a domain, public only", serving.LoadBalancer{Public: entry(serving.LoadBalancerIngress{Domain: "lb.example.com"})}},
		{"private before public", serving.LoadBalancer{Public: entry(serving.LoadBalancerIngress{IP: "10.0.0.8"}), Private: entry(serving.LoadBalancerIngress{Domain: "private.example.com"})}},
		{"a mesh", serving.LoadBalancer{Public: entry(serving.LoadBalancerIngress{MeshOnly: true})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := renderEbb(r)
			if err != nil {
				t.Fatal(err)
			}
			in := render.TreeInput(st.tree, st.ledgers)
			in.Programmed = serving.Programmed{"team/shop": {LoadBalancer: tt.lb}}
			objs, err := render.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			ctx, _, err := knativeContext(r)
			if err != nil {
				t.Fatal(err)
			}
			ksvc, err := convert[servingv1.Service](st.tree.Services[0])
			if err != nil {
				t.Fatal(err)
			}
			ksvc.SetDefaults(ctx)
			route := svcresources.MakeRoute(ksvc)
			ing := &netv1alpha1.Ingress{}
			ing.Name = "shop"
			ing.Status.PublicLoadBalancer, ing.Status.PrivateLoadBalancer = knativeBalancer(tt.lb.Public), knativeBalancer(tt.lb.Private)
			for _, tag := range []string{"", "next"} {
				pair, err := routeresources.MakeK8sService(ctx, route, tag, ing, false)
				if err != nil {
					t.Fatalf("MakeK8sService(%q): %v", tag, err)
				}
				want := placeholderOf(pair.Service, pair.Endpoints)
				got := placeholderOf(ebbPlaceholder(t, objs, pair.Service.Name))
				delete(got.Labels, routeNamespaceLabel)
				delete(got.EndpointsLabels, routeNamespaceLabel)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("placeholder %s (-knative +ebb):\n%s", pair.Service.Name, diff)
				}
			}
		})
	}
}

// routeNamespaceLabel is on ebb's placeholders (they carry its routes'
// labels) and not on Knative's.
const routeNamespaceLabel = "serving.knative.dev/routeNamespace"

// knativeBalancer is a load balancer's entries in Knative's type.
func knativeBalancer(entries []serving.LoadBalancerIngress) *netv1alpha1.LoadBalancerStatus {
	if entries == nil {
		return nil
	}
	lb := &netv1alpha1.LoadBalancerStatus{}
	for _, e := range entries {
		lb.Ingress = append(lb.Ingress, netv1alpha1.LoadBalancerIngressStatus{IP: e.IP, Domain: e.Domain, DomainInternal: e.DomainInternal, MeshOnly: e.MeshOnly})
	}
	return lb
}

// ebbPlaceholder is the placeholder Service name and its Endpoints (nil
// when there are none) among ebb's objects.
func ebbPlaceholder(t *testing.T, objs []*unstructured.Unstructured, name string) (*corev1.Service, *corev1.Endpoints) {
	t.Helper()
	var svc *corev1.Service
	var eps *corev1.Endpoints
	for _, o := range objs {
		if o.GetName() != name {
			continue
		}
		var into any
		switch o.GetKind() {
		case "Service":
			svc = &corev1.Service{}
			into = svc
		case "Endpoints":
			eps = &corev1.Endpoints{}
			into = eps
		default:
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
			t.Fatal(err)
		}
	}
	if svc == nil {
		t.Fatalf("ebb renders no placeholder Service %s", name)
	}
	return svc, eps
}

// placeholder is what is compared of a placeholder: its name, labels,
// annotations and spec, and its Endpoints', with the API server's
// defaults filled in.
type placeholder struct {
	Name, EndpointsName string
	Labels, Annotations map[string]string
	EndpointsLabels     map[string]string
	Spec                corev1.ServiceSpec
	Subsets             []corev1.EndpointSubset
}

func placeholderOf(svc *corev1.Service, eps *corev1.Endpoints) placeholder {
	p := placeholder{Name: svc.Name, Labels: svc.Labels, Annotations: svc.Annotations, Spec: *svc.Spec.DeepCopy()}
	if p.Spec.SessionAffinity == "" {
		p.Spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	for i := range p.Spec.Ports {
		port := &p.Spec.Ports[i]
		if port.Protocol == "" {
			port.Protocol = corev1.ProtocolTCP
		}
		if port.TargetPort == (intstr.IntOrString{}) {
			port.TargetPort = intstr.FromInt32(port.Port)
		}
	}
	if eps != nil {
		p.EndpointsName, p.EndpointsLabels = eps.Name, eps.Labels
		p.Subsets = eps.DeepCopy().Subsets
		for i := range p.Subsets {
			for j := range p.Subsets[i].Ports {
				if p.Subsets[i].Ports[j].Protocol == "" {
					p.Subsets[i].Ports[j].Protocol = corev1.ProtocolTCP
				}
			}
		}
	}
	return p
}
