package apply_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/sync/apply"
)

// A pass after a push reads and writes only the objects whose intent
// changed, and prunes what left; a restarted SSA (no memory of the last
// pass) and an inventory written by another SSA make a full pass, which
// takes back drift.
func TestPushPassAppliesOnlyChanged(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	o := apply.Options{FullEvery: time.Hour, Now: func() time.Time { return now }}
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
		"/api/v1/namespaces/ebb-system/configmaps/ebb-inventory-push",
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
