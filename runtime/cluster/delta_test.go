//go:build unix

package cluster_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// TestTargetAppliesOnlyChanged gives the Target states rendered relative
// to the last one it applied, as a Loop does: a change to one Service
// writes only that Service's objects, the others are kept by name; when
// the apply step no longer remembers them (another replica led) the Target
// renders the whole state, and that full pass takes back drift.
func TestTargetAppliesOnlyChanged(t *testing.T) {
	c := kubetest.Shared(t)
	w := &writes{}
	cfg, cs := counted(t, c, w)
	const ns = "delta"
	dir := helloIn(t, cs, ns)
	svc, err := os.ReadFile(filepath.Join(dir, "service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte(strings.ReplaceAll(string(svc), "name: hello", "name: other")), 0o644); err != nil {
		t.Fatal(err)
	}
	ssa, err := apply.New(cfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	target := &cluster.Target{Applier: ssa, Source: ns}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}}
	var memo render.Memo
	pass := func(commit string, minute int) (*render.Delta, *engine.Desired) {
		t.Helper()
		res, err := rec.Pass(t.Context(), os.DirFS(dir), stamp(commit, minute), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		d := res.Desired
		delta, err := memo.Render(render.TreeInput(d.Tree, d.Ledgers))
		if err != nil {
			t.Fatal(err)
		}
		out := &engine.Desired{Tree: d.Tree, Ledgers: d.Ledgers, Objects: delta.Objects, Same: delta.Same, At: d.At}
		if err := target.Apply(t.Context(), out); err != nil {
			t.Fatalf("apply at %s: %v", commit, err)
		}
		memo.Keep(delta)
		return delta, out
	}
	r, _ := pass("c1", 0)
	total := len(r.Objects)
	if len(r.Same) != 0 || target.LastChangeSet().Count(apply.Created) != total {
		t.Fatalf("first pass: %d objects, %d same\n%s", len(r.Objects), len(r.Same), target.LastChangeSet())
	}
	w.take()

	// A new template for other: a new revision and its route; hello's
	// objects are neither rendered nor read nor written.
	rewrite(t, other, "value: World", "value: Other")
	r, _ = pass("c2", 1)
	for _, u := range r.Objects {
		if strings.HasPrefix(u.GetName(), "hello") {
			t.Errorf("rendered %s %s, want only other's objects", u.GetKind(), u.GetName())
		}
	}
	got := target.LastChangeSet()
	if got.Count(apply.Unchanged) < len(r.Same) || got.Count(apply.Created) == 0 || got.Count(apply.Failed) != 0 {
		t.Errorf("push pass with %d same:\n%s", len(r.Same), got)
	}
	for _, req := range w.take() {
		if strings.Contains(req, "hello") {
			t.Errorf("push pass wrote %s", req)
		}
	}

	// The ledger as read back from its file (a Loop applies that state, the
	// ledger commit's): a planned revision's creation time decodes in
	// another time.Location, so other's part renders once more.
	pass("c2", 1)

	// Drift in hello's public Service while another replica leads; this
	// one leads again and forgets what it applied: the next state, with
	// nothing changed, is applied whole and the drift taken back.
	svcs := cs.CoreV1().Services(ns)
	live, err := svcs.Get(t.Context(), "hello-00001", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	live.Labels["serving.knative.dev/service"] = "edited"
	if _, err := svcs.Update(t.Context(), live, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	ssa.Forget()
	w.take()
	r, d := pass("c2", 1)
	if len(r.Objects) != 0 {
		t.Errorf("unchanged state rendered %d objects, want all named the same", len(r.Objects))
	}
	all, err := d.All()
	if err != nil {
		t.Fatal(err)
	}
	got = target.LastChangeSet()
	if n := got.Count(apply.Unchanged) + got.Count(apply.Configured); n != len(all) || len(all) <= total {
		t.Errorf("full pass handled %d objects, want all %d:\n%s", n, len(all), got)
	}
	if diff := got.Refs(apply.Configured); len(diff) != 1 || diff[0].Name != "hello-00001" {
		t.Errorf("full pass configured %v, want the drifted hello-00001", diff)
	}
	if writes := w.take(); len(writes) != 1 || !strings.Contains(writes[0], "/services/hello-00001") {
		t.Errorf("full pass wrote %q, want hello-00001 alone", writes)
	}
	live, err = svcs.Get(t.Context(), "hello-00001", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v := live.Labels["serving.knative.dev/service"]; v != "hello" {
		t.Errorf("drifted label = %q after the full pass, want hello", v)
	}
}
