//go:build unix

package apply_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Apply creates, then a resync writes nothing, a changed object is the only
// write, and an object left out is pruned.
func TestApplyResyncChangePrune(t *testing.T) {
	e := newEnv(t, apply.Options{})
	const ns = "basic"
	set := func(value string, withService bool) []*unstructured.Unstructured {
		docs := []string{namespace(ns), configMap(ns, "config", value), deployment(ns, "web", 1, "example.com/web:1", false)}
		if withService {
			docs = append(docs, service(ns, "web"))
		}
		return objects(t, docs...)
	}

	cs := e.apply("basic", set("one", true))
	e.wantActions(cs,
		"Namespace basic created",
		"ConfigMap basic/config created",
		"Service basic/web created",
		"Deployment.apps basic/web created",
	)
	// In dependency order: the namespace first, then config, then workloads.
	order := cs.Refs(apply.Created)
	if order[0].Kind != "Namespace" || order[1].Kind != "ConfigMap" {
		t.Errorf("apply order %v: want Namespace, then ConfigMap, then workloads", order)
	}
	if diff := cmp.Diff([]string{
		"Namespace basic", "ConfigMap basic/config", "Service basic/web", "Deployment.apps basic/web",
	}, e.inventory("basic")); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
	e.writes.take()

	cs = e.apply("basic", set("one", true))
	e.wantActions(cs,
		"Namespace basic unchanged",
		"ConfigMap basic/config unchanged",
		"Service basic/web unchanged",
		"Deployment.apps basic/web unchanged",
	)
	e.wantWrites() // none at all

	cs = e.apply("basic", set("two", true))
	e.wantActions(cs,
		"Namespace basic unchanged",
		"ConfigMap basic/config configured",
		"Service basic/web unchanged",
		"Deployment.apps basic/web unchanged",
	)
	e.wantWrites("PATCH /api/v1/namespaces/basic/configmaps/config")
	if got := dataKey(e.get(cmGVR, ns, "config")); got != "two" {
		t.Errorf("config data.key = %q, want two", got)
	}

	cs = e.apply("basic", set("two", false))
	e.wantActions(cs,
		"Namespace basic unchanged",
		"ConfigMap basic/config unchanged",
		"Deployment.apps basic/web unchanged",
		"Service basic/web pruned",
	)
	if e.get(svcGVR, ns, "web") != nil {
		t.Errorf("Service basic/web still exists after prune")
	}
	if slices.Contains(e.inventory("basic"), "Service basic/web") {
		t.Errorf("pruned Service still in the inventory")
	}
	e.writes.take()
	e.apply("basic", set("two", false))
	e.wantWrites()
}

// A revision Deployment's replicas belong to the autoscaler: a change
// through the scale subresource survives every later apply.
func TestRevisionReplicasLeftToAutoscaler(t *testing.T) {
	e := newEnv(t, apply.Options{FullEvery: -1})
	const ns = "scaling"
	set := func(replicas int, image string) []*unstructured.Unstructured {
		return objects(t, namespace(ns), deployment(ns, "web-00001", replicas, image, true))
	}
	e.apply("scaling", set(2, "example.com/web:1"))
	if got := replicas(e.get(deployGVR, ns, "web-00001")); got != 2 {
		t.Fatalf("created with replicas %d, want the initial scale 2", got)
	}

	// Before anyone scales, a change to the Deployment neither resets
	// replicas to the default nor lets go of them.
	e.apply("scaling", set(2, "example.com/web:2"))
	if got := replicas(e.get(deployGVR, ns, "web-00001")); got != 2 {
		t.Errorf("after a template change replicas = %d, want 2", got)
	}

	// The autoscaler scales through the scale subresource.
	_, err := e.dyn.Resource(deployGVR).Namespace(ns).Patch(t.Context(), "web-00001", types.MergePatchType,
		[]byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{FieldManager: "autoscaler"}, "scale")
	if err != nil {
		t.Fatal(err)
	}
	e.writes.take()
	// The first full pass after that finds replicas no longer ebb's: the
	// fields ebb owns otherwise did not change, so nothing is written.
	e.apply("scaling", set(2, "example.com/web:2"))
	e.wantWrites()
	for i, s := range [][]*unstructured.Unstructured{
		set(2, "example.com/web:2"), // resync with the original initial scale
		set(9, "example.com/web:2"), // a new initial scale is not a change
		set(9, "example.com/web:3"), // a real change
		set(9, "example.com/web:3"), // and a resync after it
	} {
		e.apply("scaling", s)
		if got := replicas(e.get(deployGVR, ns, "web-00001")); got != 5 {
			t.Errorf("apply %d: replicas = %d, want the autoscaler's 5", i, got)
		}
	}
	e.writes.take()
	cs := e.apply("scaling", set(9, "example.com/web:3"))
	e.wantActions(cs, "Namespace scaling unchanged", "Deployment.apps scaling/web-00001 unchanged")
	e.wantWrites()

	// An ordinary Deployment's replicas are ebb's: scaling it is drift.
	e.apply("scaling", objects(t, namespace(ns), deployment(ns, "plain", 2, "example.com/web:1", false)))
	_, err = e.dyn.Resource(deployGVR).Namespace(ns).Patch(t.Context(), "plain", types.MergePatchType,
		[]byte(`{"spec":{"replicas":4}}`), metav1.PatchOptions{FieldManager: "someone"}, "scale")
	if err != nil {
		t.Fatal(err)
	}
	e.apply("scaling", objects(t, namespace(ns), deployment(ns, "plain", 2, "example.com/web:1", false)))
	if got := replicas(e.get(deployGVR, ns, "plain")); got != 2 {
		t.Errorf("ordinary Deployment: replicas = %d, want 2 restored", got)
	}
}

