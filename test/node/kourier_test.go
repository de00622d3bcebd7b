//go:build linux

package node_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"

	"github.com/ebb-dev/ebb/internal/kubetest"
)

// There is no net-kourier on the node (no registry, no network out), so
// kourier is TestKIngress's stand-in for it: it reads the KIngresses ebb
// writes, reports them programmed as net-kourier does, and routes requests
// as the KIngress says, the way net-kourier programs Envoy
// (pkg/generator/ingress_translator.go): a virtual host per rule host
// (the external gateway serves the ExternalIP rules), a route per path,
// its splits as weighted clusters, the path's appendHeaders on the route
// and each split's on its cluster. net-kourier sends a split's requests
// to the ready addresses of the Service's EndpointSlices at the port's
// targetPort; the stand-in sends them to the Service's ClusterIP and
// port, and kube-proxy picks the same addresses from the same slices.

var kingressGVR = schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "ingresses"}

// installKIngressCRD applies manifests/kingress as `kubectl apply -k
// manifests/kingress/` does, and waits until the CRD is established.
func installKIngressCRD(t *testing.T, e *ebb) {
	t.Helper()
	objs, err := kubetest.Kustomize(filepath.Join("..", "..", "manifests", "kingress"))
	if err != nil {
		t.Fatal(err)
	}
	if err := kubetest.Apply(t.Context(), e.n.Config(), objs, false); err != nil {
		t.Fatal(err)
	}
	dyn := e.dynamic(t)
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	waitFor(t, e.n, "the KIngress CRD established", time.Minute, func(ctx context.Context) string {
		crd, err := crds.Get(ctx, "ingresses.networking.internal.knative.dev", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return ""
			}
		}
		return "not established"
	})
}

// dynamic is a dynamic client of the node's API, as the admin.
func (e *ebb) dynamic(t *testing.T) dynamic.Interface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(e.n.Config())
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

// The part of a KIngress's spec a net-* controller routes by.
type kingressSpec struct {
	Rules []struct {
		Hosts      []string `json:"hosts"`
		Visibility string   `json:"visibility"`
		HTTP       *struct {
			Paths []kingressPath `json:"paths"`
		} `json:"http"`
	} `json:"rules"`
}

type kingressPath struct {
	Path    string `json:"path"`
	Headers map[string]struct {
		Exact string `json:"exact"`
	} `json:"headers"`
	RewriteHost   string            `json:"rewriteHost"`
	AppendHeaders map[string]string `json:"appendHeaders"`
	Splits        []kingressSplit   `json:"splits"`
}

type kingressSplit struct {
	ServiceNamespace string             `json:"serviceNamespace"`
	ServiceName      string             `json:"serviceName"`
	ServicePort      intstr.IntOrString `json:"servicePort"`
	Percent          int                `json:"percent"`
	AppendHeaders    map[string]string  `json:"appendHeaders"`
}

// kourier is the stand-in for net-kourier: the KIngresses it has
// programmed, and the requests it routes.
type kourier struct {
	e   *ebb
	dyn dynamic.Interface

	mu    sync.Mutex
	specs map[string]kingressSpec // by namespace/name
	// held lists why a KIngress's generation was not programmed at first.
	held []string
	// rng picks a split as Envoy's weighted clusters do, at random by
	// weight; seeded, so a run's choices do not depend on the run.
	rng *rand.Rand
}

// Kourier's ingress class, and the addresses net-kourier reports for its
// gateways (kourier and kourier-internal in kourier-system).
const (
	kourierClass   = "kourier.ingress.networking.knative.dev"
	kourierPublic  = "kourier.kourier-system.svc.cluster.local"
	kourierPrivate = "kourier-internal.kourier-system.svc.cluster.local"
)

func newKourier(t *testing.T, e *ebb) *kourier {
	return &kourier{e: e, dyn: e.dynamic(t), specs: map[string]kingressSpec{}, rng: rand.New(rand.NewPCG(20, 1))}
}

