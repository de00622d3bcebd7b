package apply_test

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// A pass after a push reads and writes only the objects whose intent
// changed, and prunes what left; a restarted SSA (no memory of the last
// pass) and an inventory written by another SSA make a full pass, which
// takes back drift.
func TestPushPassAppliesOnlyChanged(t *testing.T) {
	o := apply.Options{FullEvery: time.Hour}
	e := newEnv(t, o)
	const ns = "push"
	set := func(changed string, drop int) []string {
		docs := []string{namespace(ns)}
		for i := range 20 {
			switch {
			case i == drop:
			case i == 3:
				docs = append(docs, configMap(ns, "cm-"+strconv.Itoa(i), changed))
			default:
				docs = append(docs, configMap(ns, "cm-"+strconv.Itoa(i), "v"))
			}
		}
		return docs
	}
	e.apply("push", objects(t, set("v", -1)...))
	e.writes.take()

	cs := e.apply("push", objects(t, set("v2", 7)...))
	if got, want := cs.Count(apply.Unchanged), 19; got != want {
		t.Errorf("unchanged: %d, want %d\n%s", got, want, cs)
	}
	if diff := cmp.Diff([]apply.Ref{{Kind: "ConfigMap", Namespace: ns, Name: "cm-3"}}, cs.Refs(apply.Configured)); diff != "" {
		t.Errorf("configured (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]apply.Ref{{Kind: "ConfigMap", Namespace: ns, Name: "cm-7"}}, cs.Refs(apply.Pruned)); diff != "" {
		t.Errorf("pruned (-want +got):\n%s", diff)
	}
	var order []apply.Ref
	for _, c := range cs.Changes {
		if c.Action != apply.Pruned {
			order = append(order, c.Ref)
		}
	}
	if !slices.IsSortedFunc(order, apply.Compare) || len(order) != 20 {
		t.Errorf("changes not listed in apply order:\n%s", cs)
	}
	writes, reads := e.writes.takeAll()
	wantReads := []string{
		"/api/v1/namespaces/ebb-system/configmaps/ebb-inventory-push (metadata)", // the one it wrote: not read whole
		"/api/v1/namespaces/ebb-system/configmaps/ebb-pending-push",
		"/api/v1/namespaces/push/configmaps/cm-3",
		"/api/v1/namespaces/push/configmaps/cm-7", // prune reads it for ebb.dev/prune
	}
	if diff := cmp.Diff(wantReads, reads); diff != "" {
		t.Errorf("reads of a push pass (-want +got):\n%s", diff)
	}
	wantWrites := []string{
		"PATCH /api/v1/namespaces/push/configmaps/cm-3",
		"DELETE /api/v1/namespaces/push/configmaps/cm-7",
		"PATCH /api/v1/namespaces/ebb-system/configmaps/ebb-inventory-push",
	}
	if diff := cmp.Diff(wantWrites, writes); diff != "" {
		t.Errorf("writes of a push pass (-want +got):\n%s", diff)
	}
	if dataKey(e.get(cmGVR, ns, "cm-3")) != "v2" {
		t.Errorf("cm-3 not updated")
	}

	// Drift in an unchanged object: a push pass leaves it, a restarted
	// controller's first pass takes it back.
	edit := func(name string) {
		t.Helper()
		cm := e.get(cmGVR, ns, name)
		cm.Object["data"] = map[string]any{"key": "edited"}
		if _, err := e.dyn.Resource(cmGVR).Namespace(ns).Update(t.Context(), cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
	}
	edit("cm-0")
	e.apply("push", objects(t, set("v2", 7)...))
	if got := dataKey(e.get(cmGVR, ns, "cm-0")); got != "edited" {
		t.Errorf("cm-0 = %q after a push pass, want the drift left for the full pass", got)
	}
	restarted := newEnv(t, o)
	cs = restarted.apply("push", objects(t, set("v2", 7)...))
	if diff := cmp.Diff([]apply.Ref{{Kind: "ConfigMap", Namespace: ns, Name: "cm-0"}}, cs.Refs(apply.Configured)); diff != "" {
		t.Errorf("configured by a restarted SSA's first pass (-want +got):\n%s", diff)
	}
	if got := dataKey(e.get(cmGVR, ns, "cm-0")); got != "v" {
		t.Errorf("cm-0 = %q after a restart, want v", got)
	}

	// The first SSA's memory no longer matches the inventory the restarted
	// one stored (cm-7 came back there): its next pass is full.
	restarted.apply("push", objects(t, set("v2", -1)...))
	edit("cm-1")
	cs = e.apply("push", objects(t, set("v2", 7)...))
	if diff := cmp.Diff([]apply.Ref{{Kind: "ConfigMap", Namespace: ns, Name: "cm-1"}}, cs.Refs(apply.Configured)); diff != "" {
		t.Errorf("configured after another SSA wrote the inventory (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]apply.Ref{{Kind: "ConfigMap", Namespace: ns, Name: "cm-7"}}, cs.Refs(apply.Pruned)); diff != "" {
		t.Errorf("pruned (-want +got):\n%s", diff)
	}

	// Drift while another SSA led, with the inventory left byte for byte
	// as this one wrote it: after Forget (the controller calls it when it
	// leads again) the next pass is full and takes the drift back.
	edit("cm-2")
	e.ssa.Forget()
	cs = e.apply("push", objects(t, set("v2", 7)...))
	if diff := cmp.Diff([]apply.Ref{{Kind: "ConfigMap", Namespace: ns, Name: "cm-2"}}, cs.Refs(apply.Configured)); diff != "" {
		t.Errorf("configured after Forget (-want +got):\n%s", diff)
	}
}

// ApplyChanged takes the objects it is told are unchanged from its memory
// of the last Apply, without reading them, and still prunes what no object
// names; when a full pass is due, or it does not remember an object, it
// writes nothing and asks for every object.
func TestApplyChanged(t *testing.T) {
	e := newEnv(t, apply.Options{FullEvery: time.Hour})
	const ns = "changed"
	cm := func(i int, v string) string { return configMap(ns, "cm-"+strconv.Itoa(i), v) }
	same := func(names ...int) []apply.Entry {
		var out []apply.Entry
		for _, i := range names {
			out = append(out, apply.Entry{Ref: apply.Ref{Kind: "ConfigMap", Namespace: ns, Name: "cm-" + strconv.Itoa(i)}, Version: "v1"})
		}
		return out
	}
	applyChanged := func(changed []string, same []apply.Entry) (apply.ChangeSet, error) {
		t.Helper()
		return e.ssa.ApplyChanged(t.Context(), "changed", objects(t, changed...), same, e.now)
	}

	// Nothing remembered yet: a full pass.
	if _, err := applyChanged([]string{namespace(ns), cm(0, "v")}, same(1, 2, 3)); !errors.Is(err, apply.ErrFullPass) {
		t.Fatalf("ApplyChanged before any Apply: %v, want ErrFullPass", err)
	}
	e.wantWrites()
	e.apply("changed", objects(t, namespace(ns), cm(0, "v"), cm(1, "v"), cm(2, "v"), cm(3, "v")))
	e.writes.take()

	// cm-0 changed, cm-1 and cm-2 the same, cm-3 gone.
	cs, err := applyChanged([]string{namespace(ns), cm(0, "v2")}, same(1, 2))
	if err != nil {
		t.Fatalf("ApplyChanged: %v\n%s", err, cs)
	}
	e.wantActions(cs, "Namespace changed unchanged", "ConfigMap changed/cm-0 configured",
		"ConfigMap changed/cm-1 unchanged", "ConfigMap changed/cm-2 unchanged", "ConfigMap changed/cm-3 pruned")
	writes, reads := e.writes.takeAll()
	wantReads := []string{
		"/api/v1/namespaces/ebb-system/configmaps/ebb-inventory-changed (metadata)",
		"/api/v1/namespaces/ebb-system/configmaps/ebb-pending-changed",
		"/api/v1/namespaces/changed/configmaps/cm-0",
		"/api/v1/namespaces/changed/configmaps/cm-3",
	}
	if diff := cmp.Diff(wantReads, reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
	wantWrites := []string{
		"PATCH /api/v1/namespaces/changed/configmaps/cm-0",
		"DELETE /api/v1/namespaces/changed/configmaps/cm-3",
		"PATCH /api/v1/namespaces/ebb-system/configmaps/ebb-inventory-changed",
	}
	if diff := cmp.Diff(wantWrites, writes); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Namespace changed", "ConfigMap changed/cm-0", "ConfigMap changed/cm-1", "ConfigMap changed/cm-2"}, e.inventory("changed")); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}

	// The memory carries on: cm-0's new intent is remembered too.
	cs, err = applyChanged(nil, append(same(0, 1, 2), apply.Entry{Ref: apply.Ref{Kind: "Namespace", Name: ns}, Version: "v1"}))
	if err != nil || cs.Count(apply.Unchanged) != 4 || len(cs.Changes) != 4 {
		t.Fatalf("ApplyChanged of nothing changed: %v\n%s", err, cs)
	}
	e.wantWrites()

	for name, tt := range map[string]struct {
		changed []string
		same    []apply.Entry
	}{
		"never applied": {changed: []string{namespace(ns)}, same: same(0, 1, 2, 3)},
		"another version": {changed: []string{namespace(ns), cm(1, "v"), cm(2, "v")},
			same: []apply.Entry{{Ref: apply.Ref{Kind: "ConfigMap", Namespace: ns, Name: "cm-0"}, Version: "v2"}}},
	} {
		if cs, err := applyChanged(tt.changed, tt.same); !errors.Is(err, apply.ErrFullPass) || len(cs.Changes) != 0 {
			t.Errorf("%s: %v\n%s, want ErrFullPass and no change", name, err, cs)
		}
		e.wantWrites()
	}

	// Named both changed and same: refused like an object rendered twice.
	cs, err = applyChanged([]string{namespace(ns), cm(0, "v3")}, same(0, 1, 2))
	if !errors.Is(err, apply.ErrInvalidObject) || cs.Count(apply.Failed) != 1 {
		t.Errorf("object changed and same: %v\n%s", err, cs)
	}
	e.writes.take()

	// A full pass is due: nothing is written until every object comes.
	e.now = e.now.Add(2 * time.Hour)
	if _, err := applyChanged([]string{namespace(ns)}, same(0, 1, 2)); !errors.Is(err, apply.ErrFullPass) {
		t.Errorf("ApplyChanged with a full pass due: %v, want ErrFullPass", err)
	}
	e.wantWrites()
}
