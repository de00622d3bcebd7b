//go:build unix

package kubetest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/ebb-dev/ebb/internal/kube"
)

// BinDir returns $EBB_KUBE_BIN, the directory hack/kube-bin.sh prints. When
// it is unset the test is skipped, unless EBB_FULL_TEST=1 (the full test
// run), where a test that cannot run must fail.
func BinDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("EBB_KUBE_BIN")
	if dir == "" {
		if os.Getenv("EBB_FULL_TEST") == "1" {
			t.Fatal("EBB_KUBE_BIN is not set: run hack/test.sh, or export EBB_KUBE_BIN=$(hack/kube-bin.sh)")
		}
		t.Skip("EBB_KUBE_BIN is not set (export EBB_KUBE_BIN=$(hack/kube-bin.sh) to run tests against a real kube-apiserver)")
	}
	for _, b := range Binaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			t.Fatalf("EBB_KUBE_BIN=%s: %v", dir, err)
		}
	}
	return dir
}

// Start runs a cluster of the test's own, in t.TempDir(), stopped when the
// test ends.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	bin := BinDir(t)
	c, err := New(t.Context(), bin, t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// shared is the package's one lazily started cluster (see Shared).
var shared struct {
	once sync.Once
	c    *Cluster
	dir  string
	err  error
}

// Shared returns the cluster shared by the tests of one package, starting
// it (etcd, kube-apiserver and kube-controller-manager) on first use. The
// package's TestMain must call Main so that it is stopped. Tests sharing it
// keep to their own namespaces.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	bin := BinDir(t)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "kubetest-")
		if shared.err != nil {
			return
		}
		shared.c, shared.err = New(context.Background(), bin, shared.dir, Options{ControllerManager: true})
	})
	if shared.err != nil {
		t.Fatalf("shared cluster: %v", shared.err)
	}
	return shared.c
}

// Main runs the package's tests and then stops the shared cluster, if one
// was started, and removes its files. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if shared.c != nil {
		shared.c.Stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	return code
}

// Clients returns ebb's clients of cfg (kube.New), failing the test when
// they cannot be made.
func Clients(t testing.TB, cfg *rest.Config) *kube.Clients {
	t.Helper()
	k, err := kube.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
