package local

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ebb-dev/ebb/proxy/probe"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler"
)

// testQueueConfig reads the few queue-proxy variables these tests set.
func testQueueConfig(getenv func(string) string) (queue.Config, error) {
	cc, _ := strconv.Atoi(getenv("CONTAINER_CONCURRENCY"))
	probes, err := probe.Parse(getenv(readinessEnv))
	return queue.Config{Namespace: getenv("SERVING_NAMESPACE"), Revision: getenv("SERVING_REVISION"),
		ContainerConcurrency: cc, Readiness: probes}, err
}

func toUnstructured(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// deployment is a revision Deployment shaped like render's.
func deployment(t *testing.T, rev, image string, command []string, env ...corev1.EnvVar) *unstructured.Unstructured {
	t.Helper()
	one, grace := int32(1), int64(5)
	return toUnstructured(t, &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: rev + "-deployment", Labels: map[string]string{route.RevisionLabel: rev, labelService: "hello"}},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{
				{Name: "user-container", Image: image, Command: command, Env: append(env, corev1.EnvVar{Name: "K_REVISION", Value: rev})},
				{Name: queueContainerName, Env: []corev1.EnvVar{
					{Name: "SERVING_NAMESPACE", Value: "default"},
					{Name: "SERVING_REVISION", Value: rev},
					{Name: "CONTAINER_CONCURRENCY", Value: "0"},
					{Name: "USER_PORT", Value: "8080"},
					{Name: readinessEnv, Value: `{"tcpSocket":{"port":8080,"host":"127.0.0.1"},"successThreshold":1}`},
					{Name: "SERVING_POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				}},
			},
		}}},
	})
}

// newTestRuntime returns a Runtime of the ebb module that restarts
// quickly, with edits applied to its options.
func newTestRuntime(t *testing.T, onTable func(route.Table), edits ...func(*Options)) *Runtime {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Dir: root, OnTable: onTable}
	for _, edit := range edits {
		edit(&opts)
	}
	return startRuntime(t, opts)
}

// startRuntime returns a Runtime of opts with the tests' queue-proxy
// configuration (and, without a Builder, one that builds in Dir into a
// cache the tests share; without a Backoff, one that restarts quickly),
// closed when the test ends.
func startRuntime(t *testing.T, opts Options) *Runtime {
	t.Helper()
	opts.QueueConfig, opts.DrainQuietPeriod = testQueueConfig, 10*time.Millisecond
	if opts.Builder == nil {
		opts.Builder = &Builder{Dir: opts.Dir, CacheDir: filepath.Join(os.TempDir(), "ebb-test-ko")}
	}
	if opts.Backoff == (Backoff{}) {
		opts.Backoff = quick
	}
	r, err := NewRuntime(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// changes returns a channel that receives when Watch tells of rev.
func changes(r *Runtime, rev string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	stop := r.Watch(func(_, name string) {
		if name != rev {
			return
		}
		select {
		case ch <- struct{}{}:
		default:
		}
	})
	return ch, stop
}

// waitReady waits, boundedly, until a revision has n ready addresses.
func waitReady(t *testing.T, r *Runtime, rev string, n int) []string {
	t.Helper()
	changed, stop := changes(r, rev)
	defer stop()
	deadline := time.After(2 * time.Minute)
	for {
		if a := r.Addresses("default", rev); len(a) == n {
			return a
		}
		select {
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: %d ready addresses, want %d; status %+v", rev, len(r.Addresses("default", rev)), n, r.Status())
		}
	}
}

func get(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestRuntimeRunsScalesAndStopsRevisions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hello example")
	}
	var table route.Table
	r := newTestRuntime(t, func(t route.Table) { table = t })
	key := scaler.RevisionKey{Namespace: "default", Name: "hello-00001"}
	routes := toUnstructured(t, &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello-routes", Labels: map[string]string{route.LabelKey: route.LabelValue}},
		Data:       map[string]string{route.DataKey: `{"routes":[{"namespace":"default","name":"hello","rules":[]}],"revisions":[{"namespace":"default","name":"hello-00001"}]}`},
	})
	good := deployment(t, "hello-00001", "ko://github.com/ebb-dev/ebb/examples/hello/app", nil, corev1.EnvVar{Name: "TARGET", Value: "Local"})
	bad := deployment(t, "hello-00002", "docker.io/library/nginx", nil)

	err := r.Apply([]*unstructured.Unstructured{good, bad, routes})
	var re *RevisionError
	if !errors.As(err, &re) || re.Key.Name != "hello-00002" || !strings.Contains(err.Error(), "cannot run locally") {
		t.Fatalf("Apply: %v, want a RevisionError for hello-00002 only", err)
	}
	if len(table.Routes) != 1 || table.Routes[0].Name != "hello" {
		t.Errorf("route table %+v", table)
	}

	addrs := waitReady(t, r, "hello-00001", 1)
	if got := get(t, addrs[0]); got != "Hello Local!\n" {
		t.Fatalf("through the queue-proxy: %q", got)
	}
	if ready, replicas, _ := r.ReadyPods(context.Background(), key); ready != 1 || replicas != 1 {
		t.Errorf("ReadyPods = %d, %d", ready, replicas)
	}

	// A killed user container is restarted and the pod comes back.
	pid := r.Status()[0].Pods[0].PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; r.Status()[0].Pods[0].Restarts == 0 && i < 600; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if st := r.Status()[0].Pods[0]; st.Restarts != 1 || st.PID == pid {
		t.Fatalf("after kill: %+v", st)
	}
	addrs = waitReady(t, r, "hello-00001", 1)
	for i := 0; i < 100 && get(t, addrs[0]) != "Hello Local!\n"; i++ {
		time.Sleep(50 * time.Millisecond)
	}

	if err := r.SetScale(context.Background(), key, 3); err != nil {
		t.Fatal(err)
	}
	addrs = waitReady(t, r, "hello-00001", 3)
	pods, _ := r.Pods(context.Background(), key)
	if len(pods) != 3 {
		t.Fatalf("Pods: %+v", pods)
	}
	var pids []int
	for _, p := range r.Status()[0].Pods {
		pids = append(pids, p.PID)
	}

	if err := r.SetScale(context.Background(), key, 0); err != nil {
		t.Fatal(err)
	}
	if a := r.Addresses("default", "hello-00001"); len(a) != 0 {
		t.Errorf("at zero, addresses %v", a)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("pid %d alive after scale to zero", pid)
		}
	}
	if _, err := http.Get("http://" + addrs[0] + "/"); err == nil {
		t.Errorf("queue-proxy %s still serving after scale to zero", addrs[0])
	}

	// Back from zero, then the revision leaves the rendered set.
	if err := r.SetScale(context.Background(), key, 1); err != nil {
		t.Fatal(err)
	}
	waitReady(t, r, "hello-00001", 1)
	pid = r.Status()[0].Pods[0].PID
	if err := r.Apply(nil); err != nil {
		t.Fatal(err)
	}
	if len(r.Status()) != 0 || syscall.Kill(pid, 0) == nil {
		t.Errorf("revision still running after it left the rendered objects: %+v", r.Status())
	}
}

