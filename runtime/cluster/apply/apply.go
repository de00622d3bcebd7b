package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Apply makes the cluster hold objects for source, then prunes what the
// source's inventory lists and objects no longer contain, and stores the
// new inventory.
//
// Objects are applied in Rank order with server-side apply under one field
// manager. An object is not written when its live copy carries the digest
// of the same intent (AppliedAnnotation) and the manager still owns exactly
// the fields it owned after the last apply; so a resync with nothing to do
// makes no write at all, and someone changing a field the manager applied
// (which moves that field's ownership) gets it written back.
//
// The force rule: conflicts are forced for objects the source has applied
// before (its inventory lists them with the fields ebb owned) and for
// objects that do not exist yet. An object that exists but was never
// applied by this source is applied without force, so ebb never silently
// takes fields over from another tool: a conflict is a failure naming the
// other manager, this pass and the next, until the rendered object is
// annotated ebb.dev/force: "true".
//
// Adoption: an object that existed before the source first applied it
// (taken over by force, or applied without a conflict) is listed as
// adopted. When the source no longer renders it, it is released, not
// deleted: ebb's managed-fields entry and applied annotation are removed
// and the object stays, with the values it has (Released). ebb deletes
// only what it created.
//
// Guard rails: objects in a namespace that is not allowed (see
// Options.Namespaces), of a cluster-scoped kind not allowed, or, with
// Options.NoCrossNamespaceRefs, referring to another namespace are
// refused (a Refusal): nothing is sent for them and they are not listed.
// With Options.ServiceAccount, objects are read, applied and pruned as that
// ServiceAccount, and the apiserver's RBAC refuses what it may not do: the
// failure names the ServiceAccount, the verb and the resource.
//
// Push passes and full passes: an SSA remembers, per source, the intent
// digest of every object its last Apply applied or found unchanged, and
// the inventory it stored. When that inventory is still the stored one
// and the last full pass is less than Options.FullEvery old, an object
// whose digest is the remembered one is reported Unchanged without being
// read (a pass after a push reads and writes only what the push changed,
// and prunes as always). Otherwise (the first Apply after a start, an
// inventory someone else wrote, FullEvery elapsed by now since the last
// full pass) every object is compared with its live copy as described
// above, which takes back drift in objects whose intent did not change.
// now is the pass's time, read once by the caller's loop: the SSA reads no
// clock.
//
// Apply does not change the objects, and drops its references to them as
// it goes: a caller that drops its own (a large first pass) has them
// collected before the pass ends.
//
// A Service ebb created whose cluster IP the apply would change (headless
// to one with an address, or back), which the API refuses in place, is
// deleted and created again.
//
// One object failing (refused by the guard rails, rejected by the
// apiserver) does not stop the others; the error joins every failure, and
// the ChangeSet says what happened to each object. A failed object the
// inventory listed stays listed, so it is never pruned for having failed.
func (s *SSA) Apply(ctx context.Context, source string, objects []*unstructured.Unstructured, now time.Time) (ChangeSet, error) {
	return s.apply(ctx, source, objects, nil, now)
}

// ErrFullPass is ApplyChanged's answer when the pass is a full one (see
// Apply) or it does not remember an object named unchanged: the caller
// applies every object with Apply instead. Nothing was written.
var ErrFullPass = errors.New("a full pass is due: apply every object")

// ApplyChanged is Apply for a caller that knows which of source's objects
// have the very intent they had at source's last Apply, which succeeded:
// it passes only the other objects (changed) and names the unchanged ones
// (same, with their API versions). Those are taken as unchanged without
// being rendered, digested or read, as a push pass takes an object whose
// digest it remembers (see Apply). So a pass after a push that changed one
// Service of thousands handles only that Service's objects, and still
// prunes what no object, changed or same, names.
//
// When the pass is due to be full, or an object of same is not one the
// last Apply applied or found unchanged, ApplyChanged writes nothing and
// returns ErrFullPass.
func (s *SSA) ApplyChanged(ctx context.Context, source string, changed []*unstructured.Unstructured, same []Entry, now time.Time) (ChangeSet, error) {
	if same == nil {
		same = []Entry{}
	}
	return s.apply(ctx, source, changed, same, now)
}

// BeginChanged starts the Pass of an ApplyChanged: Add the changed
// objects, then End. It returns ErrFullPass as ApplyChanged does.
func (s *SSA) BeginChanged(ctx context.Context, source string, same []Entry, now time.Time) (*Pass, error) {
	if same == nil {
		same = []Entry{}
	}
	return s.begin(ctx, source, same, now)
}

