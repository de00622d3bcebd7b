//go:build unix

package cluster_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// TestAPIServerRestartMidSync stops the apiserver while a sync is writing
// (before its third object write): that sync fails, the status it could
// not write is caught up, and once the apiserver is back the next sync
// applies everything and the one after writes nothing.
func TestAPIServerRestartMidSync(t *testing.T) {
	c := kubetest.Shared(t)
	w := &writes{}
	cfg, cs := counted(t, c, w)
	k := kubetest.Clients(t, cfg)
	cfg.Timeout = 5 * time.Second
	dir := helloIn(t, cs, "restart")
	ssa, err := apply.New(cfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	status := cluster.NewStatus(k, "ebb-system", "restart", nil, nil)
	target := &cluster.Target{Applier: ssa, Source: "restart", Status: status}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target}

	n := 0
	w.onWrite(func(req string) {
		if strings.Contains(req, "/namespaces/restart/") {
			n++
			if n == 3 {
				c.StopAPIServer()
			}
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err == nil {
		t.Fatal("a sync across a stopped apiserver succeeded")
	}
	w.onWrite(nil)
	if err := c.StartAPIServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
		t.Fatalf("sync after the apiserver came back: %v", err)
	}
	if err := target.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cs2 := target.LastChangeSet()
	if cs2.Count(apply.Failed) != 0 {
		t.Fatalf("failures after the restart:\n%s", cs2)
	}
	inv, err := ssa.Inventory(ctx, "restart")
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Entries) != len(cs2.Changes) {
		t.Errorf("inventory lists %d objects, the sync applied %d", len(inv.Entries), len(cs2.Changes))
	}
	if doc := status.Doc(); doc.Condition != cluster.Ready || doc.Commit != "c1" {
		t.Errorf("status after recovery: %s at %q", doc.Condition, doc.Commit)
	}
	w.take()
	if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := target.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.take(); len(got) != 0 {
		t.Errorf("resync after recovery wrote %v", got)
	}
}