func TestRuntimeReplacesPodsWhenTheTemplateChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hello example")
	}
	r := newTestRuntime(t, nil)
	img := "ko://github.com/ebb-dev/ebb/examples/hello/app"
	if err := r.Apply([]*unstructured.Unstructured{deployment(t, "hello-00001", img, nil, corev1.EnvVar{Name: "TARGET", Value: "one"})}); err != nil {
		t.Fatal(err)
	}
	addrs := waitReady(t, r, "hello-00001", 1)
	if got := get(t, addrs[0]); got != "Hello one!\n" {
		t.Fatalf("got %q", got)
	}
	old := addrs[0]
	if err := r.Apply([]*unstructured.Unstructured{deployment(t, "hello-00001", img, nil, corev1.EnvVar{Name: "TARGET", Value: "two"})}); err != nil {
		t.Fatal(err)
	}
	// The old pod serves until the new one is ready: never a moment
	// without an address.
	for i := 0; ; i++ {
		a := r.Addresses("default", "hello-00001")
		if len(a) == 0 {
			t.Fatal("no ready pod during the replacement")
		}
		if len(a) == 1 && a[0] != old {
			break
		}
		if i == 2400 {
			t.Fatalf("still %v after 2 minutes", a)
		}
		time.Sleep(50 * time.Millisecond)
	}
	addrs = waitReady(t, r, "hello-00001", 1)
	if got := get(t, addrs[0]); got != "Hello two!\n" {
		t.Fatalf("after the change: %q", got)
	}
}

func TestRuntimeCommandContainersAndEnvReferences(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	r := newTestRuntime(t, nil)
	cm := toUnstructured(t, &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "greeting"},
		Data:       map[string]string{"word": "from-configmap"},
	})
	// A command container: a shell that serves one fixed answer per
	// connection on $PORT would need nc; the ko example reads TARGET from
	// a configMapKeyRef instead, and $(VAR) expansion is checked below.
	d := deployment(t, "hello-00001", "ko://github.com/ebb-dev/ebb/examples/hello/app", nil,
		corev1.EnvVar{Name: "WORD", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "greeting"}, Key: "word"}}},
		corev1.EnvVar{Name: "TARGET", Value: "$(WORD) in $(K_REVISION)"})
	if err := r.Apply([]*unstructured.Unstructured{d, cm}); err != nil {
		t.Fatal(err)
	}
	addrs := waitReady(t, r, "hello-00001", 1)
	if got := get(t, addrs[0]); got != "Hello from-configmap in $(K_REVISION)!\n" {
		// K_REVISION is listed after TARGET, so it is not expanded, as in Kubernetes.
		t.Fatalf("got %q", got)
	}

	missing := deployment(t, "hello-00002", "ko://github.com/ebb-dev/ebb/examples/hello/app", nil,
		corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "k"}}})
	err := r.Apply([]*unstructured.Unstructured{d, cm, missing})
	if err == nil || !strings.Contains(err.Error(), `Secret default/nope key "k" not found`) {
		t.Fatalf("missing secret: %v", err)
	}
	if len(r.Addresses("default", "hello-00001")) != 1 {
		t.Error("a bad revision disturbed a running one")
	}
}

func TestLocalProbes(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"tcpSocket":{"port":8080,"host":"127.0.0.1"},"successThreshold":1}`, `{"successThreshold":1,"tcpSocket":{"host":"127.0.0.1","port":23000}}`},
		{`[{"httpGet":{"port":8080,"path":"/ready"}},{"grpc":{"port":9000}}]`, `[{"httpGet":{"path":"/ready","port":23000}},{"grpc":{"port":9000}}]`},
		{``, ``},
	} {
		got, err := localProbes(tt.in, 8080, 23000)
		if err != nil || got != tt.want {
			t.Errorf("localProbes(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := localProbes("{", 8080, 1); err == nil {
		t.Error("bad JSON accepted")
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "B": "two"}
	for in, want := range map[string]string{
		"plain":      "plain",
		"$(A)-$(B)":  "1-two",
		"$$(A)":      "$(A)",
		"$(MISSING)": "$(MISSING)",
		"$(A":        "$(A",
		"cost $5":    "cost $5",
		"trailing $": "trailing $",
	} {
		if got := expand(in, env); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}
