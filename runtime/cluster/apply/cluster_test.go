//go:build unix

package apply_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

// writes counts the requests that can change the cluster (every method but
// GET), as the client sends them, and the reads beside them.
type writes struct {
	mu    sync.Mutex
	reqs  []string
	reads []string
	// before, if set, runs before each write is sent, given its method and path.
	before func(req string)
}

func (w *writes) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			read := r.URL.Path
			if strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadata") {
				read += " (metadata)"
			}
			w.mu.Lock()
			w.reads = append(w.reads, read)
			w.mu.Unlock()
		} else {
			w.mu.Lock()
			req := r.Method + " " + r.URL.Path
			w.reqs = append(w.reqs, req)
			before := w.before
			w.mu.Unlock()
			if before != nil {
				before(req)
			}
		}
		return rt.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// onWrite sets the function run before each write is sent.
func (w *writes) onWrite(f func(req string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.before = f
}

// takeAll returns the writes and reads counted so far and starts counting
// afresh.
func (w *writes) takeAll() (writes, reads []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	writes, reads = w.reqs, w.reads
	w.reqs, w.reads = nil, nil
	return writes, reads
}

// take returns the writes counted so far and starts counting afresh.
func (w *writes) take() []string {
	writes, _ := w.takeAll()
	return writes
}

// takeReads returns the paths read so far and starts counting afresh.
func (w *writes) takeReads() []string {
	_, reads := w.takeAll()
	return reads
}

// env is one test's view of the shared cluster: an SSA whose writes are
// counted, and a plain dynamic client for looking and meddling. now is the
// time its passes are given; a test moves it by hand.
type env struct {
	t       *testing.T
	cluster *kubetest.Cluster
	ssa     *apply.SSA
	writes  *writes
	dyn     dynamic.Interface
	now     time.Time
}

func newEnv(t *testing.T, o apply.Options) *env {
	t.Helper()
	c := kubetest.Shared(t)
	w := &writes{}
	cfg := c.Config()
	cfg.WrapTransport = w.wrap
	ssa, err := apply.New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, cluster: c, ssa: ssa, writes: w, dyn: dyn, now: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
}

// objects parses YAML documents into objects.
func objects(t testing.TB, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		j, err := yaml.YAMLToJSON([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func namespace(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {team: web}\n", name)
}

func configMap(ns, name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  key: %q\n", name, ns, value)
}

func service(ns, name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
spec:
  selector: {app: %s}
  ports:
  - {name: http, port: 80, targetPort: 8080}
`, name, ns, name)
}

// deployment renders a Deployment; revision labels it as a revision's.
func deployment(ns, name string, replicas int, image string, revision bool) string {
	labels := "app: " + name
	if revision {
		labels += ", serving.knative.dev/revision: " + name
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[2]s
  namespace: %[1]s
  labels: {%[5]s}
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[2]s}
  template:
    metadata:
      labels: {app: %[2]s}
    spec:
      containers:
      - name: app
        image: %[4]s
`, ns, name, replicas, image, labels)
}

var (
	nsGVR     = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	cmGVR     = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	svcGVR    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	deployGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// get reads a live object; nil when there is none.
func (e *env) get(gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	e.t.Helper()
	var ri dynamic.ResourceInterface = e.dyn.Resource(gvr)
	if ns != "" {
		ri = e.dyn.Resource(gvr).Namespace(ns)
	}
	u, err := ri.Get(e.t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// actions summarises a change set as "Kind ns/name action" lines, sorted.
func actions(cs apply.ChangeSet) []string {
	var out []string
	for _, c := range cs.Changes {
		out = append(out, c.Ref.String()+" "+string(c.Action))
	}
	slices.Sort(out)
	return out
}

func (e *env) apply(source string, objs []*unstructured.Unstructured) apply.ChangeSet {
	e.t.Helper()
	cs, err := e.ssa.Apply(e.t.Context(), source, objs, e.now)
	if err != nil {
		e.t.Fatalf("Apply: %v\n%s", err, cs)
	}
	return cs
}

func (e *env) wantActions(cs apply.ChangeSet, want ...string) {
	e.t.Helper()
	slices.Sort(want)
	if diff := cmp.Diff(want, actions(cs)); diff != "" {
		e.t.Errorf("changes (-want +got):\n%s", diff)
	}
}

func (e *env) wantWrites(want ...string) {
	e.t.Helper()
	got := e.writes.take()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		e.t.Errorf("write requests (-want +got):\n%s", diff)
	}
}

func (e *env) inventory(source string) []string {
	e.t.Helper()
	inv, err := e.ssa.Inventory(e.t.Context(), source)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range inv.Refs() {
		out = append(out, r.String())
	}
	return out
}

func dataKey(u *unstructured.Unstructured) string {
	v, _, _ := unstructured.NestedString(u.Object, "data", "key")
	return v
}

func replicas(u *unstructured.Unstructured) int64 {
	v, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	return v
}
