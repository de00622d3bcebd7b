//go:build unix

package kube_test

import (
	"net/http"
	"os"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/internal/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

// accepts records the Accept header of every request.
type accepts struct {
	mu  gosync.Mutex
	got map[string]string // method path -> Accept
}

func (a *accepts) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		a.mu.Lock()
		a.got[r.Method+" "+r.URL.Path] = r.Header.Get("Accept")
		a.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The clients write and read the types of their groups in protobuf, and
// the API's errors are client-go's.
func TestClientsReadAndWrite(t *testing.T) {
	c := kubetest.Shared(t)
	a := &accepts{got: map[string]string{}}
	cfg := c.Config()
	cfg.WrapTransport = a.wrap
	k := kubetest.Clients(t, cfg)
	ctx := t.Context()

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "one", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	if err := k.Core.Post().Namespace("default").Resource("configmaps").Body(cm).Do(ctx).Error(); err != nil {
		t.Fatal(err)
	}
	var got corev1.ConfigMap
	if err := k.Core.Get().Namespace("default").Resource("configmaps").Name("one").Do(ctx).Into(&got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cm.Data, got.Data); diff != "" {
		t.Errorf("ConfigMap data (-want +got):\n%s", diff)
	}
	if a := a.got["GET /api/v1/namespaces/default/configmaps/one"]; !strings.HasPrefix(a, kube.Protobuf) {
		t.Errorf("Accept of a read = %q, want protobuf first", a)
	}
	err := k.Core.Get().Namespace("default").Resource("configmaps").Name("none").Do(ctx).Into(&got)
	if !apierrors.IsNotFound(err) {
		t.Errorf("read of a missing ConfigMap = %v, want NotFound", err)
	}
	err = k.Core.Post().Namespace("default").Resource("configmaps").Body(cm).Do(ctx).Error()
	if !apierrors.IsAlreadyExists(err) {
		t.Errorf("second create = %v, want AlreadyExists", err)
	}

	// A server-side apply, forced, answered with the object.
	slice := map[string]any{
		"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
		"metadata":    map[string]any{"name": "applied", "namespace": "default", "labels": map[string]string{"a": "b"}},
		"addressType": "IPv4",
		"endpoints":   []map[string]any{{"addresses": []string{"10.9.0.1"}}},
	}
	req, err := kube.Apply(k.Discovery, "endpointslices", "default", "applied", slice, "kube-test", true)
	if err != nil {
		t.Fatal(err)
	}
	var es discoveryv1.EndpointSlice
	if err := req.Do(ctx).Into(&es); err != nil {
		t.Fatal(err)
	}
	if es.ResourceVersion == "" || len(es.Endpoints) != 1 || es.Endpoints[0].Addresses[0] != "10.9.0.1" {
		t.Errorf("applied EndpointSlice = %+v", es)
	}
	if m := es.ManagedFields; len(m) != 1 || m[0].Manager != "kube-test" || m[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managed fields = %+v, want one apply by kube-test", m)
	}
}

// An informer over the clients lists and then follows what its selector
// picks, in its namespace only.
func TestInformer(t *testing.T) {
	c := kubetest.Shared(t)
	k := kubetest.Clients(t, c.Config())
	ctx := t.Context()
	for _, ns := range []string{"informed", "elsewhere"} {
		nsObj := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}
		req, err := kube.Apply(k.Core, "namespaces", "", ns, nsObj, "kube-test", true)
		if err != nil {
			t.Fatal(err)
		}
		if err := req.Do(ctx).Error(); err != nil {
			t.Fatal(err)
		}
	}
	create := func(ns, name string, labels map[string]string) {
		t.Helper()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}}
		if err := k.Core.Post().Namespace(ns).Resource("configmaps").Body(cm).Do(ctx).Error(); err != nil {
			t.Fatal(err)
		}
	}
	picked := map[string]string{"pick": "yes"}
	create("informed", "before", picked)
	create("informed", "unlabelled", nil)
	create("elsewhere", "other", picked)

	inf := kube.Informer(k.Core, "configmaps", "informed", &corev1.ConfigMap{},
		func(o *metav1.ListOptions) { o.LabelSelector = "pick=yes" })
	added := make(chan string, 8)
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		added <- obj.(*corev1.ConfigMap).Name
	}})
	go inf.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	create("informed", "after", picked)
	var names []string
	for range 2 {
		select {
		case n := <-added:
			names = append(names, n)
		case <-time.After(time.Minute):
			t.Fatalf("informer saw %v, want before and after", names)
		}
	}
	if diff := cmp.Diff([]string{"before", "after"}, names); diff != "" {
		t.Errorf("added (-want +got):\n%s", diff)
	}
	keys, err := inf.GetIndexer().IndexKeys(cache.NamespaceIndex, "informed")
	if err != nil || len(keys) != 2 {
		t.Errorf("namespace index = %v, %v; want the two picked ConfigMaps", keys, err)
	}
}

func TestNewNeedsBurstWithQPS(t *testing.T) {
	if _, err := kube.New(&rest.Config{Host: "https://127.0.0.1:1", QPS: 5}); err == nil {
		t.Error("New with QPS and no burst succeeded")
	}
}
