package render

import (
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/proxy/route"

	"github.com/ebb-dev/ebb/serving/names"
)

// Istio's VirtualService, written as unstructured: ebb does not import
// Istio's API module for one kind.
const (
	istioAPIVersion  = "networking.istio.io/v1"
	istioMeshGateway = "mesh"
)

// makeVirtualServices is the istio class, as net-istio renders a KIngress:
// <route>-ingress bound to the external and local gateways, and
// <route>-mesh (gateway "mesh") for the cluster-local hosts, each request
// sent to the revisions' public Services with retries disabled.
func makeVirtualServices(r route.Route, meta routeMeta, facts revisionFacts, gw *Gateways, clusterDomain string) ([]*unstructured.Unstructured, error) {
	var ingressGateways, ingressHosts, meshHosts []string
	var ingressHTTP, meshHTTP []any
	for _, rule := range r.Rules {
		gateway := gw.IstioExternal
		if rule.Visibility == route.ClusterLocal {
			gateway = gw.IstioLocal
			meshHosts = append(meshHosts, rule.Hosts...)
		}
		ingressGateways = appendUnique(ingressGateways, gateway)
		ingressHosts = append(ingressHosts, rule.Hosts...)
		for _, p := range rule.Paths {
			h, err := istioHTTPRoute(r, rule.Hosts, gateway, p, facts, clusterDomain)
			if err != nil {
				return nil, err
			}
			ingressHTTP = append(ingressHTTP, h)
			if rule.Visibility == route.ClusterLocal {
				m, err := istioHTTPRoute(r, rule.Hosts, istioMeshGateway, p, facts, clusterDomain)
				if err != nil {
					return nil, err
				}
				meshHTTP = append(meshHTTP, m)
			}
		}
	}
	var out []*unstructured.Unstructured
	if len(ingressHTTP) > 0 {
		out = append(out, virtualService(r, meta, "-ingress", ingressGateways, ingressHosts, ingressHTTP))
	}
	if len(meshHTTP) > 0 {
		out = append(out, virtualService(r, meta, "-mesh", []string{istioMeshGateway}, meshHosts, meshHTTP))
	}
	return out, nil
}

func virtualService(r route.Route, meta routeMeta, suffix string, gateways, hosts []string, http []any) *unstructured.Unstructured {
	labels := maps.Clone(meta.labels)
	labels[LabelIngress] = r.Name
	m := map[string]any{
		"name":      names.Child(r.Name, suffix),
		"namespace": r.Namespace,
		"labels":    stringMap(labels),
	}
	if len(meta.annotations) > 0 {
		m["annotations"] = stringMap(meta.annotations)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": istioAPIVersion,
		"kind":       "VirtualService",
		"metadata":   m,
		"spec": map[string]any{
			"gateways": anySlice(gateways),
			"hosts":    anySlice(hosts),
			"http":     http,
		},
	}}
}

// istioHTTPRoute is one KIngress path: matched on each host of its rule (by
// authority prefix) through one gateway, split by weight across the
// revisions' public Services.
func istioHTTPRoute(r route.Route, hosts []string, gateway string, p route.Path, facts revisionFacts, clusterDomain string) (map[string]any, error) {
	var matches []any
	for _, h := range hosts {
		m := map[string]any{
			"authority": map[string]any{"prefix": h},
			"gateways":  []any{gateway},
		}
		if p.Path != "" && p.Path != "/" {
			m["uri"] = map[string]any{"prefix": p.Path}
		}
		if len(p.Headers) > 0 {
			hm := map[string]any{}
			for k, v := range p.Headers {
				hm[k] = map[string]any{"exact": v}
			}
			m["headers"] = hm
		}
		matches = append(matches, m)
	}
	var dests []any
	for _, s := range p.Splits {
		rev, ok := facts(s.Namespace, s.Revision)
		if !ok {
			return nil, fmt.Errorf("route %s/%s: revision %q is not in the ledger", r.Namespace, r.Name, s.Revision)
		}
		port, _ := rev.servicePort()
		d := map[string]any{
			"destination": map[string]any{
				"host": names.PublicService(s.Revision) + "." + s.Namespace + ".svc." + clusterDomain,
				"port": map[string]any{"number": int64(port)},
			},
			"weight": s.Percent.Int64(),
		}
		if len(s.AppendHeaders) > 0 {
			d["headers"] = map[string]any{"request": map[string]any{"set": stringMap(s.AppendHeaders)}}
		}
		dests = append(dests, d)
	}
	h := map[string]any{
		"match":   matches,
		"route":   dests,
		"retries": map[string]any{},
	}
	if len(p.AppendHeaders) > 0 {
		h["headers"] = map[string]any{"request": map[string]any{"set": stringMap(p.AppendHeaders)}}
	}
	return h, nil
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func appendUnique(ss []string, s string) []string {
	for _, x := range ss {
		if x == s {
			return ss
		}
	}
	return append(ss, s)
}