// apply is Apply, or ApplyChanged when same is not nil: one Pass with one
// part.
func (s *SSA) apply(ctx context.Context, source string, objects []*unstructured.Unstructured, same []Entry, now time.Time) (ChangeSet, error) {
	p, err := s.begin(ctx, source, same, now)
	if err != nil {
		return ChangeSet{}, err
	}
	p.Add(ctx, objects)
	return p.End(ctx)
}

// result is the outcome of applyOne.
type result struct {
	entry  Entry
	change Change
}

// applyStage applies the objects of one stage, Options.Workers at a time
// (objects of one rank do not depend on each other), and returns their
// results in the stage's order.
func (s *SSA) applyStage(ctx context.Context, stage []*unstructured.Unstructured, digests map[Ref]string, known liveSet, prev Inventory) []result {
	results := make([]result, len(stage))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(s.opts.Workers, len(stage)) {
		wg.Go(func() {
			for i := range work {
				ref := RefOf(stage[i])
				old, tracked := prev.Lookup(ref)
				r := &results[i]
				r.entry, r.change = s.applyOne(ctx, stage[i], digests[ref], known, old, tracked)
			}
		})
	}
	for i := range stage {
		work <- i
	}
	close(work)
	wg.Wait()
	return results
}

// applyOne applies u, whose intent digest is digest, unless it is
// unchanged, reading it first unless known has it.
func (s *SSA) applyOne(ctx context.Context, u *unstructured.Unstructured, digest string, known liveSet, old Entry, tracked bool) (Entry, Change) {
	r := RefOf(u)
	version := u.GroupVersionKind().Version
	// On failure, the entry to list the object under if the inventory
	// does not (see Pass.Add).
	failed := Entry{Ref: r, Version: version}
	fail := func(err error) (Entry, Change) {
		err = &ObjectError{Ref: r, Err: err}
		return failed, Change{Ref: r, Action: Failed, Reason: err.Error(), Err: err}
	}
	res, err := s.resource(r.GroupKind(), version, r)
	if err != nil {
		return fail(err)
	}
	mgr := s.opts.FieldManager
	live, listed := known.lookup(u)
	if !listed {
		got, err := res.Get(ctx, r.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fail(fmt.Errorf("read: %w", res.denied("read", err)))
		default:
			live = observe(got, mgr)
		}
	}
	// An object that exists and the source never applied is adopted: ebb
	// did not create it, so it lets go of it, never deletes it, once the
	// source no longer renders it (see prune).
	// (Also one listed only as pending, or after a failed first apply,
	// that ebb owns no field of.)
	adopted := old.Adopted || (live != nil && (!tracked || (old.Fields == "" && live.fields == "")))
	failed.Adopted = adopted
	if live != nil && tracked && old.Fields != "" && live.applied == digest && live.fields == old.Fields {
		return Entry{Ref: r, Version: version, Fields: old.Fields, Adopted: adopted}, Change{Ref: r, Action: Unchanged}
	}
	if live != nil && live.partial && u.GroupVersionKind().Group == "apps" && u.GroupVersionKind().Kind == "Deployment" {
		// Listed by metadata: the replicas the write may keep are read now.
		got, err := res.Get(ctx, r.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			live = nil
		case err != nil:
			return fail(fmt.Errorf("read: %w", res.denied("read", err)))
		default:
			live = observe(got, mgr)
		}
	}
	// Fields are forced on what ebb creates, on what it applied before
	// (listed with the fields it owned: a listed object that never applied,
	// such as one whose first apply conflicted, does not count) and on
	// what the rendered object says to force.
	force := live == nil || (tracked && old.Fields != "") || u.GetAnnotations()[ForceAnnotation] == "true"
	out, err := res.Apply(ctx, r.Name, intent(u, live), metav1.ApplyOptions{FieldManager: mgr, Force: force})
	if err != nil && live != nil && !adopted && clusterIPChange(r, err) {
		out, err = recreate(ctx, res, u, live, mgr)
	}
	if err != nil {
		if apierrors.IsConflict(err) && !force {
			err = fmt.Errorf("%w (the object exists and this source never applied it; annotate it %s: \"true\" to take it over): %w",
				ErrConflict, ForceAnnotation, err)
		}
		return fail(fmt.Errorf("apply: %w", res.denied("apply", err)))
	}
	action := Configured
	switch {
	case live == nil:
		action = Created
	case out.GetResourceVersion() == live.resourceVersion:
		action = Unchanged
	}
	return Entry{Ref: r, Version: version, Fields: FieldsDigest(out, mgr), Adopted: adopted}, Change{Ref: r, Action: action}
}
