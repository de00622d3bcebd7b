//go:build unix

package apply_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// setup applies docs as the test's admin, outside any guard rail, under
// an inventory of their own.
func setup(t *testing.T, source string, docs ...string) {
	t.Helper()
	newEnv(t, apply.Options{Namespaces: []string{apply.AnyNamespace}}).apply(source, objects(t, docs...))
}

// failures maps each failed object to its error.
func failures(cs apply.ChangeSet) map[string]error {
	out := map[string]error{}
	for _, c := range cs.Changes {
		if c.Action == apply.Failed {
			out[c.Ref.String()] = c.Err
		}
	}
	return out
}

// Without an allow-list, every namespace but the cluster's own and ebb's
// is allowed; an allow-list allows what it lists, "*" everything.
func TestProtectedNamespaces(t *testing.T) {
	setup(t, "protected-setup", namespace("protected-app"))
	e := newEnv(t, apply.Options{})
	set := objects(t,
		configMap("protected-app", "ok", "v"),
		configMap("kube-system", "ebb-protected", "v"),
		configMap("kube-public", "ebb-protected", "v"),
		configMap("ebb-system", "ebb-protected", "v"),
		namespace("kube-node-lease"),
	)
	cs, err := e.ssa.Apply(t.Context(), "protected", set, e.now)
	if err == nil {
		t.Fatalf("Apply succeeded into protected namespaces:\n%s", cs)
	}
	e.wantActions(cs,
		"ConfigMap protected-app/ok created",
		"ConfigMap kube-system/ebb-protected failed",
		"ConfigMap kube-public/ebb-protected failed",
		"ConfigMap ebb-system/ebb-protected failed",
		"Namespace kube-node-lease failed",
	)
	for ref, err := range failures(cs) {
		var r *apply.Refusal
		if !errors.Is(err, apply.ErrNamespaceNotAllowed) || !errors.As(err, &r) {
			t.Errorf("%s: error %v, want a Refusal wrapping ErrNamespaceNotAllowed", ref, err)
			continue
		}
		want := "metadata.namespace"
		if strings.HasPrefix(ref, "Namespace ") {
			want = "metadata.name"
		}
		if r.Path != want {
			t.Errorf("%s: refusal about %q, want %q", ref, r.Path, want)
		}
		if !strings.Contains(err.Error(), "is protected") {
			t.Errorf("%s: %v, want it to say the namespace is protected", ref, err)
		}
	}
	for _, ns := range []string{"kube-system", "kube-public", "ebb-system"} {
		if e.get(cmGVR, ns, "ebb-protected") != nil {
			t.Errorf("a ConfigMap was applied in %s", ns)
		}
	}
	if diff := cmp.Diff([]string{"ConfigMap protected-app/ok"}, e.inventory("protected")); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}

	// Listed by name, a protected namespace is allowed; "*" allows all.
	for _, allow := range [][]string{{"kube-public", "protected-app"}, {apply.AnyNamespace}} {
		e := newEnv(t, apply.Options{Namespaces: allow})
		cs := e.apply("protected-allowed", objects(t, configMap("kube-public", "ebb-allowed", "v"), configMap("protected-app", "ok2", "v")))
		e.wantActions(cs, "ConfigMap kube-public/ebb-allowed created", "ConfigMap protected-app/ok2 created")
		if cs, err := e.ssa.Delete(t.Context(), "protected-allowed"); err != nil {
			t.Fatalf("Delete: %v\n%s", err, cs)
		}
	}
	// An allow-list refuses what it does not list, naming what it allows.
	e = newEnv(t, apply.Options{Namespaces: []string{"protected-app"}})
	cs, _ = e.ssa.Apply(t.Context(), "protected-list", objects(t, configMap("default", "ebb-refused", "v")), e.now)
	if err := failures(cs)["ConfigMap default/ebb-refused"]; !errors.Is(err, apply.ErrNamespaceNotAllowed) ||
		!strings.Contains(err.Error(), "allowed: protected-app") {
		t.Errorf("outside the allow-list: %v, want ErrNamespaceNotAllowed naming the allowed namespaces", err)
	}
}