// Someone editing a field ebb applied is undone by the next apply; an edit
// to a field ebb does not manage is left alone, with no write.
//
// Drift is taken back by a full pass: the first Apply of an SSA, and one
// every Options.FullEvery. An Apply in between (a push's) skips objects
// whose intent did not change without reading them, so it leaves drift in
// them alone.
func TestDriftCorrected(t *testing.T) {
	e := newEnv(t, apply.Options{FullEvery: time.Hour})
	const ns = "drift"
	set := objects(t, namespace(ns), configMap(ns, "config", "wanted"), deployment(ns, "web", 1, "example.com/web:1", false))
	e.apply("drift", set)

	cm := e.get(cmGVR, ns, "config")
	_ = unstructured.SetNestedField(cm.Object, "edited", "data", "key")
	if _, err := e.dyn.Resource(cmGVR).Namespace(ns).Update(t.Context(), cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.dyn.Resource(deployGVR).Namespace(ns).Patch(t.Context(), "web", types.JSONPatchType,
		[]byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"example.com/evil:1"}]`),
		metav1.PatchOptions{FieldManager: "kubectl-patch"})
	if err != nil {
		t.Fatal(err)
	}
	e.writes.take()

	e.now = e.now.Add(59 * time.Minute)
	cs := e.apply("drift", set)
	e.wantActions(cs, "Namespace drift unchanged", "ConfigMap drift/config unchanged", "Deployment.apps drift/web unchanged")
	writes, reads := e.writes.takeAll()
	if diff := cmp.Diff([]string{"/api/v1/namespaces/ebb-system/configmaps/ebb-inventory-drift (metadata)", "/api/v1/namespaces/ebb-system/configmaps/ebb-pending-drift"}, reads); diff != "" {
		t.Errorf("reads of a pass between full passes (-want +got):\n%s", diff)
	}
	if len(writes) > 0 {
		t.Errorf("writes of a pass between full passes: %q, want none", writes)
	}
	if got := dataKey(e.get(cmGVR, ns, "config")); got != "edited" {
		t.Errorf("data.key = %q after a pass between full passes, want the drift left until the full pass", got)
	}

	e.now = e.now.Add(time.Minute)
	cs = e.apply("drift", set)
	e.wantActions(cs, "Namespace drift unchanged", "ConfigMap drift/config configured", "Deployment.apps drift/web configured")
	if got := dataKey(e.get(cmGVR, ns, "config")); got != "wanted" {
		t.Errorf("data.key = %q after apply, want wanted", got)
	}
	image, _, _ := unstructured.NestedSlice(e.get(deployGVR, ns, "web").Object, "spec", "template", "spec", "containers")
	if got := image[0].(map[string]any)["image"]; got != "example.com/web:1" {
		t.Errorf("image = %v after apply, want example.com/web:1", got)
	}

	// A label of someone else's is not ebb's business.
	_, err = e.dyn.Resource(cmGVR).Namespace(ns).Patch(t.Context(), "config", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"owner":"ops"}}}`), metav1.PatchOptions{FieldManager: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	e.writes.take()
	cs = e.apply("drift", set)
	e.wantActions(cs, "Namespace drift unchanged", "ConfigMap drift/config unchanged", "Deployment.apps drift/web unchanged")
	e.wantWrites()
	if got := e.get(cmGVR, ns, "config").GetLabels()["owner"]; got != "ops" {
		t.Errorf("someone else's label = %q, want it kept", got)
	}
}