// program reads KIngress ns/name and, when it is of Kourier's class and
// its splits can be routed (unroutable), routes by it from now on and
// writes its status as net-kourier does once Envoy has it: the generation
// observed, Ready, and its gateways as the public and private load
// balancers. It returns why it cannot, or "".
func (k *kourier) program(ctx context.Context, ns, name string) string {
	ings := k.dyn.Resource(kingressGVR).Namespace(ns)
	ing, err := ings.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		s, why := k.e.status(ctx, ns, name)
		return fmt.Sprintf("KIngress %s/%s: %v; ebb's status of the Service: %s %s%s; of the source: %s", ns, name, err, s.Ready, s.Reason, why, k.e.source(ctx))
	}
	if c := ing.GetAnnotations()["networking.knative.dev/ingress.class"]; c != kourierClass {
		return fmt.Sprintf("KIngress %s/%s: class %q, not %s", ns, name, c, kourierClass)
	}
	b, err := json.Marshal(ing.Object["spec"])
	if err != nil {
		return err.Error()
	}
	var spec kingressSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Sprintf("KIngress %s/%s: spec: %v", ns, name, err)
	}
	if why := k.unroutable(ctx, spec); why != "" {
		why = fmt.Sprintf("KIngress %s/%s generation %d: %s", ns, name, ing.GetGeneration(), why)
		k.mu.Lock()
		if !slices.Contains(k.held, why) {
			k.held = append(k.held, why)
		}
		k.mu.Unlock()
		return why + "; not programmed yet"
	}
	k.mu.Lock()
	k.specs[ns+"/"+name] = spec
	k.mu.Unlock()
	if observed, _, _ := unstructured.NestedInt64(ing.Object, "status", "observedGeneration"); observed == ing.GetGeneration() {
		return ""
	}
	now := time.Now().UTC().Format(time.RFC3339)
	cond := func(typ string) any {
		return map[string]any{"type": typ, "status": "True", "lastTransitionTime": now}
	}
	lb := func(host string) any { return map[string]any{"ingress": []any{map[string]any{"domainInternal": host}}} }
	ing.Object["status"] = map[string]any{
		"observedGeneration":  ing.GetGeneration(),
		"conditions":          []any{cond("LoadBalancerReady"), cond("NetworkConfigured"), cond("Ready")},
		"publicLoadBalancer":  lb(kourierPublic),
		"privateLoadBalancer": lb(kourierPrivate),
	}
	if _, err := ings.UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
		return fmt.Sprintf("write the status of KIngress %s/%s: %v", ns, name, err)
	}
	return ""
}

// unroutable says why the splits of spec cannot be programmed yet, as
// net-kourier's translator skips a KIngress (Envoy keeps what it had): a
// split's Service not yet created, or without an EndpointSlice holding a
// ready address. "" when they can.
func (k *kourier) unroutable(ctx context.Context, spec kingressSpec) string {
	for _, rule := range spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			for _, s := range p.Splits {
				if why := k.ready(ctx, s); why != "" {
					return why
				}
			}
		}
	}
	return ""
}

// ready says why split s's Service has no ready address, or "".
func (k *kourier) ready(ctx context.Context, s kingressSplit) string {
	svc, err := k.e.cs.CoreV1().Services(s.ServiceNamespace).Get(ctx, s.ServiceName, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return ""
	}
	ss, err := k.e.cs.DiscoveryV1().EndpointSlices(s.ServiceNamespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + s.ServiceName})
	if err != nil {
		return err.Error()
	}
	ready := false
	for _, sl := range ss.Items {
		for _, ep := range sl.Endpoints {
			ready = ready || len(ep.Addresses) > 0 && (ep.Conditions.Ready == nil || *ep.Conditions.Ready)
		}
	}
	if !ready {
		return fmt.Sprintf("Service %s/%s: %d EndpointSlices, no ready address", s.ServiceNamespace, s.ServiceName, len(ss.Items))
	}
	// net-kourier hands Envoy the slices' addresses; the stand-in's way to
	// them is kube-proxy, which takes a moment to follow a new slice: until
	// it has, a connection to the ClusterIP is refused.
	addr, err := k.serviceAddr(ctx, s)
	if err != nil {
		return err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := k.e.n.Dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Sprintf("Service %s/%s: kube-proxy: %v", s.ServiceNamespace, s.ServiceName, err)
	}
	conn.Close()
	return ""
}

// route finds the path that serves GET / for host on the external
// gateway, among the KIngresses programmed.
func (k *kourier) route(host string) (kingressPath, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range slices.Sorted(maps.Keys(k.specs)) {
		for _, rule := range k.specs[key].Rules {
			if rule.Visibility != "ExternalIP" || !slices.Contains(rule.Hosts, host) || rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if len(p.Headers) == 0 && strings.HasPrefix("/", cmp.Or(p.Path, "/")) {
					return p, true
				}
			}
		}
	}
	return kingressPath{}, false
}

