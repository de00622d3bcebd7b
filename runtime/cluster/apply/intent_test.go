package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-dev/ebb/proxy/route"
)

func deployment(replicas int64, revision bool) *unstructured.Unstructured {
	labels := map[string]any{"app": "web"}
	if revision {
		labels[route.RevisionLabel] = "web-00001"
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": "web", "namespace": "shop", "labels": labels},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
		},
	}}
}

// withManaged sets the object's managed fields: entries of manager → JSON
// field set.
func withManaged(u *unstructured.Unstructured, entries ...metav1.ManagedFieldsEntry) *unstructured.Unstructured {
	u = u.DeepCopy()
	u.SetManagedFields(entries)
	return u
}

func applyEntry(manager, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{
		Manager: manager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: "apps/v1",
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)},
	}
}

const ownsReplicas = `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{}}}`
const ownsNoReplicas = `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:selector":{}}}`

func TestDigest(t *testing.T) {
	base := deployment(1, false)
	d := Digest(base)

	live := base.DeepCopy()
	live.SetResourceVersion("42")
	live.SetUID("u-1")
	live.SetGeneration(3)
	live.SetAnnotations(map[string]string{AppliedAnnotation: "whatever"})
	live.Object["status"] = map[string]any{"replicas": int64(1)}
	if got := Digest(live); got != d {
		t.Errorf("server-set metadata, status and the applied annotation changed the digest")
	}

	scaled := deployment(3, false)
	if Digest(scaled) == d {
		t.Errorf("replicas of an ordinary Deployment did not change the digest")
	}
	if Digest(deployment(1, true)) != Digest(deployment(3, true)) {
		t.Errorf("replicas of a revision Deployment changed the digest")
	}
	relabeled := base.DeepCopy()
	relabeled.SetLabels(map[string]string{"app": "other"})
	if Digest(relabeled) == d {
		t.Errorf("a label change did not change the digest")
	}
}

func TestIntentReplicasOfRevisionDeployments(t *testing.T) {
	live := deployment(5, true)
	tests := []struct {
		name    string
		desired *unstructured.Unstructured
		live    *unstructured.Unstructured
		want    any // spec.replicas in the intent; nil for absent
	}{
		{"create sends the initial scale", deployment(2, true), nil, int64(2)},
		{"owned: the live value is kept", deployment(2, true), withManaged(live, applyEntry("ebb", ownsReplicas)), int64(5)},
		{"scaled by someone else: left out", deployment(2, true), withManaged(live, applyEntry("ebb", ownsNoReplicas)), nil},
		{"owned by another manager only: left out", deployment(2, true), withManaged(live, applyEntry("other", ownsReplicas)), nil},
		{"ordinary Deployment: desired value", deployment(2, false), withManaged(deployment(5, false), applyEntry("ebb", ownsNoReplicas)), int64(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Intent(tt.desired, tt.live, "ebb")
			replicas, found, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "replicas")
			if !found {
				replicas = nil
			}
			if diff := cmp.Diff(tt.want, replicas); diff != "" {
				t.Errorf("spec.replicas (-want +got):\n%s", diff)
			}
			if got.GetAnnotations()[AppliedAnnotation] != Digest(tt.desired) {
				t.Errorf("applied annotation = %q, want the digest", got.GetAnnotations()[AppliedAnnotation])
			}
		})
	}
}

func TestIntentDropsServerFields(t *testing.T) {
	d := deployment(1, false)
	d.SetResourceVersion("9")
	d.Object["status"] = map[string]any{"x": "y"}
	got := Intent(d, nil, "ebb")
	if got.GetResourceVersion() != "" || got.Object["status"] != nil {
		t.Errorf("intent keeps server-set fields: %v", got.Object)
	}
	if d.GetResourceVersion() != "9" {
		t.Errorf("Intent changed its input")
	}
}

