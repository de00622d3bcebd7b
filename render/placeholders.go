package render

import (
	"cmp"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/names"
)

// PlaceholderBalancer is the load balancer entry the placeholder Services
// of a route programmed from its KIngress (named ingress) follow, as
// Knative's route reconciler picks it: the private load balancer when it
// has an entry (a placeholder serves callers inside the cluster), else
// the public one. !ok when neither has an entry, or the entry names no
// address; an error when the one picked has more than one entry (Knative
// follows a single one, and leaves the placeholders as they are).
func PlaceholderBalancer(ingress string, lb serving.LoadBalancer) (in serving.LoadBalancerIngress, ok bool, err error) {
	entries := lb.Public
	if len(lb.Private) > 0 {
		entries = lb.Private
	}
	switch {
	case len(entries) == 0:
		return in, false, nil
	case len(entries) > 1:
		return in, false, fmt.Errorf("more than one ingress are specified in status(LoadBalancer) of Ingress %s", ingress)
	}
	in = entries[0]
	return in, in.IP != "" || in.DomainInternal != "" || in.Domain != "" || in.MeshOnly, nil
}

// placeholders renders the placeholder Services of a Service's route and
// its tags (hs), with the route's metadata. Those of a route programmed
// from a KIngress follow the load balancer it reports (see
// PlaceholderBalancer); until it reports one, and for the classes ebb
// serves itself, they point at the class's local gateway, else at the
// route's own host.
func (r *batch) placeholders(s *serving.Service, hs []hosts, meta routeMeta) {
	class := IngressClass(s.Annotations, r.cfg)
	var lb serving.LoadBalancerIngress
	balanced := false
	if r.cfg.Network.RendersKIngress(class) {
		// An error leaves the placeholders as they are; the Service's
		// status names it.
		lb, balanced, _ = PlaceholderBalancer(names.Ingress(s.Name), routeBalancer(r.programmed, s.Namespace, s.Name))
	}
	for _, h := range hs {
		name := strings.TrimSuffix(h.base, "."+s.Namespace)
		if len(validation.IsDNS1035Label(name)) > 0 {
			// A tag whose host name part cannot be a Service name has no
			// in-cluster placeholder; its hosts still route.
			continue
		}
		if balanced {
			svc, eps := makeBalancedPlaceholder(name, s.Namespace, lb, meta)
			r.add(svc)
			if eps != nil {
				r.add(eps)
			}
			continue
		}
		target := r.localGateway(class)
		if target == "" {
			target = cmp.Or(h.external, h.local)
		}
		r.add(makePlaceholderService(name, s.Namespace, target, meta))
	}
}

// makeBalancedPlaceholder is a placeholder Service following the load
// balancer entry lb, as Knative's MakeK8sService builds it, preferring an
// IP to a cluster-internal domain to a domain: for an IP a headless
// Service and its Endpoints at the IP; for a domain an ExternalName to
// it; for a mesh a ClusterIP Service that gives the host its name in the
// mesh.
func makeBalancedPlaceholder(name, namespace string, lb serving.LoadBalancerIngress, meta routeMeta) (*corev1.Service, *corev1.Endpoints) {
	svc := makePlaceholderService(name, namespace, "", meta)
	switch {
	case lb.IP != "":
		svc.Spec.Type, svc.Spec.ClusterIP = corev1.ServiceTypeClusterIP, corev1.ClusterIPNone
		port := svc.Spec.Ports[0]
		return svc, &corev1.Endpoints{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Endpoints"},
			ObjectMeta: *svc.ObjectMeta.DeepCopy(),
			Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: lb.IP}},
				Ports:     []corev1.EndpointPort{{Name: port.Name, Protocol: port.Protocol, Port: port.Port, AppProtocol: port.AppProtocol}},
			}},
		}
	case lb.DomainInternal != "":
		svc.Spec.ExternalName = lb.DomainInternal
	case lb.Domain != "":
		svc.Spec.ExternalName = lb.Domain
	default: // lb.MeshOnly
		svc.Spec.Type = corev1.ServiceTypeClusterIP
		svc.Spec.Ports = []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: ServiceHTTPPort, TargetPort: intstr.FromInt32(ServiceHTTPPort)}}
	}
	return svc, nil
}

// routeBalancer is the load balancer the edge of a Service's route
// reports in p: its KIngress's, named after the Service.
func routeBalancer(p serving.Programmed, namespace, service string) serving.LoadBalancer {
	if len(p) == 0 {
		return serving.LoadBalancer{}
	}
	return p[namespace+"/"+names.Ingress(service)].LoadBalancer
}