// Refused objects fail on their own; the rest are applied.
func TestGuardRails(t *testing.T) {
	e := newEnv(t, apply.Options{Namespaces: []string{"rails"}})
	// The forbidden namespace exists, so a refusal cannot be mistaken for
	// the apiserver's "namespace not found".
	newEnv(t, apply.Options{}).apply("rails-setup", objects(t, namespace("rails-forbidden")))

	clusterRole := "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: rails-reader}\nrules: []\n"
	set := objects(t,
		namespace("rails"),
		configMap("rails", "ok", "v"),
		configMap("rails-forbidden", "refused", "v"),
		namespace("rails-other"),
		clusterRole,
		configMap("", "nameless-namespace", "v"),
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: rails}\n",
	)
	cs, err := e.ssa.Apply(t.Context(), "rails", set, e.now)
	if err == nil {
		t.Fatalf("Apply succeeded with refused objects:\n%s", cs)
	}
	e.wantActions(cs,
		"Namespace rails created",
		"ConfigMap rails/ok created",
		"ConfigMap rails-forbidden/refused failed",
		"Namespace rails-other failed",
		"ClusterRole.rbac.authorization.k8s.io rails-reader failed",
		"ConfigMap nameless-namespace failed",
		"ConfigMap rails/ failed",
	)
	wantErr := map[string]error{
		"ConfigMap rails-forbidden/refused":                  apply.ErrNamespaceNotAllowed,
		"Namespace rails-other":                              apply.ErrNamespaceNotAllowed,
		"ClusterRole.rbac.authorization.k8s.io rails-reader": apply.ErrClusterScoped,
		"ConfigMap nameless-namespace":                       apply.ErrNamespaceRequired,
		"ConfigMap rails/":                                   apply.ErrInvalidObject,
	}
	for _, c := range cs.Changes {
		if c.Action != apply.Failed {
			continue
		}
		if want := wantErr[c.Ref.String()]; !errors.Is(c.Err, want) {
			t.Errorf("%s: error %v, want %v", c.Ref, c.Err, want)
		}
		if !errors.Is(err, c.Err) {
			t.Errorf("Apply's error does not include %v", c.Err)
		}
	}
	if e.get(cmGVR, "rails-forbidden", "refused") != nil || e.get(nsGVR, "", "rails-other") != nil {
		t.Errorf("a refused object was created")
	}
	if diff := cmp.Diff([]string{"Namespace rails", "ConfigMap rails/ok"}, e.inventory("rails")); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}

	// Refused objects do not make a resync write.
	e.writes.take()
	if _, err := e.ssa.Apply(t.Context(), "rails", set, e.now); err == nil {
		t.Errorf("second Apply succeeded with refused objects")
	}
	e.wantWrites()

	// Allowed explicitly, a cluster-scoped kind is applied.
	allowing := newEnv(t, apply.Options{ClusterKinds: []schema.GroupKind{{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}}})
	cs = allowing.apply("rails-cluster", objects(t, clusterRole))
	allowing.wantActions(cs, "ClusterRole.rbac.authorization.k8s.io rails-reader created")
}

