//go:build unix

package cluster_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/serving"
)

// TestStatus follows the status ConfigMap through its conditions, and a
// restarted controller's Load that keeps it from being rewritten.
func TestStatus(t *testing.T) {
	c := kubetest.Shared(t)
	w := &writes{}
	cfg, cs := counted(t, c, w)
	k := kubetest.Clients(t, cfg)
	mustNamespace(t, cs, "ebb-system")
	ctx := t.Context()
	read := func() cluster.StatusDoc {
		t.Helper()
		doc, err := cluster.ReadStatus(ctx, k, "ebb-system", "status")
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	s := cluster.NewStatus(k, "ebb-system", "status", nil, nil)
	d := &engine.Desired{Tree: &serving.Tree{}, At: stamp("c1", 0)}

	s.Begin(ctx, d.At)
	if doc := read(); doc.Condition != cluster.Reconciling || doc.Attempted != "c1" {
		t.Errorf("after Begin: %+v", doc)
	}
	s.Applied(ctx, d, errors.New("Deployment.apps x/y: refused"))
	if doc := read(); doc.Condition != cluster.Stalled || doc.Commit != "" || doc.Message == "" {
		t.Errorf("after a failed apply: %+v", doc)
	}
	s.Applied(ctx, d, nil)
	if doc := read(); doc.Condition != cluster.Ready || doc.Commit != "c1" || doc.Attempted != "" {
		t.Errorf("after a clean apply: %+v", doc)
	}
	s.Failed(ctx, "c2", errors.New("invalid: service.yaml:3: spec: bad"))
	if doc := read(); doc.Condition != cluster.Stalled || doc.Commit != "c1" || doc.Attempted != "c2" {
		t.Errorf("after an invalid commit: %+v (want the last good commit kept)", doc)
	}
	// Applying the last good commit again (a resync, a preview) leaves
	// the invalid head's condition as it is, without a write.
	w.take()
	s.Begin(ctx, d.At)
	s.Applied(ctx, d, nil)
	if doc := read(); doc.Condition != cluster.Stalled || doc.Commit != "c1" || doc.Attempted != "c2" || doc.Message != "invalid: service.yaml:3: spec: bad" {
		t.Errorf("after applying c1 again over the invalid c2: %+v (want c2's condition kept)", doc)
	}
	if got := w.take(); len(got) != 0 {
		t.Errorf("applying c1 again over the invalid c2 wrote the status: %v", got)
	}
	// The branch reset to c1: Ready again.
	s.Resolved(ctx)
	if doc := read(); doc.Condition != cluster.Ready || doc.Commit != "c1" || doc.Attempted != "" {
		t.Errorf("after Resolved: %+v", doc)
	}
	// A failure while c1 is the head (a fetch) ends when c1 applies again.
	s.Failed(ctx, "c1", errors.New("fetch: connection refused"))
	s.Begin(ctx, d.At)
	s.Applied(ctx, d, nil)
	if doc := read(); doc.Condition != cluster.Ready || doc.Commit != "c1" || doc.Attempted != "" {
		t.Errorf("after a fetch failure and c1 applied again: %+v", doc)
	}
	s.Failed(ctx, "c2", errors.New("invalid: service.yaml:3: spec: bad"))
	s.Applied(ctx, &engine.Desired{Tree: &serving.Tree{}, At: stamp("c3", 1)}, nil)

	// A new controller loads the document and rewrites nothing.
	w.take()
	s2 := cluster.NewStatus(k, "ebb-system", "status", nil, nil)
	if err := s2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	s2.Begin(ctx, stamp("c3", 1))
	s2.Applied(ctx, &engine.Desired{Tree: &serving.Tree{}, At: stamp("c3", 1)}, nil)
	if got := w.take(); len(got) != 0 {
		t.Errorf("a restarted controller rewrote an unchanged status: %v", got)
	}

	// ListStatus finds it among the namespace's sources, in source order.
	docs, err := cluster.ListStatus(ctx, k, "ebb-system")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for i, d := range docs {
		if i > 0 && docs[i-1].Source >= d.Source {
			t.Errorf("ListStatus: %q before %q", docs[i-1].Source, d.Source)
		}
		if d.Source == "status" {
			found = d.Condition == cluster.Ready && d.Commit == "c3"
		}
	}
	if !found {
		t.Errorf("ListStatus lacks source status, Ready at c3: %+v", docs)
	}
}

// A status too large for plain JSON in a ConfigMap is gzipped into
// binaryData; readers and a restarted controller read it either way, and
// a smaller one goes back to plain JSON.
func TestStatusLarge(t *testing.T) {
	c := kubetest.Shared(t)
	w := &writes{}
	cfg, cs := counted(t, c, w)
	k := kubetest.Clients(t, cfg)
	mustNamespace(t, cs, "ebb-system")
	ctx := t.Context()
	state := func(n int, commit string) *engine.Desired {
		t.Helper()
		fsys := fstest.MapFS{}
		for i := range n {
			fsys[fmt.Sprintf("svc-%d.yaml", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
				"apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: svc-%d\n  namespace: ns-%d\nspec:\n  template:\n    spec:\n      containers:\n        - image: example.com/app\n", i, i%10))}
		}
		tree, err := serving.Load(fsys)
		if err != nil {
			t.Fatal(err)
		}
		at := stamp(commit, 0)
		ledgers, _, err := tree.Plan(at, serving.Observed{})
		if err != nil {
			t.Fatal(err)
		}
		return &engine.Desired{Tree: tree, Ledgers: ledgers, At: at}
	}
	configMap := func() *corev1.ConfigMap {
		t.Helper()
		cm, err := cs.CoreV1().ConfigMaps("ebb-system").Get(ctx, cluster.ConfigMapName("large"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}

	s := cluster.NewStatus(k, "ebb-system", "large", nil, nil)
	s.Applied(ctx, state(3000, "c1"), nil)
	cm := configMap()
	if _, plain := cm.Data[cluster.StatusKey]; plain || len(cm.BinaryData[cluster.StatusGzipKey]) == 0 {
		t.Fatalf("status of 3000 Services: data keys %v, binaryData keys %v; want it gzipped alone", slices.Sorted(maps.Keys(cm.Data)), slices.Sorted(maps.Keys(cm.BinaryData)))
	}
	if n := len(cm.BinaryData[cluster.StatusGzipKey]); n > 512<<10 {
		t.Errorf("gzipped status is %d bytes", n)
	}
	doc, err := cluster.ReadStatus(ctx, k, "ebb-system", "large")
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Services) != 3000 || doc.Condition != cluster.Ready || doc.Commit != "c1" {
		t.Errorf("read back %d Services, %s at %q", len(doc.Services), doc.Condition, doc.Commit)
	}

	// A restarted controller loads it and rewrites nothing.
	w.take()
	s2 := cluster.NewStatus(k, "ebb-system", "large", nil, nil)
	if err := s2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	s2.Applied(ctx, state(3000, "c1"), nil)
	if got := w.take(); len(got) != 0 {
		t.Errorf("a restarted controller rewrote an unchanged status: %v", got)
	}

	// Smaller again: plain JSON, and the gzipped copy is gone.
	s2.Applied(ctx, state(10, "c2"), nil)
	cm = configMap()
	if _, gz := cm.BinaryData[cluster.StatusGzipKey]; gz || cm.Data[cluster.StatusKey] == "" {
		t.Errorf("status of 10 Services: data keys %v, binaryData keys %v; want plain JSON alone", slices.Sorted(maps.Keys(cm.Data)), slices.Sorted(maps.Keys(cm.BinaryData)))
	}
	if doc, err := cluster.ReadStatus(ctx, k, "ebb-system", "large"); err != nil || len(doc.Services) != 10 || doc.Commit != "c2" {
		t.Errorf("read back %d Services at %q: %v", len(doc.Services), doc.Commit, err)
	}
}
