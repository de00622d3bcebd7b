//go:build unix

package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
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
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/internal/kubetest"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving/names"
)

// helloIn copies the hello example into a directory of the test's own with
// its Service and ledger moved to namespace ns, and creates ns.
func helloIn(t *testing.T, cs kubernetes.Interface, ns string) string {
	t.Helper()
	dir := copyExample(t, "hello")
	rewrite(t, filepath.Join(dir, "service.yaml"), "namespace: default", "namespace: "+ns)
	if err := os.Rename(filepath.Join(dir, ".ebb", "default"), filepath.Join(dir, ".ebb", ns)); err != nil {
		t.Fatal(err)
	}
	rewriteAll(t, filepath.Join(dir, ".ebb", ns), "namespace: default", "namespace: "+ns)
	mustNamespace(t, cs, ns)
	return dir
}

// activators makes a selector-less Service whose EndpointSlice lists ips
// as ready: the activators, as the gateway Deployment's pods would be.
func activators(t *testing.T, cs kubernetes.Interface, ns string, ips ...string) proxykube.ServiceRef {
	t.Helper()
	mustNamespace(t, cs, ns)
	ctx := t.Context()
	if _, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "ebb-gateway"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready := true
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "ebb-gateway-1", Labels: map[string]string{discoveryv1.LabelServiceName: "ebb-gateway"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, ip := range ips {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	if _, err := cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, es, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return proxykube.ServiceRef{Namespace: ns, Name: "ebb-gateway"}
}

// runPods marks the revision's pending pods running with IPs from base
// (10.1.<n>.x: data in the API only, never dialled).
func runPods(t *testing.T, cs kubernetes.Interface, ns, rev string, ips map[string]string, base string) {
	t.Helper()
	pods, err := cs.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: route.RevisionLabel + "=" + rev})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if _, ok := ips[p.Name]; ok || p.DeletionTimestamp != nil {
			continue
		}
		ip := fmt.Sprintf("%s.%d", base, len(ips)+1)
		if _, err := kubetest.RunPod(t.Context(), cs, ns, p.Name, "node-1", ip); err != nil {
			t.Fatal(err)
		}
		ips[p.Name] = ip
	}
}

// startRuntime runs an EndpointSlice index and a Runtime over it (its
// informers and its endpoint switching) until the test ends, and waits
// for their first lists.
func startRuntime(t *testing.T, k *kube.Clients, acts proxykube.ServiceRef) (*cluster.Runtime, *proxykube.Endpoints) {
	t.Helper()
	return startRuntimeWith(t, k, cluster.RuntimeOptions{Activators: acts})
}

// startRuntimeWith is startRuntime with options (their Endpoints made
// here).
func startRuntimeWith(t *testing.T, k *kube.Clients, o cluster.RuntimeOptions) (*cluster.Runtime, *proxykube.Endpoints) {
	t.Helper()
	ctx := t.Context()
	eps := proxykube.NewEndpoints(k, "")
	o.Endpoints = eps
	rt := cluster.NewRuntime(k, o)
	go eps.Run(ctx)
	go rt.Watch(ctx)
	go rt.Run(ctx)
	if !rt.WaitForSync(ctx) {
		t.Fatal("informers did not sync")
	}
	return rt, eps
}

// publicSlice reads the revision's public EndpointSlice: mode and sorted
// addresses.
func publicSlice(ctx context.Context, cs kubernetes.Interface, ns, rev string) (string, []string, error) {
	es, err := cs.DiscoveryV1().EndpointSlices(ns).Get(ctx, rev, metav1.GetOptions{})
	if err != nil {
		return "", nil, err
	}
	var addrs []string
	for _, ep := range es.Endpoints {
		addrs = append(addrs, ep.Addresses...)
	}
	slices.Sort(addrs)
	return es.Labels[proxykube.ModeLabel], addrs, nil
}