// With NoCrossNamespaceRefs, an object referring to another namespace is
// refused (but for the shared gateways), and a failure names where the
// object came from.
func TestNoCrossNamespaceRefs(t *testing.T) {
	setup(t, "xns-setup", namespace("xns"))
	const (
		ownSubject = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: own, namespace: xns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: default, namespace: xns}]
`
		otherSubject = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: other, namespace: xns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: default, namespace: kube-system}]
`
		toGateway = `apiVersion: v1
kind: Service
metadata: {name: to-gateway, namespace: xns}
spec: {type: ExternalName, externalName: ebb-gateway.ebb-system.svc.cluster.local}
`
		toOther = `apiVersion: v1
kind: Service
metadata: {name: to-other, namespace: xns}
spec: {type: ExternalName, externalName: api.team-b.svc.cluster.local}
`
	)
	const toOtherLater = `apiVersion: v1
kind: Service
metadata: {name: to-other-later, namespace: xns}
spec: {type: ExternalName, externalName: api.team-b.svc.cluster.local}
`

	// Off (the default), every reference is applied.
	e := newEnv(t, apply.Options{})
	e.apply("xns", objects(t, ownSubject, otherSubject, toGateway, toOther))

	// On, what refers to another namespace is refused: never created,
	// and, if applied before, not pruned either.
	e = newEnv(t, apply.Options{NoCrossNamespaceRefs: true, SharedRefs: []string{"ebb-system/ebb-gateway"}})
	p, err := e.ssa.Begin(t.Context(), "xns", e.now)
	if err != nil {
		t.Fatal(err)
	}
	var located []string
	p.Locate = func(u *unstructured.Unstructured, path string) string {
		located = append(located, u.GetName()+" "+path)
		return "refs.yaml:7: " + path
	}
	p.Add(t.Context(), objects(t, ownSubject, otherSubject, toGateway, toOther, toOtherLater))
	cs, err := p.End(t.Context())
	if err == nil {
		t.Fatalf("Apply succeeded with references to other namespaces:\n%s", cs)
	}
	e.wantActions(cs,
		"RoleBinding.rbac.authorization.k8s.io xns/own unchanged",
		"RoleBinding.rbac.authorization.k8s.io xns/other failed",
		"Service xns/to-gateway unchanged",
		"Service xns/to-other failed",
		"Service xns/to-other-later failed",
	)
	want := map[string]string{
		"RoleBinding.rbac.authorization.k8s.io xns/other": "refs.yaml:7: subjects[0].namespace: RoleBinding.rbac.authorization.k8s.io xns/other: " +
			"reference to another namespace not allowed: subjects[0].namespace refers to kube-system/default",
		"Service xns/to-other": "refs.yaml:7: spec.externalName: Service xns/to-other: " +
			"reference to another namespace not allowed: spec.externalName refers to team-b/api",
	}
	got := failures(cs)
	for ref, msg := range want {
		if !errors.Is(got[ref], apply.ErrCrossNamespaceRef) || got[ref].Error() != msg {
			t.Errorf("%s: %v\nwant %s", ref, got[ref], msg)
		}
	}
	slices.Sort(located)
	if diff := cmp.Diff([]string{"other subjects[0].namespace", "to-other spec.externalName", "to-other-later spec.externalName"}, located); diff != "" {
		t.Errorf("Locate asked about (-want +got):\n%s", diff)
	}
	if e.get(svcGVR, "xns", "to-other-later") != nil {
		t.Error("a refused Service was created")
	}
	if e.get(svcGVR, "xns", "to-other") == nil {
		t.Error("a Service applied before it was refused was pruned")
	}
	if diff := cmp.Diff([]string{"RoleBinding.rbac.authorization.k8s.io xns/other", "RoleBinding.rbac.authorization.k8s.io xns/own",
		"Service xns/to-gateway", "Service xns/to-other"}, e.inventory("xns")); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
}

