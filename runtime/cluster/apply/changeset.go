package apply

import (
	"errors"
	"fmt"
	"strings"
)

// Action is what an apply did to one object.
type Action string

const (
	Created    Action = "created"    // the object did not exist
	Configured Action = "configured" // the object changed
	Unchanged  Action = "unchanged"  // the object was already as wanted; nothing was written
	Pruned     Action = "pruned"     // the source no longer renders it; deleted
	Released   Action = "released"   // the source no longer renders it, and ebb did not create it: let go of, not deleted
	Skipped    Action = "skipped"    // not pruned: protected, or not the field manager's
	Failed     Action = "failed"     // see Change.Err
)

// Change is the outcome for one object.
type Change struct {
	Ref    Ref
	Action Action
	// Reason says why an object was skipped, or how it failed.
	Reason string
	// Err is the failure, wrapped with the object's ref; nil unless Failed.
	Err error
}

func (c Change) String() string {
	if c.Reason != "" {
		return fmt.Sprintf("%s %s: %s", c.Ref, c.Action, c.Reason)
	}
	return fmt.Sprintf("%s %s", c.Ref, c.Action)
}

// ChangeSet lists the outcome of one apply, object by object, in the order
// the objects were handled.
type ChangeSet struct {
	Changes []Change
}

func (cs *ChangeSet) add(c Change) { cs.Changes = append(cs.Changes, c) }

func (cs *ChangeSet) fail(r Ref, err error) {
	err = &ObjectError{Ref: r, Err: err}
	cs.add(Change{Ref: r, Action: Failed, Reason: err.Error(), Err: err})
}

// Count returns how many objects had action a.
func (cs ChangeSet) Count(a Action) int {
	n := 0
	for _, c := range cs.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Refs returns the refs that had action a, in order.
func (cs ChangeSet) Refs(a Action) []Ref {
	var refs []Ref
	for _, c := range cs.Changes {
		if c.Action == a {
			refs = append(refs, c.Ref)
		}
	}
	return refs
}

// Err joins the failures, or is nil when there are none.
func (cs ChangeSet) Err() error {
	var errs []error
	for _, c := range cs.Changes {
		if c.Action == Failed {
			errs = append(errs, c.Err)
		}
	}
	return errors.Join(errs...)
}

// String lists one change a line.
func (cs ChangeSet) String() string {
	var b strings.Builder
	for _, c := range cs.Changes {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// ObjectError is one object's failure, named by its ref: a failed
// Change's Err is or wraps one.
type ObjectError struct {
	Ref Ref
	Err error
}

func (e *ObjectError) Error() string { return e.Ref.String() + ": " + e.Err.Error() }

func (e *ObjectError) Unwrap() error { return e.Err }

// ObjectErrors returns the object failures err holds, wrapped or joined
// (a ChangeSet's Err, or an Apply's error), in order.
func ObjectErrors(err error) []*ObjectError {
	switch e := err.(type) {
	case nil:
		return nil
	case *ObjectError:
		return []*ObjectError{e}
	case interface{ Unwrap() []error }:
		var out []*ObjectError
		for _, x := range e.Unwrap() {
			out = append(out, ObjectErrors(x)...)
		}
		return out
	case interface{ Unwrap() error }:
		return ObjectErrors(e.Unwrap())
	}
	return nil
}
