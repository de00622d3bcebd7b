//go:build unix

package cluster_test

import (
	"errors"
	"testing"

	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/sync"
	"github.com/ebb-dev/ebb/sync/cluster"
)

// TestStatus follows the status ConfigMap through its conditions, and a
// restarted controller's Load that keeps it from being rewritten.
func TestStatus(t *testing.T) {
	c := kubetest.Shared(t)
	w := &writes{}
	_, cs := counted(t, c, w)
	mustNamespace(t, cs, "ebb-system")
	ctx := t.Context()
	read := func() cluster.StatusDoc {
		t.Helper()
		doc, err := cluster.ReadStatus(ctx, cs, "ebb-system", "status")
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	s := cluster.NewStatus(cs, "ebb-system", "status", nil, nil)
	d := &sync.Desired{Tree: &serving.Tree{}, At: stamp("c1", 0)}

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
	s.Applied(ctx, &sync.Desired{Tree: &serving.Tree{}, At: stamp("c3", 1)}, nil)

	// A new controller loads the document and rewrites nothing.
	w.take()
	s2 := cluster.NewStatus(cs, "ebb-system", "status", nil, nil)
	if err := s2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	s2.Begin(ctx, stamp("c3", 1))
	s2.Applied(ctx, &sync.Desired{Tree: &serving.Tree{}, At: stamp("c3", 1)}, nil)
	if got := w.take(); len(got) != 0 {
		t.Errorf("a restarted controller rewrote an unchanged status: %v", got)
	}

	// ListStatus finds it among the namespace's sources, in source order.
	docs, err := cluster.ListStatus(ctx, cs, "ebb-system")
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
