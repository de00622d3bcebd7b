package render

import (
	"slices"
	"strings"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// Gateways names what the gateway-api and istio classes attach routes to,
// and where the in-cluster placeholder Services point. Knative keeps these
// in net-*'s own ConfigMaps; ebb takes them as an input with defaults.
type Gateways struct {
	// External and Local are the Gateway API Gateways ("namespace/name")
	// for exposed and cluster-local hosts.
	External, Local string
	// IstioExternal and IstioLocal are the Istio gateways ("namespace/name").
	IstioExternal, IstioLocal string
	// LocalService is the in-cluster Service ("namespace/name") of the
	// local gateway per ingress class: the target of the ExternalName
	// placeholder Services. A class without one (alb, mse, any other)
	// gets placeholders pointing at the route's own host, as Knative
	// creates them before its KIngress reports a load balancer.
	LocalService map[string]string
}

// DefaultGateways are Knative's defaults for net-gateway-api, net-istio,
// net-kourier and net-contour, and ebb's own gateway Service
// (ebb-system/ebb-gateway).
func DefaultGateways() *Gateways {
	return &Gateways{
		External:      "istio-system/knative-gateway",
		Local:         "istio-system/knative-local-gateway",
		IstioExternal: "knative-serving/knative-ingress-gateway",
		IstioLocal:    "knative-serving/knative-local-gateway",
		LocalService: map[string]string{
			config.IngressClassEbb:        config.SystemNamespace + "/ebb-gateway",
			config.IngressClassGatewayAPI: "istio-system/knative-local-gateway",
			config.IngressClassIstio:      "istio-system/knative-local-gateway",
			config.IngressClassKourier:    "kourier-system/kourier-internal",
			config.IngressClassContour:    "contour-internal/envoy",
		},
	}
}

// Shared returns the objects ("namespace/name") that rendered routes
// refer to in namespaces of their own: the gateways and the local
// gateway Services, sorted. A rule refusing references across namespaces
// lets these through.
func (g *Gateways) Shared() []string {
	out := []string{g.External, g.Local, g.IstioExternal, g.IstioLocal}
	for _, s := range g.LocalService {
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// IngressClass is the class an object's routes are rendered for: its
// networking.knative.dev/ingress.class annotation (or the ingress-class
// alias), else config-network ingress-class; a short name (kourier,
// istio, ...) is given its full name. Any class is accepted: those ebb
// does not render itself get a KIngress (config.Network.RendersKIngress).
func IngressClass(annotations map[string]string, cfg *config.Config) string {
	c := annotations[AnnotationIngressClass]
	if c == "" {
		c = annotations[AnnotationIngressClassAlias]
	}
	if c == "" {
		c = cfg.Network.IngressClass
	}
	return config.CanonicalIngressClass(c)
}

// serviceRoute is the provider-neutral routing of one Service (Knative's
// KIngress): for the main route and each tag, an exposed rule (unless
// cluster-local) and a cluster-local rule with the expanded local hosts.
// tags names the traffic tag of each rule ("" for the main route).
//
// With knative set the rules are in the order of Knative's KIngress: each
// name's cluster-local rule before its exposed one.
func serviceRoute(svc *serving.Service, l *serving.Ledger, cfg *config.Config, knative bool) (r route.Route, hs []hosts, tags []string, err error) {
	names := sortedTrafficNames(svc.Namespace, l.Traffic)
	hs, err = routeHosts(cfg, &svc.ObjectMeta, names)
	if err != nil {
		return route.Route{}, nil, nil, err
	}
	tagHeaders := cfg.Features.Flags[config.FeatureTagHeaderBasedRouting] == config.Enabled
	r = route.Route{Namespace: svc.Namespace, Name: svc.Name}
	for i, n := range names {
		if len(n.splits) == 0 {
			continue
		}
		ps := paths(n, names, tagHeaders)
		local := route.Rule{Hosts: hs[i].localHosts(), Visibility: route.ClusterLocal, Paths: ps}
		if knative {
			r.Rules = append(r.Rules, local)
			tags = append(tags, n.tag)
		}
		if hs[i].external != "" {
			r.Rules = append(r.Rules, route.Rule{Hosts: []string{hs[i].external}, Visibility: route.ExternalIP, Paths: ps})
			tags = append(tags, n.tag)
		}
		if !knative {
			r.Rules = append(r.Rules, local)
			tags = append(tags, n.tag)
		}
	}
	return r, hs, tags, nil
}

// sortedTrafficNames are the names of a Service's traffic, the main
// route's first, then its tags'.
func sortedTrafficNames(namespace string, traffic []serving.Target) []trafficName {
	names := trafficNames(namespace, traffic)
	slices.SortStableFunc(names, func(a, b trafficName) int { return strings.Compare(a.tag, b.tag) })
	return names
}

// domainMappingRoute routes a DomainMapping's domain straight to its
// target Service's main splits (Knative rewrites the host and goes through
// the target's placeholder Service; ebb skips that hop).
func domainMappingRoute(dm *serving.DomainMapping, targetTraffic []serving.Target) (route.Route, bool) {
	main := trafficNames(dm.Namespace, targetTraffic)[0]
	if len(main.splits) == 0 {
		return route.Route{}, false
	}
	return route.Route{
		Namespace: dm.Namespace,
		Name:      dm.Name,
		Rules: []route.Rule{{
			Hosts:      []string{dm.Name},
			Visibility: route.ExternalIP,
			Paths:      []route.Path{{Splits: main.splits}},
		}},
	}, true
}