// TestRuntime drives the autoscaler's runtime by hand against the real
// apiserver and controller-manager: ready pods come from the private
// Service's EndpointSlices, the scale subresource moves spec.replicas
// (and a resync leaves it alone), and the public EndpointSlice switches
// between activators and pods, following new pods in serve mode.
func TestRuntime(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	w := &writes{}
	cfg, cs := counted(t, c, w)
	k := kubetest.Clients(t, cfg)
	dir := helloIn(t, cs, "runtime")
	acts := activators(t, cs, "runtime-system", "10.2.0.1", "10.2.0.2", "10.2.0.3")
	ssa, err := apply.New(cfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: &cluster.Target{Applier: ssa, Source: "runtime"}}
	if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
		t.Fatal(err)
	}

	rt, _ := startRuntime(t, k, acts)
	rev := scaler.RevisionKey{Namespace: "runtime", Name: "hello-00001"}
	ips := map[string]string{}
	eventually(t, func() string {
		runPods(t, cs, rev.Namespace, rev.Name, ips, "10.1.0")
		ready, replicas, err := rt.ReadyPods(ctx, rev)
		if err != nil || ready != 1 || replicas != 1 {
			return fmt.Sprintf("ready %d, replicas %d, err %v; want 1, 1", ready, replicas, err)
		}
		return ""
	})
	pods, err := rt.Pods(ctx, rev)
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 1 || pods[0].Address != "10.1.0.1:9090" || pods[0].Name == "" {
		t.Errorf("Pods = %+v, want one pod at 10.1.0.1:9090", pods)
	}

	// Proxy mode: two of the three activators.
	if err := rt.SetMode(ctx, rev, route.Proxy, 2); err != nil {
		t.Fatal(err)
	}
	mode, addrs, err := publicSlice(ctx, cs, rev.Namespace, rev.Name)
	if err != nil {
		t.Fatal(err)
	}
	if mode != "proxy" || len(addrs) != 2 || !strings.HasPrefix(addrs[0], "10.2.0.") {
		t.Errorf("proxy mode: %s %v, want proxy and two activators", mode, addrs)
	}
	// Setting the same mode again writes nothing.
	w.take()
	if err := rt.SetMode(ctx, rev, route.Proxy, 2); err != nil {
		t.Fatal(err)
	}
	if got := w.take(); len(got) != 0 {
		t.Errorf("same mode again wrote %v", got)
	}

	// Serve mode: the pods.
	if err := rt.SetMode(ctx, rev, route.Serve, 2); err != nil {
		t.Fatal(err)
	}
	mode, addrs, _ = publicSlice(ctx, cs, rev.Namespace, rev.Name)
	if d := cmp.Diff([]string{"10.1.0.1"}, addrs); mode != "serve" || d != "" {
		t.Errorf("serve mode: %s, addresses (-want +got):\n%s", mode, d)
	}

	// The autoscaler scales through the scale subresource.
	if err := rt.SetScale(ctx, rev, 2); err != nil {
		t.Fatal(err)
	}
	dep, err := cs.AppsV1().Deployments(rev.Namespace).Get(ctx, names.Deployment(rev.Name), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 2 {
		t.Errorf("replicas after SetScale(2) = %d", *dep.Spec.Replicas)
	}
	scaled := false
	for _, m := range dep.ManagedFields {
		scaled = scaled || (m.Manager == cluster.AutoscalerManager && m.Subresource == "scale")
	}
	if !scaled {
		t.Errorf("no managedFields entry of %s on the scale subresource", cluster.AutoscalerManager)
	}
	// The new pod comes up; serve mode follows it.
	eventually(t, func() string {
		runPods(t, cs, rev.Namespace, rev.Name, ips, "10.1.0")
		_, addrs, err := publicSlice(ctx, cs, rev.Namespace, rev.Name)
		if d := cmp.Diff([]string{"10.1.0.1", "10.1.0.2"}, addrs); err != nil || d != "" {
			return fmt.Sprintf("public slice (-want +got) %v:\n%s", err, d)
		}
		return ""
	})
	// Someone edits the public slice, then deletes it: the Runtime puts
	// it back either time.
	_, err = cs.DiscoveryV1().EndpointSlices(rev.Namespace).Patch(ctx, rev.Name, types.JSONPatchType,
		[]byte(`[{"op":"replace","path":"/endpoints/0/addresses/0","value":"10.9.9.9"}]`), metav1.PatchOptions{FieldManager: "someone"})
	if err != nil {
		t.Fatal(err)
	}
	restored := func() string {
		mode, addrs, err := publicSlice(ctx, cs, rev.Namespace, rev.Name)
		if d := cmp.Diff([]string{"10.1.0.1", "10.1.0.2"}, addrs); err != nil || mode != "serve" || d != "" {
			return fmt.Sprintf("public slice %s %v (-want +got):\n%s", mode, err, d)
		}
		return ""
	}
	eventually(t, restored)
	if err := cs.DiscoveryV1().EndpointSlices(rev.Namespace).Delete(ctx, rev.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, restored)

	// A resync leaves the autoscaler's replicas alone, and writes nothing:
	// ebb no longer owning spec.replicas is not a change (see runtime/cluster/apply).
	w.take()
	for i, wantMax := range []int{0, 0} {
		if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
			t.Fatal(err)
		}
		got := without(w.take(), "/endpointslices/")
		if len(got) > wantMax {
			t.Errorf("resync %d after scaling wrote %v, want at most %d writes", i+1, got, wantMax)
		}
		for _, g := range got {
			if !strings.Contains(g, "/deployments/hello-00001-deployment") && !strings.Contains(g, "/ebb-inventory-") {
				t.Errorf("resync %d after scaling wrote %s", i+1, g)
			}
		}
	}
	dep, err = cs.AppsV1().Deployments(rev.Namespace).Get(ctx, names.Deployment(rev.Name), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 2 {
		t.Errorf("replicas after a resync = %d, want the autoscaler's 2", *dep.Spec.Replicas)
	}

	// Without ready pods, serve mode falls back to the activators.
	for name := range ips {
		if err := cs.CoreV1().Pods(rev.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rt.SetScale(ctx, rev, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() string {
		if ready, _, _ := rt.ReadyPods(ctx, rev); ready != 0 {
			return fmt.Sprintf("%d ready pods after deleting them", ready)
		}
		return ""
	})
	if err := rt.SetMode(ctx, rev, route.Serve, 2); err != nil {
		t.Fatal(err)
	}
	mode, addrs, _ = publicSlice(ctx, cs, rev.Namespace, rev.Name)
	if mode != "proxy" || len(addrs) != 2 {
		t.Errorf("serve mode without pods: %s %v, want proxy through two activators", mode, addrs)
	}
}

// TestAutoscaler runs the real autoscaler over the cluster runtime: the
// queue-proxies' stats (served by a loopback test server that the
// scraper's transport dials in place of the pod IPs) report load, and the
// decision moves the Deployment's spec.replicas through the scale
// subresource.
func TestAutoscaler(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	w := &writes{}
	cfg, cs := counted(t, c, w)
	k := kubetest.Clients(t, cfg)
	dir := helloIn(t, cs, "autoscaler")
	acts := activators(t, cs, "autoscaler-system", "10.2.1.1", "10.2.1.2")
	ssa, err := apply.New(cfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := startRuntime(t, k, acts)

	// Each pod reports 100 requests in flight (the target is 70 a pod).
	stats := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != metric.StatPath {
			http.NotFound(rw, r)
			return
		}
		_ = json.NewEncoder(rw).Encode(metric.Stat{PodName: r.Host, AverageConcurrentRequests: 100, RequestCount: 100, ProcessUptime: 3600})
	}))
	defer stats.Close()
	var dialed gosyncMap
	scrape := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed.add(addr)
		return (&net.Dialer{}).DialContext(ctx, network, stats.Listener.Addr().String())
	}}}
	as, err := scaler.New(scaler.Options{Scaler: rt, Modes: rt, Pods: rt, Scraper: &scaler.Scraper{Client: scrape}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = as.Run(ctx) }()
	// With no burst capacity to keep, the activator leaves the path as soon
	// as pods are ready.
	if err := os.WriteFile(filepath.Join(dir, "config-autoscaler.yaml"), []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: ebb-system
data:
  target-burst-capacity: "0"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	target := &cluster.Target{Applier: ssa, Source: "autoscaler", Autoscaler: as, Forget: rt.Forget}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target}
	if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
		t.Fatal(err)
	}
	rev := scaler.RevisionKey{Namespace: "autoscaler", Name: "hello-00001"}
	ips := map[string]string{}
	var replicas int32
	eventually(t, func() string {
		runPods(t, cs, rev.Namespace, rev.Name, ips, "10.1.1")
		dep, err := cs.AppsV1().Deployments(rev.Namespace).Get(ctx, names.Deployment(rev.Name), metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		replicas = *dep.Spec.Replicas
		if replicas < 2 {
			st, _ := as.Status(rev)
			return fmt.Sprintf("replicas %d; autoscaler: %+v", replicas, st)
		}
		// The revision is served by its pods: the public slice points at them.
		mode, addrs, err := publicSlice(ctx, cs, rev.Namespace, rev.Name)
		if err != nil || mode != "serve" || len(addrs) == 0 || !strings.HasPrefix(addrs[0], "10.1.1.") {
			return fmt.Sprintf("public slice %s %v %v, want serve mode on the pods", mode, addrs, err)
		}
		return ""
	})
	dep, err := cs.AppsV1().Deployments(rev.Namespace).Get(ctx, names.Deployment(rev.Name), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned := false
	for _, m := range dep.ManagedFields {
		owned = owned || (m.Manager == cluster.AutoscalerManager && m.Subresource == "scale")
	}
	if !owned {
		t.Error("spec.replicas moved, but not through the scale subresource by the autoscaler")
	}
	for _, a := range dialed.list() {
		if !strings.HasPrefix(a, "10.1.1.") || !strings.HasSuffix(a, ":9090") {
			t.Errorf("scraped %s, want pod IPs at :9090", a)
		}
	}
	if len(dialed.list()) == 0 {
		t.Error("no pod was scraped")
	}
}
