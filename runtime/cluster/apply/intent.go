package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	gosync "sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/proxy/route"
)

const (
	// FieldManager is the field manager every apply of ebb's uses.
	FieldManager = "ebb"

	// AppliedAnnotation carries a digest of what ebb last applied to the
	// object; an object whose digest matches and whose fields ebb still
	// owns is not written again.
	AppliedAnnotation = "ebb.dev/applied"

	// PruneAnnotation set to "disabled" on a live object keeps it from
	// being pruned: it is dropped from the inventory instead.
	PruneAnnotation = "ebb.dev/prune"

	// ForceAnnotation set to "true" in a rendered object lets ebb take over
	// fields another manager owns the first time it applies the object
	// (see the force rule on SSA.Apply).
	ForceAnnotation = "ebb.dev/force"
)

// serverSet are the metadata fields the apiserver sets; an applied intent
// carries none of them.
var serverSet = []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}

// clean returns a copy of u without status and server-set metadata.
func clean(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "status")
	for _, f := range serverSet {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	return c
}

// IsRevisionDeployment reports whether u is a revision's Deployment, whose
// replicas the autoscaler owns.
func IsRevisionDeployment(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	if gvk.Group != "apps" || gvk.Kind != "Deployment" {
		return false
	}
	_, ok := u.GetLabels()[route.RevisionLabel]
	return ok
}

// Digest is a digest of what ebb wants of u: u without status and
// server-set metadata, without its applied annotation, and without
// spec.replicas for a revision Deployment (a new initial scale alone is not
// a change to write).
//
// It copies only the maps it drops fields from (the object, metadata,
// annotations, spec), not the whole object: every pass digests every
// rendered object.
func Digest(u *unstructured.Unstructured) string {
	c := &unstructured.Unstructured{Object: maps.Clone(u.Object)}
	delete(c.Object, "status")
	if md, ok := c.Object["metadata"].(map[string]any); ok {
		md = maps.Clone(md)
		for _, f := range serverSet {
			delete(md, f)
		}
		if a, ok := md["annotations"]; ok {
			anns, _ := a.(map[string]any)
			if _, applied := anns[AppliedAnnotation]; applied {
				anns = maps.Clone(anns)
				delete(anns, AppliedAnnotation)
				md["annotations"] = anns
			}
			if len(anns) == 0 {
				delete(md, "annotations")
			}
		}
		c.Object["metadata"] = md
	}
	if spec, ok := c.Object["spec"].(map[string]any); ok && IsRevisionDeployment(c) {
		spec = maps.Clone(spec)
		delete(spec, "replicas")
		c.Object["spec"] = spec
	}
	bp := digestBufs.Get().(*[]byte)
	b, err := appendJSON((*bp)[:0], c.Object)
	if err != nil {
		// Unstructured content decoded from YAML or JSON always encodes.
		panic(fmt.Sprintf("apply: encode %s: %v", RefOf(u), err))
	}
	sum := sha256.Sum256(b)
	*bp = b[:0]
	digestBufs.Put(bp)
	return hex.EncodeToString(sum[:16])
}

// digestBufs hold the encodings Digest hashes.
var digestBufs = gosync.Pool{New: func() any { return new([]byte) }}

// Intent returns the object to apply for desired, given the live object
// (nil if there is none) and the field manager: desired without status and
// server-set metadata, annotated with its Digest.
//
// A revision Deployment's spec.replicas is sent only to create it. After
// that, while the manager still owns the field (nobody has scaled the
// Deployment yet), the live value is sent, so the manager neither changes
// it nor lets go of it — letting go of a field nobody else owns would reset
// it to its default, one replica. Once the autoscaler (or anyone) has scaled
// the Deployment, the field is theirs and the intent leaves it out.
func Intent(desired, live *unstructured.Unstructured, manager string) *unstructured.Unstructured {
	if live == nil {
		return intent(desired, nil)
	}
	return intent(desired, &observed{replicas: ownedReplicas(live, manager)})
}