// Pruning deletes only what the inventory lists and ebb applied, and never
// an object annotated ebb.dev/prune: disabled.
func TestPruneLimits(t *testing.T) {
	e := newEnv(t, apply.Options{})
	const ns = "limits"
	e.apply("limits", objects(t, namespace(ns), configMap(ns, "a", "v"), configMap(ns, "keep", "v")))

	// Someone else's object in the same namespace, never applied by ebb.
	foreign := objects(t, configMap(ns, "foreign", "theirs"))[0]
	if _, err := e.dyn.Resource(cmGVR).Namespace(ns).Create(t.Context(), foreign, metav1.CreateOptions{FieldManager: "other-tool"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.dyn.Resource(cmGVR).Namespace(ns).Patch(t.Context(), "keep", types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"ebb.dev/prune":"disabled"}}}`), metav1.PatchOptions{FieldManager: "ops"})
	if err != nil {
		t.Fatal(err)
	}

	cs := e.apply("limits", objects(t, namespace(ns)))
	e.wantActions(cs, "Namespace limits unchanged", "ConfigMap limits/a pruned", "ConfigMap limits/keep skipped")
	if e.get(cmGVR, ns, "a") != nil {
		t.Errorf("limits/a not pruned")
	}
	if e.get(cmGVR, ns, "keep") == nil || e.get(cmGVR, ns, "foreign") == nil {
		t.Errorf("a protected or foreign object was deleted")
	}
	if diff := cmp.Diff([]string{"Namespace limits"}, e.inventory("limits")); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}

	// Applying over the foreign object's field is a conflict, not a silent
	// take-over, until the rendered object says to force.
	cs, err = e.ssa.Apply(t.Context(), "limits", objects(t, namespace(ns), configMap(ns, "foreign", "ours")), e.now)
	if !errors.Is(err, apply.ErrConflict) {
		t.Fatalf("Apply over a foreign field: error %v, want ErrConflict\n%s", err, cs)
	}
	if got := dataKey(e.get(cmGVR, ns, "foreign")); got != "theirs" {
		t.Errorf("foreign data.key = %q, want theirs", got)
	}
	forced := objects(t, namespace(ns), configMap(ns, "foreign", "ours"))
	forced[1].SetAnnotations(map[string]string{apply.ForceAnnotation: "true"})
	cs = e.apply("limits", forced)
	e.wantActions(cs, "Namespace limits unchanged", "ConfigMap limits/foreign configured")
	if got := dataKey(e.get(cmGVR, ns, "foreign")); got != "ours" {
		t.Errorf("forced data.key = %q, want ours", got)
	}

	// Delete prunes the whole source and forgets it; the object it took
	// over from another tool is released, not deleted.
	cs, err = e.ssa.Delete(t.Context(), "limits")
	if err != nil {
		t.Fatalf("Delete: %v\n%s", err, cs)
	}
	e.wantActions(cs, "Namespace limits pruned", "ConfigMap limits/foreign released")
	if got := e.inventory("limits"); len(got) != 0 {
		t.Errorf("inventory after Delete = %v, want empty", got)
	}
}

// A CustomResourceDefinition and objects of its kind apply in one go.
func TestCustomResourceWithItsDefinition(t *testing.T) {
	e := newEnv(t, apply.Options{ClusterKinds: []schema.GroupKind{{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}}})
	const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`
	const widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: crd}\nspec: {size: 3}\n"
	// A kind nobody defines fails on its own.
	const gadget = "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: crd}\n"
	set := objects(t, widget, gadget, crd, namespace("crd"))
	cs, err := e.ssa.Apply(t.Context(), "crd", set, e.now)
	if err == nil {
		t.Errorf("Apply of an undefined kind succeeded")
	}
	e.wantActions(cs,
		"Namespace crd created",
		"CustomResourceDefinition.apiextensions.k8s.io widgets.example.com created",
		"Widget.example.com crd/w created",
		"Gadget.example.com crd/g failed",
	)
	e.writes.take()
	if _, err := e.ssa.Apply(t.Context(), "crd", set, e.now); err == nil {
		t.Errorf("second Apply of an undefined kind succeeded")
	}
	e.wantWrites()
}

