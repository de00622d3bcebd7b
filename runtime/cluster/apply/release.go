package apply

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// ReleaseManager is the field manager of the write that releases an
// adopted object. It changes no field, so it owns none.
const ReleaseManager = "ebb-release"

// release lets go of live, an object the source adopted: its
// managed-fields entries of the field manager and its AppliedAnnotation
// are removed, so that the fields ebb applied stay as they are but belong
// to nobody (or to whoever else owns them), and the object is left in
// place. The write is a JSON merge patch conditioned on live's
// resourceVersion: an object changed since it was read is not released
// (the next pass tries again).
func (s *SSA) release(ctx context.Context, res object, live *unstructured.Unstructured) error {
	b, err := json.Marshal(releasePatch(live, s.opts.FieldManager))
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if _, err := res.Patch(ctx, live.GetName(), types.MergePatchType, b, metav1.PatchOptions{FieldManager: ReleaseManager}); err != nil {
		return fmt.Errorf("release: %w", res.denied("release", err))
	}
	return nil
}

// releasePatch is the merge patch that releases live from manager. An
// empty list of managed fields would leave them as they are, so an object
// whose only manager is manager gets the list Kubernetes reads as "reset":
// one empty entry.
func releasePatch(live *unstructured.Unstructured, manager string) map[string]any {
	keep := []any{}
	for _, e := range live.GetManagedFields() {
		if e.Manager != manager {
			keep = append(keep, e)
		}
	}
	if len(keep) == 0 {
		keep = append(keep, map[string]any{})
	}
	md := map[string]any{"resourceVersion": live.GetResourceVersion(), "managedFields": keep}
	if _, ok := live.GetAnnotations()[AppliedAnnotation]; ok {
		md["annotations"] = map[string]any{AppliedAnnotation: nil}
	}
	return map[string]any{"metadata": md}
}
