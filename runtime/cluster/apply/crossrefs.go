package apply

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A CrossRef is a field of a namespaced object that refers to an object
// in another namespace.
type CrossRef struct {
	// Path is the field, e.g. "spec.parentRefs[0].namespace".
	Path string
	// Namespace is the namespace referred to; Name the object, when the
	// field names one.
	Namespace, Name string
}

const (
	gatewayGroup = "gateway.networking.k8s.io"
	istioGroup   = "networking.istio.io"
	rbacGroup    = "rbac.authorization.k8s.io"
)

// CrossNamespaceRefs returns the references of u to objects in namespaces
// other than its own. The references checked are:
//
//   - RoleBinding: subjects[].namespace of ServiceAccount subjects;
//   - Gateway API HTTPRoute, GRPCRoute, TLSRoute, TCPRoute and UDPRoute:
//     spec.parentRefs[].namespace, spec.rules[].backendRefs[].namespace
//     and the backendRef.namespace of requestMirror filters (of a rule or
//     of a backendRef); Gateway: spec.listeners[].tls.certificateRefs[].namespace;
//     ReferenceGrant: spec.from[].namespace (it lets another namespace in);
//   - Istio VirtualService: spec.gateways[] and the gateways[] of HTTP
//     matches ("namespace/name"), and destination and mirror hosts of the
//     form <name>.<namespace>.svc[.<domain>] in spec.http, spec.tcp and
//     spec.tls;
//   - Service of type ExternalName: spec.externalName of the form
//     <name>.<namespace>.svc[.<domain>];
//   - EndpointSlice: endpoints[].targetRef.namespace; Endpoints:
//     subsets[].addresses[] and notReadyAddresses[] targetRef.namespace;
//   - PersistentVolumeClaim: spec.dataSourceRef.namespace;
//   - ServiceAccount: secrets[].namespace.
//
// Pod templates have no such field: the ServiceAccount, Secrets,
// ConfigMaps and volumes a pod names are in its own namespace. A
// cluster-scoped object (no namespace) has none either.
func CrossNamespaceRefs(u *unstructured.Unstructured) []CrossRef {
	ns := u.GetNamespace()
	if ns == "" {
		return nil
	}
	w := refWalker{own: ns}
	gvk := u.GroupVersionKind()
	o := u.Object
	switch gk := gvk.GroupKind(); {
	case gk.Group == rbacGroup && gk.Kind == "RoleBinding":
		for i, s := range items(o, "subjects") {
			if str(s, "kind") == "ServiceAccount" {
				w.ref(fmt.Sprintf("subjects[%d].namespace", i), str(s, "namespace"), str(s, "name"))
			}
		}
	case gk.Group == gatewayGroup && strings.HasSuffix(gk.Kind, "Route"):
		spec := obj(o, "spec")
		for i, p := range items(spec, "parentRefs") {
			w.ref(fmt.Sprintf("spec.parentRefs[%d].namespace", i), str(p, "namespace"), str(p, "name"))
		}
		for i, rule := range items(spec, "rules") {
			at := fmt.Sprintf("spec.rules[%d]", i)
			w.mirrors(at, rule)
			for j, b := range items(rule, "backendRefs") {
				at := fmt.Sprintf("%s.backendRefs[%d]", at, j)
				w.ref(at+".namespace", str(b, "namespace"), str(b, "name"))
				w.mirrors(at, b)
			}
		}
	case gk.Group == gatewayGroup && gk.Kind == "Gateway":
		for i, l := range items(obj(o, "spec"), "listeners") {
			for j, c := range items(obj(l, "tls"), "certificateRefs") {
				w.ref(fmt.Sprintf("spec.listeners[%d].tls.certificateRefs[%d].namespace", i, j), str(c, "namespace"), str(c, "name"))
			}
		}
	case gk.Group == gatewayGroup && gk.Kind == "ReferenceGrant":
		for i, f := range items(obj(o, "spec"), "from") {
			w.ref(fmt.Sprintf("spec.from[%d].namespace", i), str(f, "namespace"), "")
		}
	case gk.Group == istioGroup && gk.Kind == "VirtualService":
		spec := obj(o, "spec")
		w.gateways("spec", spec)
		for _, proto := range []string{"http", "tcp", "tls"} {
			for i, r := range items(spec, proto) {
				at := fmt.Sprintf("spec.%s[%d]", proto, i)
				for j, m := range items(r, "match") {
					w.gateways(fmt.Sprintf("%s.match[%d]", at, j), m)
				}
				for j, d := range items(r, "route") {
					w.host(fmt.Sprintf("%s.route[%d].destination.host", at, j), str(obj(d, "destination"), "host"))
				}
				w.host(at+".mirror.host", str(obj(r, "mirror"), "host"))
			}
		}
	case gk.Group == "" && gk.Kind == "Service":
		if spec := obj(o, "spec"); str(spec, "type") == "ExternalName" {
			w.host("spec.externalName", str(spec, "externalName"))
		}
	case gk.Group == "discovery.k8s.io" && gk.Kind == "EndpointSlice":
		for i, e := range items(o, "endpoints") {
			w.target(fmt.Sprintf("endpoints[%d]", i), e)
		}
	case gk.Group == "" && gk.Kind == "Endpoints":
		for i, s := range items(o, "subsets") {
			for _, list := range []string{"addresses", "notReadyAddresses"} {
				for j, a := range items(s, list) {
					w.target(fmt.Sprintf("subsets[%d].%s[%d]", i, list, j), a)
				}
			}
		}
	case gk.Group == "" && gk.Kind == "PersistentVolumeClaim":
		d := obj(obj(o, "spec"), "dataSourceRef")
		w.ref("spec.dataSourceRef.namespace", str(d, "namespace"), str(d, "name"))
	case gk.Group == "" && gk.Kind == "ServiceAccount":
		for i, s := range items(o, "secrets") {
			w.ref(fmt.Sprintf("secrets[%d].namespace", i), str(s, "namespace"), str(s, "name"))
		}
	}
	return w.refs
}

