package local

import (
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/scaler"
)

// TestRuntimeBuildsEachRevisionFromItsSource: a revision whose Source is
// another checkout runs that checkout's code, the others Dir's; a
// revision whose Source changes gets new pods built from the new one.
func TestRuntimeBuildsEachRevisionFromItsSource(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hello example twice")
	}
	// Another checkout: the hello example, answering "Howdy".
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	other := writeFiles(t, map[string]string{
		"go.mod":                     "module github.com/ebb-dev/ebb\n\ngo 1.26\n",
		"examples/hello/app/main.go": strings.Replace(helloMain(t), `"Hello %s!\n"`, `"Howdy %s!\n"`, 1),
	})

	var mu gosync.Mutex
	sources := map[string]string{"hello-00002": other}
	r := startRuntime(t, Options{Dir: root, Source: func(key scaler.RevisionKey) string {
		mu.Lock()
		defer mu.Unlock()
		return sources[key.Name]
	}})
	img := "ko://github.com/ebb-dev/ebb/examples/hello/app"
	objs := []*unstructured.Unstructured{
		deployment(t, "hello-00001", img, nil, corev1.EnvVar{Name: "TARGET", Value: "one"}),
		deployment(t, "hello-00002", img, nil, corev1.EnvVar{Name: "TARGET", Value: "two"}),
	}
	if err := r.Apply(objs); err != nil {
		t.Fatal(err)
	}
	for rev, want := range map[string]string{"hello-00001": "Hello one!\n", "hello-00002": "Howdy two!\n"} {
		if got := get(t, waitReady(t, r, rev, 1)[0]); got != want {
			t.Errorf("%s answers %q, want %q", rev, got, want)
		}
	}

	// hello-00001 moves to the other checkout: new pods, its code.
	old := r.Addresses("default", "hello-00001")[0]
	mu.Lock()
	sources["hello-00001"] = other
	mu.Unlock()
	if err := r.Apply(objs); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if a := r.Addresses("default", "hello-00001"); len(a) == 1 && a[0] != old {
			break
		}
		if i == 2400 {
			t.Fatalf("hello-00001 still on its old pod after 2 minutes: %+v", r.Status())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := get(t, waitReady(t, r, "hello-00001", 1)[0]); got != "Howdy one!\n" {
		t.Errorf("hello-00001 from the other checkout answers %q", got)
	}
}
