//go:build unix

package cluster_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/serving"
)

func stamp(commit string, minute int) serving.Stamp {
	return serving.Stamp{Commit: commit, Time: metav1.NewTime(time.Date(2026, 11, 22, 4, minute, 0, 0, time.UTC))}
}

// TestExamples applies every example into the real apiserver: every
// rendered object is accepted, a second sync writes nothing at all (no
// apply, no inventory, no Event, no status), and the status ConfigMap
// says Ready at the commit with each Service's URL.
func TestExamples(t *testing.T) {
	c := kubetest.Shared(t)
	w := &writes{}
	cfg, _ := counted(t, c, w)
	k := kubetest.Clients(t, cfg)
	ssa, err := apply.New(cfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dir := copyExample(t, e.Name())
			source := "example-" + e.Name()
			status := cluster.NewStatus(k, "ebb-system", source, nil, nil)
			target := &cluster.Target{Applier: ssa, Source: source, Status: status,
				Events: cluster.NewEvents(k, "ebb-system", source, "test", nil)}
			rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target}
			res, err := rec.Pass(t.Context(), os.DirFS(dir), stamp("c1", 0), time.Time{})
			if err != nil {
				t.Fatalf("first sync: %v", err)
			}
			// The Target took the objects to apply them: render them again.
			objs, err := res.Desired.All()
			if err != nil {
				t.Fatal(err)
			}
			cs1 := target.LastChangeSet()
			if n := cs1.Count(apply.Failed); n > 0 {
				t.Fatalf("%d objects refused:\n%v", n, cs1.Err())
			}
			if got, want := cs1.Count(apply.Created)+cs1.Count(apply.Configured)+cs1.Count(apply.Unchanged), len(objs); got != want {
				t.Fatalf("applied %d objects, rendered %d:\n%s", got, want, cs1)
			}
			inv, err := ssa.Inventory(t.Context(), source)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(inv.Entries), len(objs); got != want {
				t.Errorf("inventory lists %d objects, want %d", got, want)
			}
			if err := target.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			w.take()

			if _, err := rec.Pass(t.Context(), os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
				t.Fatalf("second sync: %v", err)
			}
			if err := target.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := w.take(); len(got) != 0 {
				t.Errorf("second sync wrote %d times, want 0:\n%s", len(got), strings.Join(got, "\n"))
			}
			if n := target.LastChangeSet().Count(apply.Unchanged); n != len(objs) {
				t.Errorf("second sync: %d unchanged, want %d", n, len(objs))
			}

			doc, err := cluster.ReadStatus(t.Context(), k, "ebb-system", source)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Condition != cluster.Ready || doc.Commit != "c1" || len(doc.Services) == 0 {
				t.Errorf("status = %s at %q with %d services, want Ready at c1 with services", doc.Condition, doc.Commit, len(doc.Services))
			}
			for _, s := range doc.Services {
				if s.URL == "" || len(s.Traffic) == 0 {
					t.Errorf("status of %s/%s: URL %q, traffic %v", s.Namespace, s.Name, s.URL, s.Traffic)
				}
			}
		})
	}
}

// TestChangesAndPrune follows one serving repository through a template
// change (only the new revision and the route table are written), the
// removal of its Service (its routes are pruned, its revisions stay for
// garbage collection), and the removal of its ledger (everything is
// pruned).
func TestChangesAndPrune(t *testing.T) {
	c := kubetest.Shared(t)
	w := &writes{}
	cfg, cs := counted(t, c, w)
	k := kubetest.Clients(t, cfg)
	ssa, err := apply.New(cfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The hello example, moved to a namespace of its own.
	dir := copyExample(t, "hello")
	rewrite(t, filepath.Join(dir, "service.yaml"), "namespace: default", "namespace: prune")
	if err := os.Rename(filepath.Join(dir, ".ebb", "default"), filepath.Join(dir, ".ebb", "prune")); err != nil {
		t.Fatal(err)
	}
	rewriteAll(t, filepath.Join(dir, ".ebb", "prune"), "namespace: default", "namespace: prune")
	mustNamespace(t, cs, "prune")
	const source = "prune"
	target := &cluster.Target{Applier: ssa, Source: source,
		Status: cluster.NewStatus(k, "ebb-system", source, nil, nil)}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target}
	if _, err := rec.Pass(t.Context(), os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := target.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.take()

	// A new template: a new revision; the old one stays.
	rewrite(t, filepath.Join(dir, "service.yaml"), "value: World", "value: Git")
	res, err := rec.Pass(t.Context(), os.DirFS(dir), stamp("c2", 1), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	latest := ""
	for _, l := range res.Desired.Ledgers {
		latest = l.Latest
	}
	if latest == "hello-00001" || latest == "" {
		t.Fatalf("latest revision %q after a template change", latest)
	}
	cs2 := target.LastChangeSet()
	var changed []string
	for _, a := range []apply.Action{apply.Created, apply.Configured, apply.Pruned, apply.Failed} {
		for _, r := range cs2.Refs(a) {
			changed = append(changed, string(a)+" "+r.Kind+" "+r.Name)
		}
	}
	slices.Sort(changed)
	want := []string{
		"configured ConfigMap hello-routes",
		"created Deployment " + latest + "-deployment",
		"created Service " + latest,
		"created Service " + latest + "-private",
	}
	if d := cmp.Diff(want, changed); d != "" {
		t.Errorf("changes of a new template (-want +got):\n%s", d)
	}
	// The writes are those objects, the inventory (and its pending
	// entries, as objects are created) and the status; nothing else.
	if err := target.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := without(w.take(), "/configmaps/ebb-inventory-", "/configmaps/ebb-pending-", "/configmaps/ebb-status-")
	if len(got) != len(want) {
		t.Errorf("%d object writes for %d changed objects:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}

	// The Service leaves the repository: its routes go.
	if err := os.Remove(filepath.Join(dir, "service.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Pass(t.Context(), os.DirFS(dir), stamp("c3", 2), time.Time{}); err != nil {
		t.Fatal(err)
	}
	pruned := refNames(target.LastChangeSet().Refs(apply.Pruned))
	if d := cmp.Diff([]string{"ConfigMap hello-routes", "Service hello"}, pruned); d != "" {
		t.Errorf("pruned when the Service left (-want +got):\n%s", d)
	}
	if _, err := cs.CoreV1().ConfigMaps("prune").Get(t.Context(), "hello-routes", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("route table after prune: %v, want NotFound", err)
	}
	if _, err := cs.AppsV1().Deployments("prune").Get(t.Context(), latest+"-deployment", metav1.GetOptions{}); err != nil {
		t.Errorf("revision Deployment of a removed Service (kept for GC): %v", err)
	}

	// Its ledger goes too (as garbage collection does): everything goes.
	if err := os.RemoveAll(filepath.Join(dir, ".ebb")); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Pass(t.Context(), os.DirFS(dir), stamp("c4", 3), time.Time{}); err != nil {
		t.Fatal(err)
	}
	inv, err := ssa.Inventory(t.Context(), source)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Entries) != 0 {
		t.Errorf("inventory after everything left: %v", inv.Refs())
	}
	deps, err := cs.AppsV1().Deployments("prune").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps.Items {
		if d.DeletionTimestamp == nil {
			t.Errorf("Deployment %s left after its ledger was removed", d.Name)
		}
	}
}

func refNames(refs []apply.Ref) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Kind+" "+r.Name)
	}
	slices.Sort(out)
	return out
}

func rewrite(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s: no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), old, new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func rewriteAll(t *testing.T, dir, old, new string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		rewrite(t, filepath.Join(dir, e.Name()), old, new)
	}
}
