//go:build unix

package cluster_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/proxy/activator"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler"
)

var _ activator.Peers = (*proxykube.Peers)(nil)

// gatewaySlice writes the activators Service's EndpointSlice: one ready
// endpoint per pod name → IP, with the pod as its target, as Kubernetes'
// EndpointSlice controller writes it for the gateway Deployment.
func gatewaySlice(t *testing.T, cs kubernetes.Interface, ns string, pods map[string]string) {
	t.Helper()
	ready := true
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "ebb-gateway-1", Labels: map[string]string{discoveryv1.LabelServiceName: "ebb-gateway"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, name := range slices.Sorted(maps.Keys(pods)) {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{pods[name]},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: name}})
	}
	ctx := t.Context()
	old, err := cs.DiscoveryV1().EndpointSlices(ns).Get(ctx, es.Name, metav1.GetOptions{})
	if err == nil {
		old.Endpoints = es.Endpoints
		_, err = cs.DiscoveryV1().EndpointSlices(ns).Update(ctx, old, metav1.UpdateOptions{})
	} else {
		_, err = cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, es, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestPeers: each gateway's activator learns from the real apiserver which
// activators the Runtime put in a revision's public EndpointSlice (two of
// three), finds its own address by its pod's name, is told when that
// changes, and sees no activators once the revision is served by its
// pods.
func TestPeers(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	k := kubetest.Clients(t, c.Config())
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	mustNamespace(t, cs, "peers")
	mustNamespace(t, cs, "peers-system")
	gateways := map[string]string{"gw-a": "10.2.0.1", "gw-b": "10.2.0.2", "gw-c": "10.2.0.3"}
	gatewaySlice(t, cs, "peers-system", gateways)
	acts := proxykube.ServiceRef{Namespace: "peers-system", Name: "ebb-gateway"}

	rt, eps := startRuntime(t, k, acts)
	peers := map[string]*proxykube.Peers{}
	for _, pod := range []string{"gw-a", "gw-b", "gw-c", "gw-d"} {
		peers[pod] = proxykube.NewPeers(eps, proxykube.PeersOptions{PodName: pod, Activators: acts})
	}
	told := &gosyncMap{}
	stop := peers["gw-d"].Watch(func(ns, rev string) { told.add(ns + "/" + rev) })
	defer stop()

	rev := scaler.RevisionKey{Namespace: "peers", Name: "hello-00001"}
	if err := rt.SetMode(ctx, rev, route.Proxy, 2); err != nil {
		t.Fatal(err)
	}
	_, subset, err := publicSlice(ctx, cs, rev.Namespace, rev.Name)
	if err != nil || len(subset) != 2 {
		t.Fatalf("public slice %v %v, want two activators", subset, err)
	}
	eventually(t, func() string {
		var out string
		for pod, ip := range gateways {
			got, self := peers[pod].Activators(rev.Namespace, rev.Name)
			if !cmp.Equal(got, subset) || self != ip {
				out += fmt.Sprintf("%s sees %v, self %q; ", pod, got, self)
			}
		}
		return out
	})
	if _, self := peers["gw-d"].Activators(rev.Namespace, rev.Name); self != "" {
		t.Errorf("gw-d, not an endpoint, is %q", self)
	}
	if got, self := proxykube.NewPeers(eps, proxykube.PeersOptions{SelfIP: "10.2.0.9", PodName: "gw-a", Activators: acts}).Activators(rev.Namespace, rev.Name); self != "10.2.0.9" || !cmp.Equal(got, subset) {
		t.Errorf("with a pod IP: %v, self %q", got, self)
	}

	// A fourth gateway pod comes up: it finds its address and is told of
	// the revisions in proxy mode.
	gateways["gw-d"] = "10.2.0.4"
	gatewaySlice(t, cs, "peers-system", gateways)
	eventually(t, func() string {
		_, self := peers["gw-d"].Activators(rev.Namespace, rev.Name)
		if self != "10.2.0.4" || !slices.Contains(told.list(), "peers/hello-00001") {
			return fmt.Sprintf("gw-d is %q, told of %v", self, told.list())
		}
		return ""
	})

	// Served by its pod, the revision has no activators.
	ready := true
	if _, err := cs.DiscoveryV1().EndpointSlices(rev.Namespace).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "hello-00001-private-x", Labels: map[string]string{discoveryv1.LabelServiceName: "hello-00001-private"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() string {
		if err := rt.SetMode(ctx, rev, route.Serve, 2); err != nil {
			return err.Error()
		}
		if got, self := peers["gw-a"].Activators(rev.Namespace, rev.Name); got != nil || self != "10.2.0.1" {
			return fmt.Sprintf("serve mode: gw-a sees %v, self %q", got, self)
		}
		return ""
	})
}
