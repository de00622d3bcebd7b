//go:build unix

package gatewaycmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// TestGatewayClusterOwnership: namespace default has a Service and a
// DomainMapping api.example.com applied by ebb (which claims the domain);
// namespace tenant-x has a hand-made route table taking api.example.com
// and hello.default.svc.cluster.local, and a table with a split of 101 %;
// namespace a-tenant (sorted before default, so that its routes come
// first in a merge) has a copy with ebb's labels that also names its own
// host. The cluster gateway keeps routing both hosts to default's
// revision, serves the copy only for a-tenant's own host, skips the bad
// table (Event, metric), and a gateway started afterwards serves the good
// tables as soon as it is ready.
//
// Requests go over real HTTP through the gateway to real HTTP servers;
// only the hop to the pod addresses is redirected (EndpointSlices refuse
// loopback addresses, so the revisions' endpoints are 10.x addresses that
// the gateway's transport dials on 127.0.0.1 instead).
func TestGatewayClusterOwnership(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{})
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	k := kubetest.Clients(t, c.Config())
	for _, ns := range []string{"ebb-system", "tenant-x", "a-tenant"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// default's Service and DomainMapping, applied by ebb.
	dir := t.TempDir()
	hello := `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: registry.example.com/hello:1
---
apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata:
  name: api.example.com
  namespace: default
spec:
  ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello}
`
	if err := os.WriteFile(filepath.Join(dir, "hello.yaml"), []byte(hello), 0o644); err != nil {
		t.Fatal(err)
	}
	ssa, err := apply.New(c.Config(), apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	target := &cluster.Target{Applier: ssa, Source: "main", Claims: cluster.NewClaims(k, "ebb-system", "main", nil)}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target}
	if _, err := rec.Pass(ctx, os.DirFS(dir), serving.Stamp{Commit: "c1", Time: metav1.NewTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".ebb", "default", "hello.yaml")); err != nil {
		t.Fatal(err)
	}

	// The tenants' tables, routing to a revision of their own.
	table := func(routeNS, routeName, revNS string, percent traffic.Percent, hosts ...string) string {
		b, err := json.Marshal(route.Table{
			Routes: []route.Route{{Namespace: routeNS, Name: routeName, Rules: []route.Rule{{Hosts: hosts, Visibility: route.ExternalIP,
				Paths: []route.Path{{Splits: []route.Split{{Namespace: revNS, Revision: "evil-00001", Percent: percent}}}}}}}},
			Revisions: []route.Revision{{Namespace: revNS, Name: "evil-00001", Service: "evil", Protocol: route.ProtocolHTTP1, TimeoutSeconds: 300}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ebbLabels := map[string]string{route.LabelKey: route.LabelValue, route.ManagedByKey: route.ManagedByValue}
	for _, cm := range []*corev1.ConfigMap{
		// As found: only the route-table label, and a route that names
		// itself default/aaa so that a merge sorts it first.
		{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-x", Name: "evil-routes", Labels: map[string]string{route.LabelKey: route.LabelValue}},
			Data: map[string]string{route.DataKey: table("default", "aaa", "tenant-x", 100, "api.example.com", "hello.default.svc.cluster.local")}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-x", Name: "bad-routes", Labels: ebbLabels},
			Data: map[string]string{route.DataKey: table("tenant-x", "bad", "tenant-x", 101, "bad.tenant-x.svc.cluster.local")}},
		// ebb's labels copied: served for the tenant's own host only.
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a-tenant", Name: "copycat-routes", Labels: ebbLabels},
			Data: map[string]string{route.DataKey: table("a-tenant", "copycat", "a-tenant", 100, "api.example.com", "hello.default.svc.cluster.local", "evil.a-tenant.svc.cluster.local")}},
	} {
		if _, err := cs.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// The revisions' endpoints, in serve mode.
	ready := true
	for _, s := range []struct{ ns, name, svc, ip, mode string }{
		{"default", "hello-00001-private-a", "hello-00001-private", "10.1.0.7", ""},
		{"default", "hello-00001", "hello-00001", "10.1.0.7", "serve"},
		{"tenant-x", "evil-00001-private-a", "evil-00001-private", "10.9.0.9", ""},
		{"tenant-x", "evil-00001", "evil-00001", "10.9.0.9", "serve"},
		{"a-tenant", "evil-00001-private-a", "evil-00001-private", "10.9.0.10", ""},
		{"a-tenant", "evil-00001", "evil-00001", "10.9.0.10", "serve"},
	} {
		es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: s.name, Labels: map[string]string{discoveryv1.LabelServiceName: s.svc}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{s.ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}
		if s.mode != "" {
			es.Labels[discoveryv1.LabelManagedBy], es.Labels[proxykube.ModeLabel] = proxykube.ManagedBy, s.mode
		}
		if _, err := cs.DiscoveryV1().EndpointSlices(s.ns).Create(ctx, es, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	backend := func(name string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "%s answers %s", name, r.Host) }))
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	pods := map[string]string{"10.1.0.7:8012": backend("default"), "10.9.0.9:8012": backend("tenant-x"), "10.9.0.10:8012": backend("a-tenant")}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		to, ok := pods[addr]
		if !ok {
			return nil, fmt.Errorf("no pod at %s", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, to)
	}}
	t.Cleanup(tr.CloseIdleConnections)

	start := func(pod string, reg prometheus.Registerer) (*clusterGateway, *httptest.Server) {
		t.Helper()
		g, err := newClusterGateway(k, clusterGatewayConfig{namespace: "ebb-system", reg: reg, transport: tr,
			id: clusterGatewayIdentity{podName: pod, activators: proxykube.ServiceRef{Namespace: "ebb-system", Name: "ebb-gateway"}}})
		if err != nil {
			t.Fatal(err)
		}
		gctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		t.Cleanup(g.act.Close)
		g.follow(gctx)
		srv := httptest.NewServer(g.gw)
		t.Cleanup(srv.Close)
		return g, srv
	}
	get := func(srv *httptest.Server, host string) string {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := srv.Client().Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	want := map[string]string{
		"api.example.com":                 "200 default answers api.example.com",
		"hello.default.svc.cluster.local": "200 default answers hello.default.svc.cluster.local",
		"evil.a-tenant.svc.cluster.local": "200 a-tenant answers evil.a-tenant.svc.cluster.local",
		"bad.tenant-x.svc.cluster.local":  `404 no route for host "bad.tenant-x.svc.cluster.local"`,
	}
	hosts := slices.Sorted(func(yield func(string) bool) {
		for h := range want {
			if !yield(h) {
				return
			}
		}
	})
	answers := func(srv *httptest.Server) map[string]string {
		got := map[string]string{}
		for _, h := range hosts {
			got[h] = get(srv, h)
		}
		return got
	}

	reg := prometheus.NewRegistry()
	g, srv := start("gw-1", reg)
	var last string
	for range 600 {
		if last = cmp.Diff(want, answers(srv)); last == "" && g.ready() && g.gw.ModeOf("default", "hello-00001") == route.Serve {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != "" {
		t.Fatalf("the gateway's answers (-want +got):\n%s", last)
	}
	// Asked many times, never the tenant's.
	for range 50 {
		for _, h := range []string{"api.example.com", "hello.default.svc.cluster.local"} {
			if got := get(srv, h); got != want[h] {
				t.Fatalf("%s: %s", h, got)
			}
		}
	}

	reports := map[string]proxykube.TableState{}
	for _, r := range g.routes.Reports() {
		reports[r.Namespace+"/"+r.Name] = r.State
	}
	if d := cmp.Diff(map[string]proxykube.TableState{
		"default/api.example.com-routes": proxykube.TableServed,
		"default/hello-routes":           proxykube.TableServed,
		"a-tenant/copycat-routes":        proxykube.TablePartial,
		"tenant-x/bad-routes":            proxykube.TableRefused,
		"tenant-x/evil-routes":           proxykube.TableIgnored,
	}, reports); d != "" {
		t.Errorf("route tables (-want +got):\n%s", d)
	}
	gauge := func() map[string]float64 {
		out := map[string]float64{}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "ebb_gateway_route_tables" {
				continue
			}
			for _, m := range mf.GetMetric() {
				out[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
			}
		}
		return out
	}
	if d := cmp.Diff(map[string]float64{"served": 2, "partial": 1, "stale": 0, "refused": 1, "ignored": 1}, gauge()); d != "" {
		t.Errorf("ebb_gateway_route_tables (-want +got):\n%s", d)
	}
	for range 600 {
		var got []string
		for _, ns := range []string{"tenant-x", "a-tenant"} {
			evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs.Items {
				if ev.Source.Component == proxykube.GatewayComponent && ev.Type == corev1.EventTypeWarning {
					got = append(got, ns+"/"+ev.InvolvedObject.Name+" "+ev.Reason)
				}
			}
		}
		slices.Sort(got)
		want := []string{"a-tenant/copycat-routes HostsRefused", "tenant-x/bad-routes RouteTableRefused", "tenant-x/evil-routes RouteTableIgnored"}
		if last = cmp.Diff(want, got); last == "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != "" {
		t.Errorf("the gateway's Events in the tenants' namespaces (-want +got):\n%s", last)
	}

	// A gateway started now serves every good table once it is ready.
	g2, srv2 := start("gw-2", nil)
	for i := 0; !g2.ready(); i++ {
		if i == 600 {
			t.Fatal("the second gateway never became ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for h, ns := range map[string]string{"api.example.com": "default", "hello.default.svc.cluster.local": "default", "evil.a-tenant.svc.cluster.local": "a-tenant"} {
		if got, _, ok := g2.gw.Lookup(h, "/", http.Header{}); !ok || got != ns {
			t.Errorf("the second gateway, ready: %s routes to namespace %q (%v), want %s", h, got, ok, ns)
		}
	}
	if _, _, ok := g2.gw.Lookup("bad.tenant-x.svc.cluster.local", "/", http.Header{}); ok {
		t.Error("the second gateway routes the bad table's host")
	}
	for range 600 {
		if last = cmp.Diff(want, answers(srv2)); last == "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != "" {
		t.Errorf("the second gateway's answers (-want +got):\n%s", last)
	}
}