// The apiserver going away in the middle of an apply fails what was left;
// the next apply, once it is back, finishes the job, and prunes what the
// interrupted apply had created and the source no longer renders.
func TestAPIServerRestartMidApply(t *testing.T) {
	e := newEnv(t, apply.Options{})
	const ns = "restart-mid"
	docs := []string{namespace(ns)}
	for i := range 6 {
		docs = append(docs, configMap(ns, "cm-"+strconv.Itoa(i), "v"))
	}
	// The apiserver stops as cm-2 is sent.
	e.writes.onWrite(func(req string) {
		if req == "PATCH /api/v1/namespaces/restart-mid/configmaps/cm-2" {
			e.cluster.StopAPIServer()
		}
	})
	cs, err := e.ssa.Apply(t.Context(), "restart-mid", objects(t, docs...), e.now)
	e.writes.onWrite(nil)
	if err == nil {
		t.Fatalf("Apply succeeded with the apiserver stopped half-way:\n%s", cs)
	}
	// ConfigMaps are applied a few at a time, so how many made it before
	// the stop varies; the namespace did, cm-2 and what followed did not.
	if got := cs.Count(apply.Created); got < 1 {
		t.Errorf("created before the stop: %d, want at least the namespace\n%s", got, cs)
	}
	if cs.Count(apply.Failed) == 0 {
		t.Errorf("no failures with the apiserver stopped:\n%s", cs)
	}

	if err := e.cluster.StartAPIServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	// What the interrupted apply was about to create was recorded first,
	// as pending entries, not as a rewrite of the (missing) inventory.
	if e.get(cmGVR, "ebb-system", "ebb-inventory-restart-mid") != nil {
		t.Error("the interrupted first apply wrote the inventory")
	}
	if pending := e.get(cmGVR, "ebb-system", "ebb-pending-restart-mid"); pending == nil {
		t.Error("the interrupted apply left no pending entries")
	} else {
		raw, _, _ := unstructured.NestedString(pending.Object, "data", apply.InventoryKey)
		inv, err := apply.ParseInventory([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Entries) != len(docs) {
			t.Errorf("pending entries: %v, want the %d objects of the apply", inv.Refs(), len(docs))
		}
	}
	// The source now renders only cm-0 and cm-1 (and the namespace).
	cs = e.apply("restart-mid", objects(t, docs[:3]...))
	if cs.Count(apply.Failed) != 0 {
		t.Errorf("failures after the restart:\n%s", cs)
	}
	for i := 2; i < 6; i++ {
		if e.get(cmGVR, ns, "cm-"+strconv.Itoa(i)) != nil {
			t.Errorf("cm-%d survives: created by the interrupted apply and not pruned", i)
		}
	}
	if diff := cmp.Diff([]string{"Namespace restart-mid", "ConfigMap restart-mid/cm-0", "ConfigMap restart-mid/cm-1"},
		e.inventory("restart-mid")); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
	if e.get(cmGVR, "ebb-system", "ebb-pending-restart-mid") != nil {
		t.Error("the pending entries are still stored after a clean apply")
	}
	e.writes.take()
	e.apply("restart-mid", objects(t, docs[:3]...))
	e.wantWrites()
}

// A source with nothing to apply and no inventory writes nothing, and
// neither does deleting a source that never applied anything.
func TestEmptySourceWritesNothing(t *testing.T) {
	e := newEnv(t, apply.Options{})
	e.writes.take()
	cs := e.apply("empty", nil)
	if len(cs.Changes) != 0 {
		t.Errorf("changes for an empty source:\n%s", cs)
	}
	if _, err := e.ssa.Delete(t.Context(), "never-applied"); err != nil {
		t.Fatal(err)
	}
	e.wantWrites()
}

// A resync of many objects of one kind in one namespace reads them with one
// list, not one request each.
func TestResyncReadsByList(t *testing.T) {
	e := newEnv(t, apply.Options{FullEvery: -1})
	const ns = "many"
	docs := []string{namespace(ns)}
	for i := range 40 {
		docs = append(docs, configMap(ns, "cm-"+strconv.Itoa(i), "v"))
	}
	e.apply("many", objects(t, docs...))
	e.writes.take()

	cs := e.apply("many", objects(t, docs...))
	if got := cs.Count(apply.Unchanged); got != 41 {
		t.Errorf("unchanged: %d, want 41\n%s", got, cs)
	}
	writes, reads := e.writes.takeAll()
	if len(writes) != 0 {
		t.Errorf("a resync with nothing to do wrote %q", writes)
	}
	want := []string{
		"/api/v1/namespaces/ebb-system/configmaps/ebb-inventory-many (metadata)", // the inventory
		"/api/v1/namespaces/ebb-system/configmaps/ebb-pending-many",              // and what an apply cut short left
		"/api/v1/namespaces/many/configmaps (metadata)",                          // the 40 ConfigMaps, metadata only
		"/api/v1/namespaces/many",                                                // the Namespace
	}
	if diff := cmp.Diff(want, reads); diff != "" {
		t.Errorf("reads of a resync (-want +got):\n%s", diff)
	}
}

// A full pass lists revision Deployments by their metadata alone; one that
// drifted is read whole before it is written, so that the replicas ebb
// still owns are kept, not reset.
func TestResyncOfListedDeployments(t *testing.T) {
	e := newEnv(t, apply.Options{FullEvery: -1})
	const ns = "listed"
	set := func() []*unstructured.Unstructured {
		docs := []string{namespace(ns)}
		for i := range 10 {
			docs = append(docs, deployment(ns, fmt.Sprintf("web-%05d", i), 3, "example.com/web:1", true))
		}
		return objects(t, docs...)
	}
	e.apply("listed", set())
	// The autoscaler scales another: not a change to what ebb applies.
	if _, err := e.dyn.Resource(deployGVR).Namespace(ns).Patch(t.Context(), "web-00002", types.MergePatchType,
		[]byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{FieldManager: "autoscaler"}, "scale"); err != nil {
		t.Fatal(err)
	}
	edit := []byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"example.com/web:edited"}]`)
	if _, err := e.dyn.Resource(deployGVR).Namespace(ns).Patch(t.Context(), "web-00004", types.JSONPatchType, edit, metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	e.writes.take()

	cs := e.apply("listed", set())
	if diff := cmp.Diff([]apply.Ref{{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "web-00004"}}, cs.Refs(apply.Configured)); diff != "" {
		t.Errorf("configured (-want +got):\n%s", diff)
	}
	writes, reads := e.writes.takeAll()
	if diff := cmp.Diff([]string{"PATCH /apis/apps/v1/namespaces/listed/deployments/web-00004"}, writes); diff != "" {
		t.Errorf("writes of the full pass (-want +got):\n%s", diff)
	}
	if !slices.Contains(reads, "/apis/apps/v1/namespaces/listed/deployments (metadata)") ||
		!slices.Contains(reads, "/apis/apps/v1/namespaces/listed/deployments/web-00004") || len(reads) != 5 {
		t.Errorf("reads of the full pass: %q, want the inventory, the pending entries, the Namespace, the Deployments' metadata and web-00004", reads)
	}
	got := e.get(deployGVR, ns, "web-00004")
	if r := replicas(got); r != 3 {
		t.Errorf("replicas = %d after the drift was taken back, want 3", r)
	}
	containers, _, _ := unstructured.NestedSlice(got.Object, "spec", "template", "spec", "containers")
	if img := containers[0].(map[string]any)["image"]; img != "example.com/web:1" {
		t.Errorf("image = %v, want the drift taken back", img)
	}
}

// A Pass applies its parts in order and prunes, at its end, what no part
// named; an object in two parts is refused; a Pass that does not end
// prunes nothing and leaves the inventory listing what it created.
func TestPassInParts(t *testing.T) {
	e := newEnv(t, apply.Options{})
	const ns = "parts"
	cm := func(i int) string { return configMap(ns, "cm-"+strconv.Itoa(i), "v") }
	e.apply("parts", objects(t, namespace(ns), cm(0), cm(1), cm(2)))
	e.writes.take()

	p, err := e.ssa.Begin(t.Context(), "parts", e.now)
	if err != nil {
		t.Fatal(err)
	}
	p.Add(t.Context(), objects(t, namespace(ns), cm(0)))
	p.Add(t.Context(), objects(t, cm(3), cm(0)))
	cs, err := p.End(t.Context())
	if !errors.Is(err, apply.ErrInvalidObject) {
		t.Errorf("End: %v, want cm-0 refused in the second part", err)
	}
	e.wantActions(cs, "Namespace parts unchanged", "ConfigMap parts/cm-0 unchanged", "ConfigMap parts/cm-0 failed",
		"ConfigMap parts/cm-3 created", "ConfigMap parts/cm-1 pruned", "ConfigMap parts/cm-2 pruned")
	if diff := cmp.Diff([]string{"Namespace parts", "ConfigMap parts/cm-0", "ConfigMap parts/cm-3"}, e.inventory("parts")); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}

	// Cut short: cm-4 is created and listed as pending; nothing is pruned.
	p, err = e.ssa.Begin(t.Context(), "parts", e.now)
	if err != nil {
		t.Fatal(err)
	}
	p.Add(t.Context(), objects(t, cm(4)))
	if diff := cmp.Diff([]string{"Namespace parts", "ConfigMap parts/cm-0", "ConfigMap parts/cm-3", "ConfigMap parts/cm-4"}, e.inventory("parts")); diff != "" {
		t.Errorf("inventory of a pass cut short (-want +got):\n%s", diff)
	}
	for _, name := range []string{"cm-0", "cm-3", "cm-4"} {
		e.get(cmGVR, ns, name)
	}
}
