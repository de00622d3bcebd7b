//go:build linux

package node_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/proxy/header"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/proxy/route"
)

// kourierService is Service kin/web of Kourier's ingress class, scaling
// to zero (zeroService), with traffic (if any) appended under spec.
func kourierService(version, traffic string) string {
	return zeroService("kin", "web", "    networking.knative.dev/ingress.class: "+kourierClass+"\n", version) + traffic
}

// TestKIngress is activation at zero for a Service of Kourier's ingress
// class, with the KIngress CRD of manifests/kingress installed and the
// stand-in for net-kourier (kourier_test.go) programming and routing by
// the KIngress ebb writes (the ebb-applier role applying it). The Service
// is Ready once the stand-in reports the KIngress ready, with its load
// balancer; ebb's own gateway does not route its host. Requests routed as
// the KIngress says reach the app through the revision's public Service.
// At zero, that Service's EndpointSlice points at the activators (the
// ebb-gateway pods), which know the revision only from the split's
// appendHeaders (a request without them is not served); a request then
// is held and answered by a new pod, three times, the cold start logged.
// Last, a 50/50 split between two revisions: the KIngress carries it, and
// over 400 requests routed by it each reaches the revision its split
// names, each revision 50 ± 8 %.
func TestKIngress(t *testing.T) {
	t.Parallel()
	e := sharedEbb(t)
	installKIngressCRD(t, e)
	tenant(t, e.n, "kin")
	k := newKourier(t, e)
	const host = "web.kin.example.com"
	e.push(t, map[string]string{"kin/service.yaml": kourierService("k1", "")}, "kin: v1, routed by Kourier")
	waitFor(t, e.n, "KIngress kin/web written, programmed by the stand-in", 3*time.Minute, func(ctx context.Context) string {
		return k.program(ctx, "kin", "web")
	}, "kin", "ebb-system")
	waitFor(t, e.n, "web-00001 answering through the KIngress", 3*time.Minute, k.answers(host, "web-00001 (k1)"), "kin", "ebb-system")
	waitFor(t, e.n, "Service kin/web Ready, at Kourier's load balancer", time.Minute, func(ctx context.Context) string {
		s, why := e.status(ctx, "kin", "web")
		if why != "" {
			return why
		}
		if s.Ready != "True" || s.LoadBalancer != kourierPublic {
			return fmt.Sprintf("ready %s (%s), load balancer %q", s.Ready, s.Reason, s.LoadBalancer)
		}
		return ""
	}, "kin")
	if got, err := e.get(t.Context(), host); err == nil {
		t.Errorf("ebb-gateway answers %s with %q; want no route there: the host is the KIngress's", host, got)
	}

	var unrouted string
	cold := e.coldStarts(t, "kin", "web-00001", "web-00001 (k1)", func(ctx context.Context) string {
		if why := e.publicAtActivators(ctx, "kin", "web-00001"); why != "" {
			return why
		}
		// Without the KIngress's appendHeaders the activators cannot
		// tell the revision: not served.
		req, s, err := k.request(ctx, host)
		if err != nil {
			return err.Error()
		}
		header.StripServing(req.Header)
		if a := k.send(req, s); a.err == nil {
			return fmt.Sprintf("at zero, a request without the KIngress's appendHeaders answered %q", a.body)
		} else if unrouted == "" {
			unrouted = a.err.Error()
		}
		return ""
	}, func(ctx context.Context) (string, error) {
		a := k.get(ctx, host)
		return a.body, a.err
	})
	t.Logf("at zero, without the KIngress's appendHeaders: %s", unrouted)
	t.Logf("cold start through a KIngress split, %d rounds: %s", len(cold), spread(cold))

	e.push(t, map[string]string{"kin/service.yaml": kourierService("k2", `  traffic:
    - revisionName: web-00001
      percent: 50
    - latestRevision: true
      percent: 50
`)}, "kin: v2, split 50/50")
	const wantSplits = "kin/web-00001 50%, kin/web-00002 50%"
	waitFor(t, e.n, "KIngress kin/web splitting "+wantSplits+", programmed", 3*time.Minute, func(ctx context.Context) string {
		if why := k.program(ctx, "kin", "web"); why != "" {
			return why
		}
		if got := k.splits(host); got != wantSplits {
			return "splits " + got
		}
		return ""
	}, "kin", "ebb-system")
	for _, why := range k.held {
		t.Logf("the stand-in held: %s", why)
	}
	const requests = 400
	counts := map[string]int{}
	for i := range requests {
		a := k.get(t.Context(), host)
		if a.err != nil {
			t.Fatalf("request %d through the 50/50 split: %v\n%s%s", i, a.err, e.publicSlices(t.Context(), "kin"), e.n.Describe(t.Context(), "kin"))
		}
		if !strings.HasPrefix(a.body, a.split.ServiceName+" (") {
			t.Fatalf("the split to Service %s/%s answered %q", a.split.ServiceNamespace, a.split.ServiceName, a.body)
		}
		counts[a.body]++
	}
	share := float64(counts["web-00002 (k2)"]) / requests * 100
	t.Logf("split over %d requests through the KIngress: %v (web-00002 %.1f %%)", requests, counts, share)
	if counts["web-00001 (k1)"]+counts["web-00002 (k2)"] != requests || share < 42 || share > 58 {
		t.Errorf("split over %d requests: %v, want each revision 50 ± 8 %%", requests, counts)
	}
}