// An object that existed before a source first applied it is adopted:
// once the source no longer renders it, ebb lets go of its fields and
// annotation and leaves it in place, forced or not. A conflict is never
// forced by a later pass for having failed once.
func TestAdoptedObjectsAreReleased(t *testing.T) {
	setup(t, "adopt-setup", namespace("adopt"))
	e := newEnv(t, apply.Options{})
	ctx := t.Context()
	for _, cm := range []string{
		configMap("adopt", "taken", "theirs"),
		configMap("adopt", "same", "v"),
	} {
		if _, err := e.dyn.Resource(cmGVR).Namespace("adopt").Create(ctx, objects(t, cm)[0], metav1.CreateOptions{FieldManager: "other-tool"}); err != nil {
			t.Fatal(err)
		}
	}
	// One another tool applied: once ebb forces its one field, ebb is its
	// only manager.
	if _, err := e.dyn.Resource(cmGVR).Namespace("adopt").Apply(ctx, "bare", objects(t, configMap("adopt", "bare", "theirs"))[0],
		metav1.ApplyOptions{FieldManager: "other-tool"}); err != nil {
		t.Fatal(err)
	}
	set := func(force bool) []*unstructured.Unstructured {
		objs := objects(t, configMap("adopt", "taken", "ours"), configMap("adopt", "same", "v"), configMap("adopt", "own", "v"),
			configMap("adopt", "bare", "ours"))
		if force {
			objs[0].SetAnnotations(map[string]string{apply.ForceAnnotation: "true"})
			objs[3].SetAnnotations(map[string]string{apply.ForceAnnotation: "true"})
		}
		return objs
	}
	for _, want := range [][]string{
		{"ConfigMap adopt/taken failed", "ConfigMap adopt/same configured", "ConfigMap adopt/own created", "ConfigMap adopt/bare failed"},
		{"ConfigMap adopt/taken failed", "ConfigMap adopt/same unchanged", "ConfigMap adopt/own unchanged", "ConfigMap adopt/bare failed"},
	} {
		cs, err := e.ssa.Apply(ctx, "adopt", set(false), e.now)
		if !errors.Is(err, apply.ErrConflict) {
			t.Fatalf("Apply over another manager's field: %v, want ErrConflict\n%s", err, cs)
		}
		e.wantActions(cs, want...)
		if got := dataKey(e.get(cmGVR, "adopt", "taken")); got != "theirs" {
			t.Fatalf("taken data.key = %q after a conflict, want theirs", got)
		}
	}
	cs := e.apply("adopt", set(true))
	e.wantActions(cs, "ConfigMap adopt/taken configured", "ConfigMap adopt/same unchanged", "ConfigMap adopt/own unchanged",
		"ConfigMap adopt/bare configured")
	inv, err := e.ssa.Inventory(ctx, "adopt")
	if err != nil {
		t.Fatal(err)
	}
	adopted := map[string]bool{}
	for _, en := range inv.Entries {
		adopted[en.Name] = en.Adopted
	}
	if diff := cmp.Diff(map[string]bool{"taken": true, "same": true, "own": false, "bare": true}, adopted); diff != "" {
		t.Errorf("adopted entries (-want +got):\n%s", diff)
	}

	cs = e.apply("adopt", nil)
	e.wantActions(cs, "ConfigMap adopt/taken released", "ConfigMap adopt/same released", "ConfigMap adopt/own pruned",
		"ConfigMap adopt/bare released")
	if e.get(cmGVR, "adopt", "own") != nil {
		t.Error("adopt/own, which ebb created, was not deleted")
	}
	for name, value := range map[string]string{"taken": "ours", "same": "v", "bare": "ours"} {
		live := e.get(cmGVR, "adopt", name)
		if live == nil {
			t.Errorf("adopt/%s, which ebb did not create, was deleted", name)
			continue
		}
		if got := dataKey(live); got != value {
			t.Errorf("adopt/%s data.key = %q after release, want %q (kept)", name, got, value)
		}
		if _, ok := live.GetAnnotations()[apply.AppliedAnnotation]; ok {
			t.Errorf("adopt/%s keeps %s after release", name, apply.AppliedAnnotation)
		}
		for _, m := range live.GetManagedFields() {
			if m.Manager == apply.FieldManager {
				t.Errorf("adopt/%s: field manager %s still owns %s", name, apply.FieldManager, m.FieldsV1)
			}
		}
	}
	if got := e.inventory("adopt"); len(got) != 0 {
		t.Errorf("inventory after release = %v, want empty", got)
	}
}

