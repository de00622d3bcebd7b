package apply

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// prune deletes the object of an inventory entry, unless it is protected
// by PruneAnnotation, outside the guard rails, or not (any more) applied by
// the field manager — someone else's object of the same name. An adopted
// object (one that existed before the source first applied it) is
// released, not deleted.
func (s *SSA) prune(ctx context.Context, e Entry) Change {
	r := e.Ref
	fail := func(err error) Change {
		err = fmt.Errorf("%s: prune: %w", r, err)
		return Change{Ref: r, Action: Failed, Reason: err.Error(), Err: err}
	}
	res, err := s.resource(r.GroupKind(), e.Version, r)
	switch {
	case meta.IsNoMatchError(err):
		return Change{Ref: r, Action: Pruned, Reason: "kind no longer served"}
	case refusal(err):
		return Change{Ref: r, Action: Skipped, Reason: err.Error()}
	case err != nil:
		return fail(err)
	}
	live, err := res.Get(ctx, r.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return Change{Ref: r, Action: Pruned, Reason: "already gone"}
	case apierrors.IsForbidden(err):
		// What the source may not read it may not delete either.
		return Change{Ref: r, Action: Skipped, Reason: res.denied("read", err).Error()}
	case err != nil:
		return fail(err)
	case live.GetAnnotations()[PruneAnnotation] == "disabled":
		return Change{Ref: r, Action: Skipped, Reason: fmt.Sprintf("%s: disabled", PruneAnnotation)}
	case len(applied(live, s.opts.FieldManager)) == 0:
		return Change{Ref: r, Action: Skipped, Reason: fmt.Sprintf("not applied by field manager %q", s.opts.FieldManager)}
	case live.GetDeletionTimestamp() != nil:
		return Change{Ref: r, Action: Pruned, Reason: "already being deleted"}
	case e.Adopted:
		if err := s.release(ctx, res, live); err != nil {
			return fail(err)
		}
		return Change{Ref: r, Action: Released, Reason: "ebb did not create it: its fields and annotation removed, the object kept"}
	}
	uid := live.GetUID()
	policy := metav1.DeletePropagationBackground
	err = res.Delete(ctx, r.Name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid},
		PropagationPolicy: &policy,
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fail(res.denied("delete", err))
	}
	return Change{Ref: r, Action: Pruned}
}

// Delete prunes everything source's inventory lists, in prune order, and
// then removes the inventory; what failed to be pruned stays listed.
func (s *SSA) Delete(ctx context.Context, source string) (ChangeSet, error) {
	if err := checkSource(source); err != nil {
		return ChangeSet{}, fmt.Errorf("apply: %w", err)
	}
	s.remember(source, nil)
	prev, err := s.load(ctx, source)
	if err != nil {
		return ChangeSet{}, fmt.Errorf("delete %s: %w", source, err)
	}
	var cs ChangeSet
	var left []Entry
	for _, e := range Stale(prev.inv, Inventory{}) {
		change := s.prune(ctx, e)
		cs.add(change)
		if change.Action == Failed {
			left = append(left, e)
		}
	}
	switch {
	case !prev.exists && len(prev.pending) == 0:
	case len(left) == 0:
		err = s.drop(ctx, source)
	default:
		_, err = s.save(ctx, source, prev, NewInventory(left...))
	}
	if err = errors.Join(cs.Err(), err); err != nil {
		return cs, fmt.Errorf("delete %s: %w", source, err)
	}
	return cs, nil
}
