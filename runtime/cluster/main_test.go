//go:build unix

package cluster_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ebb-dev/ebb/internal/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

// writes counts the requests that can change the cluster (every method
// but GET and HEAD) as the client sends them.
type writes struct {
	mu     gosync.Mutex
	reqs   []string
	before func(req string)
}

func (w *writes) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
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

// take returns the writes counted so far and starts afresh.
func (w *writes) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.reqs
	w.reqs = nil
	return out
}

func (w *writes) onWrite(f func(string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.before = f
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// counted returns a config whose writes w counts, and a clientset on it.
func counted(t *testing.T, c *kubetest.Cluster, w *writes) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	cfg := c.Config()
	cfg.WrapTransport = w.wrap
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, cs
}

// copyExample copies examples/<name> (with its ledger) into a directory of
// the test's own, so that changes to it stay there.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("cp", "-R", filepath.Join("..", "..", "examples", name), dst).CombinedOutput()
	if err != nil {
		t.Fatalf("copy example %s: %v: %s", name, err, out)
	}
	return dst
}

// eventually calls f until it returns "" (done) or about 60 s passed,
// then fails with f's last answer. It bounds waits on controllers that
// run in other processes; it never asserts on how long they took.
func eventually(t *testing.T, f func() string) {
	t.Helper()
	var last string
	for range 600 {
		if last = f(); last == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("gave up waiting: %s", last)
}

// without drops the writes whose path contains any of parts.
func without(reqs []string, parts ...string) []string {
	var out []string
next:
	for _, r := range reqs {
		for _, p := range parts {
			if strings.Contains(r, p) {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// mustNamespace creates a namespace if it is missing.
func mustNamespace(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	_, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// gosyncMap is a set of strings safe for concurrent use.
type gosyncMap struct {
	mu  gosync.Mutex
	set map[string]bool
}

func (m *gosyncMap) add(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.set == nil {
		m.set = map[string]bool{}
	}
	m.set[s] = true
}

func (m *gosyncMap) list() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for s := range m.set {
		out = append(out, s)
	}
	return out
}