// With a ServiceAccount, objects are read, applied and pruned as it: what
// its RBAC does not allow fails, naming it, and is not created, while the
// inventory is kept as the SSA's own identity.
func TestServiceAccountImpersonation(t *testing.T) {
	const role = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-writer, namespace: imp-a}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch, create, update, patch, delete]}]
`
	const binding = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: applier, namespace: imp-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-writer}
subjects: [{kind: ServiceAccount, name: applier}]
`
	// In imp-b, imp-a's applier may read ConfigMaps, not write them.
	const reader = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: applier-reads, namespace: imp-b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: applier, namespace: imp-a}]
`
	sa := func(ns string) string {
		return "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: applier, namespace: " + ns + "}\n"
	}
	setup(t, "imp-setup", namespace("imp-a"), namespace("imp-b"), sa("imp-a"), sa("imp-b"), role, binding, reader)
	ctx := t.Context()
	set := func(names ...string) []*unstructured.Unstructured {
		var docs []string
		for _, n := range names {
			docs = append(docs, configMap(strings.Split(n, "/")[0], strings.Split(n, "/")[1], "v"))
		}
		return objects(t, docs...)
	}
	for _, tc := range []struct {
		sa     apply.ServiceAccount
		denied string // what the failure in imp-b says
		pruned string // what pruning imp-b's object (never created) does
	}{
		{apply.ServiceAccount{Namespace: "imp-a", Name: "applier"}, "ServiceAccount imp-a/applier cannot apply configmaps in namespace imp-b: ", "pruned"},
		{apply.ServiceAccount{Name: "applier"}, "ServiceAccount imp-b/applier cannot read configmaps in namespace imp-b: ", "skipped"},
	} {
		source := "imp-" + tc.sa.For(apply.Ref{Namespace: "imp-b"}, "").Namespace
		e := newEnv(t, apply.Options{ServiceAccount: tc.sa})
		var cs apply.ChangeSet
		// RBAC takes a moment to see new bindings.
		for range 50 {
			cs, _ = e.ssa.Apply(ctx, source, set("imp-a/"+source, "imp-b/"+source), e.now)
			if cs.Count(apply.Created) == 1 {
				break
			}
		}
		e.wantActions(cs, "ConfigMap imp-a/"+source+" created", "ConfigMap imp-b/"+source+" failed")
		err := failures(cs)["ConfigMap imp-b/"+source]
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tc.denied) {
			t.Errorf("as %s: imp-b: %v\nwant Forbidden saying %q", tc.sa, err, tc.denied)
		}
		if e.get(cmGVR, "imp-b", source) != nil {
			t.Errorf("as %s: a ConfigMap was created in imp-b", tc.sa)
		}
		// The inventory (ebb-system) is written as the SSA itself: the
		// ServiceAccount may not.
		if got := e.inventory(source); !slices.Contains(got, "ConfigMap imp-a/"+source) {
			t.Errorf("as %s: inventory %v, want it to list imp-a's ConfigMap", tc.sa, got)
		}
		// Pruned as the ServiceAccount; what it may not read is skipped.
		cs = e.apply(source, nil)
		e.wantActions(cs, "ConfigMap imp-a/"+source+" pruned", "ConfigMap imp-b/"+source+" "+tc.pruned)
		if e.get(cmGVR, "imp-a", source) != nil {
			t.Errorf("as %s: imp-a's ConfigMap was not pruned", tc.sa)
		}
	}
}