// intent is Intent given what was observed of the live object (nil when
// there is none).
func intent(desired *unstructured.Unstructured, live *observed) *unstructured.Unstructured {
	c := clean(desired)
	anns := c.GetAnnotations()
	if anns == nil {
		anns = map[string]string{}
	}
	anns[AppliedAnnotation] = Digest(desired)
	c.SetAnnotations(anns)
	if live == nil || !IsRevisionDeployment(c) {
		return c
	}
	if live.replicas != nil {
		_ = unstructured.SetNestedField(c.Object, live.replicas, "spec", "replicas")
	} else {
		unstructured.RemoveNestedField(c.Object, "spec", "replicas")
	}
	return c
}

// ownedReplicas returns live's spec.replicas while manager owns the field
// through apply, else nil.
func ownedReplicas(live *unstructured.Unstructured, manager string) any {
	replicas, found, err := unstructured.NestedFieldNoCopy(live.Object, "spec", "replicas")
	if err != nil || !found || !OwnsField(live, manager, "spec", "replicas") {
		return nil
	}
	return replicas
}

// applied returns the live object's managed-fields entries that record
// manager's applies to the object itself (not to a subresource), sorted by
// API version.
func applied(live *unstructured.Unstructured, manager string) []metav1.ManagedFieldsEntry {
	return appliedEntries(live.GetManagedFields(), manager)
}

// appliedEntries is applied given the object's managed fields.
func appliedEntries(managed []metav1.ManagedFieldsEntry, manager string) []metav1.ManagedFieldsEntry {
	var out []metav1.ManagedFieldsEntry
	for _, e := range managed {
		if e.Manager == manager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b metav1.ManagedFieldsEntry) int { return strings.Compare(a.APIVersion, b.APIVersion) })
	return out
}

// FieldsDigest is a digest of the set of fields manager owns on live
// through apply; empty when it owns none. For a revision Deployment
// spec.replicas is left out: handing it to the autoscaler is expected, not
// a change to the fields ebb applies, and must not cause a write.
func FieldsDigest(live *unstructured.Unstructured, manager string) string {
	return fieldsDigest(live.GetManagedFields(), manager, IsRevisionDeployment(live))
}

// fieldsDigest is FieldsDigest given the object's managed fields and
// whether it is a revision Deployment.
func fieldsDigest(managed []metav1.ManagedFieldsEntry, manager string, revision bool) string {
	entries := appliedEntries(managed, manager)
	if len(entries) == 0 {
		return ""
	}
	h := sha256.New()
	for _, e := range entries {
		h.Write([]byte(e.APIVersion))
		h.Write([]byte{0})
		if e.FieldsV1 != nil {
			raw := e.FieldsV1.Raw
			if revision {
				raw = withoutReplicas(raw)
			}
			h.Write(raw)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// withoutReplicas returns a managed field set (FieldsV1 JSON) without
// spec.replicas, encoded with sorted keys; a set that does not decode is
// returned as it is.
func withoutReplicas(raw []byte) []byte {
	var set map[string]any
	if json.Unmarshal(raw, &set) != nil {
		return raw
	}
	if spec, ok := set["f:spec"].(map[string]any); ok {
		delete(spec, "f:replicas")
	}
	b, err := json.Marshal(set)
	if err != nil {
		return raw
	}
	return b
}

// OwnsField reports whether manager owns the field at path on live through
// apply.
func OwnsField(live *unstructured.Unstructured, manager string, path ...string) bool {
	for _, e := range applied(live, manager) {
		if e.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if json.Unmarshal(e.FieldsV1.Raw, &set) != nil {
			continue
		}
		node, ok := set, true
		for _, p := range path {
			var next any
			if next, ok = node["f:"+p]; !ok {
				break
			}
			if node, ok = next.(map[string]any); !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