// splits lists the splits of the route serving host, as "ns/service N%".
func (k *kourier) splits(host string) string {
	p, ok := k.route(host)
	if !ok {
		return "none: no rule routes " + host
	}
	var out []string
	for _, s := range p.Splits {
		out = append(out, fmt.Sprintf("%s/%s %d%%", s.ServiceNamespace, s.ServiceName, s.Percent))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// publicAtActivators says why revision ns/rev's public Service does not
// point at the activators: its EndpointSlice written by ebb must be in
// proxy mode with addresses, each a ready ebb-gateway pod's; "" when it
// does.
func (e *ebb) publicAtActivators(ctx context.Context, ns, rev string) string {
	ss, err := e.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + rev + "," + discoveryv1.LabelManagedBy + "=" + proxykube.ManagedBy})
	if err != nil {
		return err.Error()
	}
	if len(ss.Items) != 1 {
		return fmt.Sprintf("Service %s/%s has %d EndpointSlices written by ebb, want 1", ns, rev, len(ss.Items))
	}
	s := ss.Items[0]
	var addrs []string
	for _, ep := range s.Endpoints {
		addrs = append(addrs, ep.Addresses...)
	}
	if m := s.Labels[proxykube.ModeLabel]; m != route.Proxy.String() || len(addrs) == 0 {
		return fmt.Sprintf("EndpointSlice %s/%s: mode %q, addresses %v; want mode %s, the activators", ns, s.Name, m, addrs, route.Proxy)
	}
	pods, err := e.cs.CoreV1().Pods("ebb-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=ebb-gateway"})
	if err != nil {
		return err.Error()
	}
	acts := map[string]string{}
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" && p.DeletionTimestamp == nil {
				acts[p.Status.PodIP] = p.Name
			}
		}
	}
	for _, a := range addrs {
		if _, ok := acts[a]; !ok {
			return fmt.Sprintf("EndpointSlice %s/%s: address %s is no ready ebb-gateway pod's (those: %v)", ns, s.Name, a, slices.Sorted(maps.Keys(acts)))
		}
	}
	return ""
}

// publicSlices lists the EndpointSlices ebb wrote in namespace ns, with
// their mode and addresses, for failure messages.
func (e *ebb) publicSlices(ctx context.Context, ns string) string {
	ss, err := e.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelManagedBy + "=" + proxykube.ManagedBy})
	if err != nil {
		return err.Error() + "\n"
	}
	var b strings.Builder
	for _, s := range ss.Items {
		var addrs []string
		for _, ep := range s.Endpoints {
			addrs = append(addrs, ep.Addresses...)
		}
		fmt.Fprintf(&b, "EndpointSlice %s/%s: mode %s, addresses %v\n", ns, s.Name, s.Labels[proxykube.ModeLabel], addrs)
	}
	return b.String()
}