// pick chooses one of splits by weight, as Envoy's weighted clusters do.
func (k *kourier) pick(splits []kingressSplit) (kingressSplit, bool) {
	total := 0
	for _, s := range splits {
		total += s.Percent
	}
	if total == 0 {
		return kingressSplit{}, false
	}
	k.mu.Lock()
	n := k.rng.IntN(total)
	k.mu.Unlock()
	for _, s := range splits {
		if n < s.Percent {
			return s, true
		}
		n -= s.Percent
	}
	return kingressSplit{}, false
}

// kourierAnswer is what a request through the stand-in got: the split it
// went to, the answer's body, or why there is none.
type kourierAnswer struct {
	split kingressSplit
	body  string
	err   error
}

// get sends GET / for host as the KIngress routes it (see request).
func (k *kourier) get(ctx context.Context, host string) kourierAnswer {
	req, s, err := k.request(ctx, host)
	if err != nil {
		return kourierAnswer{split: s, err: err}
	}
	return k.send(req, s)
}

// request is GET / for host as the KIngress routes it: to one of the
// route's splits, with the route's and the split's appendHeaders, to the
// split's Service at its ClusterIP and port (looked up in the API, as the
// node's DNS answers it).
func (k *kourier) request(ctx context.Context, host string) (*http.Request, kingressSplit, error) {
	p, ok := k.route(host)
	if !ok {
		return nil, kingressSplit{}, fmt.Errorf("%s: no KIngress rule routes it (404 from Envoy)", host)
	}
	s, ok := k.pick(p.Splits)
	if !ok {
		return nil, s, fmt.Errorf("%s: no split with a weight", host)
	}
	addr, err := k.serviceAddr(ctx, s)
	if err != nil {
		return nil, s, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return nil, s, err
	}
	req.Host = cmp.Or(p.RewriteHost, host)
	for _, h := range []map[string]string{p.AppendHeaders, s.AppendHeaders} {
		for name, v := range h {
			req.Header.Set(name, v)
		}
	}
	return req, s, nil
}

// send sends a request made by request for split s.
func (k *kourier) send(req *http.Request, s kingressSplit) kourierAnswer {
	resp, err := k.e.client.Do(req)
	if err != nil {
		return kourierAnswer{split: s, err: fmt.Errorf("%s via Service %s/%s: %w", req.Host, s.ServiceNamespace, s.ServiceName, err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return kourierAnswer{split: s, err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return kourierAnswer{split: s, err: fmt.Errorf("%s via Service %s/%s: status %d: %s", req.Host, s.ServiceNamespace, s.ServiceName, resp.StatusCode, strings.TrimSpace(string(b)))}
	}
	return kourierAnswer{split: s, body: strings.TrimSpace(string(b))}
}

// serviceAddr is ClusterIP:port of a split's Service, its port matched by
// number or name as net-kourier matches it.
func (k *kourier) serviceAddr(ctx context.Context, s kingressSplit) (string, error) {
	svc, err := k.e.cs.CoreV1().Services(s.ServiceNamespace).Get(ctx, s.ServiceName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return "", fmt.Errorf("Service %s/%s: type %s, ClusterIP %q: not a ClusterIP Service", s.ServiceNamespace, s.ServiceName, svc.Spec.Type, svc.Spec.ClusterIP)
	}
	for _, port := range svc.Spec.Ports {
		if (s.ServicePort.Type == intstr.Int && port.Port == s.ServicePort.IntVal) || (s.ServicePort.Type == intstr.String && port.Name == s.ServicePort.StrVal) {
			return net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(port.Port))), nil
		}
	}
	return "", fmt.Errorf("Service %s/%s: no port %s", s.ServiceNamespace, s.ServiceName, s.ServicePort.String())
}

// answers is a check for waitFor: host answers want through the stand-in.
func (k *kourier) answers(host, want string) func(context.Context) string {
	return func(ctx context.Context) string {
		a := k.get(ctx, host)
		if a.err != nil {
			return a.err.Error()
		}
		if a.body != want {
			return fmt.Sprintf("%s answers %q, want %q", host, a.body, want)
		}
		return ""
	}
}