func TestFieldsDigestAndOwnsField(t *testing.T) {
	a := withManaged(deployment(1, false), applyEntry("ebb", ownsReplicas), applyEntry("other", ownsNoReplicas))
	b := withManaged(deployment(1, false), applyEntry("ebb", ownsNoReplicas))
	update := applyEntry("ebb", ownsReplicas)
	update.Operation = metav1.ManagedFieldsOperationUpdate
	c := withManaged(deployment(1, false), update)

	if FieldsDigest(a, "ebb") == FieldsDigest(b, "ebb") {
		t.Errorf("different owned field sets, same digest")
	}
	if FieldsDigest(a, "ebb") != FieldsDigest(withManaged(a, applyEntry("ebb", ownsReplicas)), "ebb") {
		t.Errorf("another manager's fields changed the digest")
	}
	if got := FieldsDigest(c, "ebb"); got != "" {
		t.Errorf("FieldsDigest counts Update operations: %q", got)
	}
	if !OwnsField(a, "ebb", "spec", "replicas") || OwnsField(b, "ebb", "spec", "replicas") || OwnsField(c, "ebb", "spec", "replicas") {
		t.Errorf("OwnsField(spec.replicas): a %t b %t c %t, want true false false",
			OwnsField(a, "ebb", "spec", "replicas"), OwnsField(b, "ebb", "spec", "replicas"), OwnsField(c, "ebb", "spec", "replicas"))
	}
	if !OwnsField(b, "ebb", "spec") || OwnsField(b, "ebb", "spec", "template") {
		t.Errorf("OwnsField on a map field or a missing field is wrong")
	}
}

// digestByCopy is Digest as first written, on a deep copy with
// RemoveNestedField: the digests in live objects' ebb.dev/applied
// annotations were computed so, and must still match.
func digestByCopy(u *unstructured.Unstructured) string {
	c := clean(u)
	unstructured.RemoveNestedField(c.Object, "metadata", "annotations", AppliedAnnotation)
	if len(c.GetAnnotations()) == 0 {
		unstructured.RemoveNestedField(c.Object, "metadata", "annotations")
	}
	if IsRevisionDeployment(c) {
		unstructured.RemoveNestedField(c.Object, "spec", "replicas")
	}
	b, err := json.Marshal(c.Object)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func TestDigestMatchesDeepCopyAndLeavesObjectAlone(t *testing.T) {
	annotated := func(u *unstructured.Unstructured, anns map[string]any) *unstructured.Unstructured {
		u.Object["metadata"].(map[string]any)["annotations"] = anns
		return u
	}
	live := deployment(2, true)
	live.SetResourceVersion("7")
	live.SetUID("u-2")
	live.Object["status"] = map[string]any{"replicas": int64(2)}
	for name, u := range map[string]*unstructured.Unstructured{
		"ordinary":            deployment(2, false),
		"revision":            deployment(2, true),
		"live":                live,
		"applied annotation":  annotated(deployment(1, true), map[string]any{AppliedAnnotation: "x"}),
		"other annotation":    annotated(deployment(1, false), map[string]any{AppliedAnnotation: "x", "team": "a"}),
		"empty annotations":   annotated(deployment(1, false), map[string]any{}),
		"null annotations":    annotated(deployment(1, false), nil),
		"no metadata, a kind": {Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": "v"}}},
	} {
		before := u.DeepCopy()
		got := Digest(u)
		if diff := cmp.Diff(before.Object, u.Object); diff != "" {
			t.Errorf("%s: Digest changed the object (-before +after):\n%s", name, diff)
		}
		if want := digestByCopy(u); got != want {
			t.Errorf("%s: Digest = %s, want %s as computed on a cleaned deep copy", name, got, want)
		}
	}
}

// BenchmarkDigest: every pass digests every rendered object.
func BenchmarkDigest(b *testing.B) {
	u := deployment(2, true)
	u.SetAnnotations(map[string]string{"team": "a"})
	b.Run("shallow", func(b *testing.B) {
		for b.Loop() {
			Digest(u)
		}
	})
	b.Run("deep-copy", func(b *testing.B) {
		for b.Loop() {
			digestByCopy(u)
		}
	})
}

// The fields digest of an object does not depend on how it was read:
// whole (managed fields re-encoded with sorted keys) or as metadata (the
// apiserver's encoding, in its own order).
func TestFieldsDigestOfMetadata(t *testing.T) {
	raw := `{"f:spec":{"f:selector":{},"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{}}},"f:metadata":{"f:labels":{"f:b":{},"f:a":{}}}}`
	entry := metav1.ManagedFieldsEntry{Manager: "ebb", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1",
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(raw)}}
	var set map[string]any
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		t.Fatal(err)
	}
	live := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "web", "namespace": "ns", "managedFields": []any{map[string]any{
			"manager": "ebb", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": set}}}}}
	md := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", ManagedFields: []metav1.ManagedFieldsEntry{entry}}}
	whole, meta := FieldsDigest(live, "ebb"), observeMeta(md, schema.GroupVersionKind{Version: "v1", Kind: "Service"}, "ebb").fields
	if whole == "" || whole != meta {
		t.Errorf("fields digest read whole %q, as metadata %q", whole, meta)
	}
}
