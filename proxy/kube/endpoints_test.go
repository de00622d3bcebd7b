//go:build unix

package kube_test

import (
	"fmt"
	"os"
	"slices"
	gosync "sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/kubetest"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving/names"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

// heard records the names a watch callback is called with.
type heard struct {
	mu      gosync.Mutex
	names   []string
	changed chan struct{}
}

func newHeard() *heard { return &heard{changed: make(chan struct{}, 1)} }

func (h *heard) add(_, name string) {
	h.mu.Lock()
	h.names = append(h.names, name)
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

func (h *heard) has(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.names, name)
}

// await checks done after each call h hears until it returns "" (done),
// and fails with its last answer when a minute passes without that.
func await(t *testing.T, h *heard, done func() string) {
	t.Helper()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		last := done()
		if last == "" {
			return
		}
		select {
		case <-h.changed:
		case <-timeout.C:
			t.Fatalf("gave up waiting: %s", last)
		}
	}
}

// TestEndpointsLongRevisionName: a revision of 60 characters, whose
// private Service's name the renderer shortens with a hash, has its ready
// pods found by the gateway's index, against a real apiserver and
// controller-manager: the EndpointSlice controller copies the Service's
// revision label onto the slices, Watch names the revision, Addresses
// lists its pod, and the activators' Peers do not take the private
// Service for a revision.
func TestEndpointsLongRevisionName(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	const ns = "longname"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rev := "hello-" + "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijkl" + "-00001"
	private := names.PrivateService(rev)
	if len(rev) != 60 || private == rev+"-private" {
		t.Fatalf("revision %s (%d characters), private Service %s: the test needs a shortened name", rev, len(rev), private)
	}

	eps := proxykube.NewEndpoints(kubetest.Clients(t, c.Config()), ns)
	told, peersTold := newHeard(), newHeard()
	defer eps.Watch(told.add)()
	defer proxykube.NewPeers(eps, proxykube.PeersOptions{SelfIP: "10.8.0.1"}).Watch(peersTold.add)()
	go eps.Run(ctx)
	if !eps.WaitForSync(ctx) {
		t.Fatal("EndpointSlices did not sync")
	}

	// The private Service as the renderer makes it: its name, the
	// revision label, a selector on the revision's pods.
	selector := map[string]string{"ebb.dev/test": "longname"}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: private, Labels: map[string]string{route.RevisionLabel: rev}},
		Spec: corev1.ServiceSpec{Selector: selector,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(proxykube.ServingPort)}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-1", Labels: selector},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kubetest.RunPod(ctx, cs, ns, "pod-1", "node-1", "10.8.1.1"); err != nil {
		t.Fatal(err)
	}
	await(t, told, func() string {
		got := eps.Addresses(ns, rev)
		if !slices.Equal(got, []string{"10.8.1.1:8012"}) || !told.has(rev) {
			return fmt.Sprintf("addresses %v, told of the revision %t; want [10.8.1.1:8012], true", got, told.has(rev))
		}
		return ""
	})

	// A slice of another Service, made after: once the Peers' watch has
	// heard of it, it has heard of every change of the private Service.
	if _, err := cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "other-1", Labels: map[string]string{discoveryv1.LabelServiceName: "other"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	await(t, peersTold, func() string {
		if !peersTold.has("other") {
			return "the Peers' watch has not heard of other"
		}
		return ""
	})
	if peersTold.has(private) || peersTold.has(rev) {
		peersTold.mu.Lock()
		defer peersTold.mu.Unlock()
		t.Errorf("the Peers' watch heard %v; want no private Service and no revision (its public slice did not change)", peersTold.names)
	}
}
