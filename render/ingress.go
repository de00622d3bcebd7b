package render

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving/names"
)

// revisionFacts finds the rendered revision a split points at.
type revisionFacts func(namespace, name string) (*revision, bool)

// routeMeta is the metadata shared by the objects of one route.
type routeMeta struct {
	labels, annotations map[string]string
	// ruleTags names the traffic tag of each rule of the route, "" for
	// the main route; nil when the route has no tags (DomainMappings).
	ruleTags []string
}

// makeRouteTable is the ebb class: one ConfigMap holding the route's table
// fragment and the facts of every revision it splits to, labelled as a
// route table that ebb rendered (a cluster gateway serves no other).
func makeRouteTable(r route.Route, meta routeMeta, facts revisionFacts) (*corev1.ConfigMap, error) {
	t := route.Table{Routes: []route.Route{r}, Revisions: []route.Revision{}}
	seen := map[string]bool{}
	for _, rule := range r.Rules {
		for _, p := range rule.Paths {
			for _, s := range p.Splits {
				if seen[s.Revision] {
					continue
				}
				seen[s.Revision] = true
				rev, ok := facts(s.Namespace, s.Revision)
				if !ok {
					return nil, fmt.Errorf("route %s/%s: revision %q is not in the ledger", r.Namespace, r.Name, s.Revision)
				}
				t.Revisions = append(t.Revisions, rev.routeRevision())
			}
		}
	}
	slices.SortFunc(t.Revisions, func(a, b route.Revision) int { return strings.Compare(a.Name, b.Name) })
	b, err := route.Encode(t)
	if err != nil {
		return nil, fmt.Errorf("route %s/%s: %w", r.Namespace, r.Name, err)
	}
	labels := maps.Clone(meta.labels)
	labels[route.LabelKey] = route.LabelValue
	labels[route.ManagedByKey] = route.ManagedByValue
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        r.Name + "-routes",
			Namespace:   r.Namespace,
			Labels:      labels,
			Annotations: meta.annotations,
		},
		Data: map[string]string{route.DataKey: string(b)},
	}, nil
}

// makeHTTPRoutes is the gateway-api class, as net-gateway-api renders a
// KIngress: one HTTPRoute per rule, named after the rule's longest host,
// attached to the external or the local Gateway, with one HTTPRouteRule
// per path whose weighted backends are the revisions' public Services.
func makeHTTPRoutes(r route.Route, meta routeMeta, facts revisionFacts, gw *Gateways) ([]*gatewayv1.HTTPRoute, error) {
	out := make([]*gatewayv1.HTTPRoute, 0, len(r.Rules))
	for i, rule := range r.Rules {
		parent, visibility := gw.External, ""
		if rule.Visibility == route.ClusterLocal {
			parent, visibility = gw.Local, VisibilityClusterLocal
		}
		pns, pname := splitNamespacedName(parent)
		hr := &gatewayv1.HTTPRoute{
			TypeMeta: metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "HTTPRoute"},
			ObjectMeta: metav1.ObjectMeta{
				Name:        longestHost(rule.Hosts),
				Namespace:   r.Namespace,
				Labels:      maps.Clone(meta.labels),
				Annotations: meta.annotations,
			},
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{
					Group:     new(gatewayv1.Group(gatewayv1.GroupName)),
					Kind:      new(gatewayv1.Kind("Gateway")),
					Namespace: new(gatewayv1.Namespace(pns)),
					Name:      gatewayv1.ObjectName(pname),
				}}},
			},
		}
		hr.Labels[LabelIngress] = r.Name
		hr.Labels[LabelVisibility] = visibility
		if i < len(meta.ruleTags) && meta.ruleTags[i] != "" {
			hr.Labels[LabelTag] = meta.ruleTags[i]
		}
		for _, h := range rule.Hosts {
			hr.Spec.Hostnames = append(hr.Spec.Hostnames, gatewayv1.Hostname(h))
		}
		for _, p := range rule.Paths {
			hrr, err := httpRouteRule(r, p, facts)
			if err != nil {
				return nil, err
			}
			hr.Spec.Rules = append(hr.Spec.Rules, hrr)
		}
		out = append(out, hr)
	}
	return out, nil
}

func httpRouteRule(r route.Route, p route.Path, facts revisionFacts) (gatewayv1.HTTPRouteRule, error) {
	path := p.Path
	if path == "" {
		path = "/"
	}
	match := gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{
		Type:  new(gatewayv1.PathMatchPathPrefix),
		Value: new(path),
	}}
	for _, k := range sortedKeys(p.Headers) {
		match.Headers = append(match.Headers, gatewayv1.HTTPHeaderMatch{
			Type:  new(gatewayv1.HeaderMatchExact),
			Name:  gatewayv1.HTTPHeaderName(k),
			Value: p.Headers[k],
		})
	}
	rule := gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{match}}
	if len(p.AppendHeaders) > 0 {
		rule.Filters = []gatewayv1.HTTPRouteFilter{setHeaders(p.AppendHeaders)}
	}
	for _, s := range p.Splits {
		rev, ok := facts(s.Namespace, s.Revision)
		if !ok {
			return rule, fmt.Errorf("route %s/%s: revision %q is not in the ledger", r.Namespace, r.Name, s.Revision)
		}
		port, _ := rev.servicePort()
		br := gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{
				Group: new(gatewayv1.Group("")),
				Kind:  new(gatewayv1.Kind("Service")),
				Name:  gatewayv1.ObjectName(names.PublicService(s.Revision)),
				Port:  new(port),
			},
			Weight: new(s.Percent.Int32()),
		}}
		if len(s.AppendHeaders) > 0 {
			br.Filters = []gatewayv1.HTTPRouteFilter{setHeaders(s.AppendHeaders)}
		}
		rule.BackendRefs = append(rule.BackendRefs, br)
	}
	return rule, nil
}

// setHeaders is a RequestHeaderModifier that sets headers, sorted by name.
func setHeaders(h map[string]string) gatewayv1.HTTPRouteFilter {
	f := &gatewayv1.HTTPHeaderFilter{}
	for _, k := range sortedKeys(h) {
		f.Set = append(f.Set, gatewayv1.HTTPHeader{Name: gatewayv1.HTTPHeaderName(k), Value: h[k]})
	}
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: f}
}

// longestHost names a rule's objects: its longest host, the smallest one
// among equals.
func longestHost(hosts []string) string {
	best := ""
	for _, h := range hosts {
		if len(h) > len(best) || (len(h) == len(best) && h < best) {
			best = h
		}
	}
	return best
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// splitNamespacedName splits "namespace/name".
func splitNamespacedName(s string) (namespace, name string) {
	namespace, name, ok := strings.Cut(s, "/")
	if !ok {
		return "", s
	}
	return namespace, name
}