// refWalker collects the references of an object in namespace own to
// other namespaces.
type refWalker struct {
	own  string
	refs []CrossRef
}

func (w *refWalker) ref(path, namespace, name string) {
	if namespace != "" && namespace != w.own {
		w.refs = append(w.refs, CrossRef{Path: path, Namespace: namespace, Name: name})
	}
}

// mirrors checks the requestMirror filters of a Gateway API rule or
// backendRef at path.
func (w *refWalker) mirrors(path string, m map[string]any) {
	for i, f := range items(m, "filters") {
		b := obj(obj(f, "requestMirror"), "backendRef")
		w.ref(fmt.Sprintf("%s.filters[%d].requestMirror.backendRef.namespace", path, i), str(b, "namespace"), str(b, "name"))
	}
}

// gateways checks the Istio gateways ("namespace/name"; a bare name is in
// the object's namespace, "mesh" is the sidecars) listed at path.
func (w *refWalker) gateways(path string, m map[string]any) {
	list, _ := m["gateways"].([]any)
	for i, g := range list {
		s, _ := g.(string)
		if ns, name, ok := strings.Cut(s, "/"); ok {
			w.ref(fmt.Sprintf("%s.gateways[%d]", path, i), ns, name)
		}
	}
}

// host checks a host name of the form <name>.<namespace>.svc[.<domain>].
func (w *refWalker) host(path, host string) {
	parts := strings.Split(strings.TrimSuffix(strings.ToLower(host), "."), ".")
	if len(parts) >= 3 && parts[2] == "svc" {
		w.ref(path, parts[1], parts[0])
	}
}

// target checks an endpoint's targetRef.
func (w *refWalker) target(path string, e map[string]any) {
	t := obj(e, "targetRef")
	w.ref(path+".targetRef.namespace", str(t, "namespace"), str(t, "name"))
}

// obj, items and str read unstructured content leniently: a field of
// another type than expected reads as absent (the apiserver rejects such
// objects on its own).
func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func items(m map[string]any, key string) []map[string]any {
	list, _ := m[key].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, v := range list {
		item, _ := v.(map[string]any)
		out = append(out, item)
	}
	return out
}

func str(m map[string]any, key string) string {
	v, _ := m[key].(string)
	return v
}
