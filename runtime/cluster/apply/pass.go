package apply

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A Pass is an Apply whose objects come in parts, for a caller that
// renders them a part at a time so that they need not all be held at
// once: Begin, Add for each part, End, which prunes what no part named
// and stores the inventory. Parts are applied in the order they are
// added, each in Rank order: a part's objects may depend only on its own
// and on earlier parts' (the first part holds the namespaces, definitions
// and configuration). A Pass that does not reach End (its caller failed
// midway) prunes nothing and leaves the inventory as it was, but for the
// objects it created, which stay listed as pending.
type Pass struct {
	// Locate, when set, says where an object came from, as "file:line"
	// or "file:line: path" given the field path a failure is about (""
	// for the whole object); "" when it does not know. A failure of the
	// pass then starts with it.
	Locate func(u *unstructured.Unstructured, path string) string

	s      *SSA
	source string
	prev   stored // the inventory as loaded
	cur    stored // the same, with the pending entries of the parts so far
	m      *memo  // trusted memory of the last Apply, or nil
	now    time.Time

	invalid []Change // refused before anything was sent
	changes []Change
	skipped []Entry // taken as unchanged without being read
	next    []Entry // the inventory entries of the objects handled
	applied map[Ref]string
	seen    map[Ref]bool
	crds    []string // definitions applied, to be established
	err     error    // the pass cannot go on (pending entries not saved)
}

// Begin starts a Pass for source at now: see Apply for what a pass does.
func (s *SSA) Begin(ctx context.Context, source string, now time.Time) (*Pass, error) {
	return s.begin(ctx, source, nil, now)
}

func (s *SSA) begin(ctx context.Context, source string, same []Entry, now time.Time) (*Pass, error) {
	if err := checkSource(source); err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	prev, err := s.load(ctx, source)
	if err != nil {
		return nil, fmt.Errorf("apply %s: %w", source, err)
	}
	p := &Pass{s: s, source: source, prev: prev, cur: prev, m: s.trusted(source, prev, now), now: now,
		applied: map[Ref]string{}, seen: make(map[Ref]bool, len(same))}
	if same != nil {
		if p.skipped, err = p.m.same(same, prev.inv); err != nil {
			return nil, fmt.Errorf("apply %s: %w", source, err)
		}
		for _, e := range same {
			p.seen[e.Ref] = true
		}
	}
	return p, nil
}

// Add applies one part's objects. It does not change them, and drops its
// references to them as it goes.
func (p *Pass) Add(ctx context.Context, objects []*unstructured.Unstructured) {
	if p.err != nil {
		return
	}
	s, prev := p.s, p.prev
	p.skipped = slices.Grow(p.skipped, len(objects))
	desired, digests := prepare(objects, p.seen, s.admitRefs, func(u *unstructured.Unstructured, err error) {
		r := RefOf(u)
		err = &ObjectError{Ref: r, Err: err}
		p.invalid = append(p.invalid, p.located(u, Change{Ref: r, Action: Failed, Reason: err.Error(), Err: err}))
		if old, ok := prev.inv.Lookup(r); ok {
			// Applied before it was refused: a failure never prunes.
			p.next = append(p.next, old)
		}
	}, func(u *unstructured.Unstructured, digest string) bool {
		e, ok := p.m.skip(u, digest, prev.inv)
		if ok {
			p.skipped = append(p.skipped, e)
		}
		return ok
	})

	// Record the objects about to be created before creating them, so that
	// an apply cut short still leaves them in the inventory. Objects the
	// guard rails refuse are never created and not recorded.
	var pending []Entry
	for _, u := range desired {
		if r := RefOf(u); !prev.inv.Has(r) && !s.refused(r, u.GroupVersionKind().Version) {
			pending = append(pending, Entry{Ref: r, Version: u.GroupVersionKind().Version})
		}
	}
	if len(pending) > 0 {
		cur, err := s.savePending(ctx, p.source, p.cur, pending)
		if err != nil {
			p.err = err
			return
		}
		p.cur = cur
	}

	known := s.prefetch(ctx, desired)
	// Nothing holds an object once its stage is applied: a caller that
	// handed its objects over (see Apply) gets their memory back as the
	// pass goes, not at its end.
	all := stages(desired)
	clear(desired)
	for _, stage := range all {
		if len(p.crds) > 0 {
			// Custom resources come in later stages than their definitions.
			s.waitEstablished(ctx, p.crds)
			p.crds = nil
		}
		for i, res := range s.applyStage(ctx, stage, digests, known, prev.inv) {
			u, change := stage[i], p.located(stage[i], res.change)
			r := RefOf(u)
			old, tracked := prev.inv.Lookup(r)
			p.changes = append(p.changes, change)
			switch {
			case change.Action != Failed:
				p.next = append(p.next, res.entry)
				p.applied[r] = digests[r]
				if r.GroupKind() == crdKind && change.Action != Unchanged {
					p.crds = append(p.crds, r.Name)
				}
			case tracked:
				old.Adopted = old.Adopted || res.entry.Adopted
				p.next = append(p.next, old)
			case !refusal(change.Err):
				// It may exist (a request can fail after the object was
				// created); keeping it listed also keeps the inventory
				// from changing while the failure lasts. It is listed as
				// adopted if it existed before: it is not ebb's to delete.
				p.next = append(p.next, res.entry)
			}
		}
		clear(stage)
	}
}

// End prunes what the source applied before and no part named, stores the
// new inventory, and returns what the pass did: see Apply.
func (p *Pass) End(ctx context.Context) (ChangeSet, error) {
	s := p.s
	// Refusals first, then every object in apply order.
	changes := make([]Change, 0, len(p.invalid)+len(p.changes)+len(p.skipped))
	changes = append(changes, p.invalid...)
	for _, e := range p.skipped {
		changes = append(changes, Change{Ref: e.Ref, Action: Unchanged})
	}
	changes = append(changes, p.changes...)
	slices.SortStableFunc(changes[len(p.invalid):], func(a, b Change) int { return Compare(a.Ref, b.Ref) })
	cs := ChangeSet{Changes: changes}
	if p.err != nil {
		return cs, fmt.Errorf("apply %s: %w", p.source, errors.Join(cs.Err(), p.err))
	}

	next := append(p.skipped, p.next...)
	keep := NewInventory(next...)
	failed := false
	for _, e := range Stale(p.prev.inv, keep) {
		change := s.prune(ctx, e)
		cs.add(change)
		if change.Action == Failed {
			next, failed = append(next, e), true
		}
	}
	if failed {
		keep = NewInventory(next...)
	}
	saved, err := s.save(ctx, p.source, p.cur, keep)
	if err != nil {
		s.remember(p.source, nil)
		return cs, fmt.Errorf("apply %s: %w", p.source, errors.Join(cs.Err(), err))
	}
	nm := &memo{rv: saved.rv, inv: saved.main, digests: p.applied, full: p.now}
	if p.m != nil {
		nm.full = p.m.full
		for _, e := range p.skipped {
			p.applied[e.Ref] = p.m.digests[e.Ref]
		}
	}
	s.remember(p.source, nm)
	if err := cs.Err(); err != nil {
		return cs, fmt.Errorf("apply %s: %w", p.source, err)
	}
	return cs, nil
}

// prepare returns the valid objects in apply order and their intent
// digests, leaving out those skip takes as unchanged; invalid ones, those
// seen already (in seen, which it adds to) and those admit refuses are
// handed to fail. The objects are not copied: nothing in an apply changes
// them.
func prepare(objects []*unstructured.Unstructured, seen map[Ref]bool, admit func(*unstructured.Unstructured) error,
	fail func(*unstructured.Unstructured, error), skip func(u *unstructured.Unstructured, digest string) bool) ([]*unstructured.Unstructured, map[Ref]string) {
	digests := map[Ref]string{}
	all := digestAll(objects)
	var out []*unstructured.Unstructured
	for i, o := range objects {
		if o == nil {
			continue
		}
		r := RefOf(o)
		switch {
		case o.GetAPIVersion() == "" || r.Kind == "" || r.Name == "":
			fail(o, refuse("", "%w: apiVersion, kind and metadata.name are required", ErrInvalidObject))
		case seen[r]:
			fail(o, refuse("metadata.name", "%w: rendered more than once", ErrInvalidObject))
		default:
			seen[r] = true
			if err := admit(o); err != nil {
				fail(o, err)
				continue
			}
			d := all[i]
			if !skip(o, d) {
				digests[r] = d
				out = append(out, o)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *unstructured.Unstructured) int { return Compare(RefOf(a), RefOf(b)) })
	return out, digests
}

// digestAll digests every object, spread over the CPUs: a pass digests
// every rendered object, thousands for a large source.
func digestAll(objects []*unstructured.Unstructured) []string {
	out := make([]string, len(objects))
	workers := min(runtime.GOMAXPROCS(0), len(objects)/256+1)
	var wg gosync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(objects); i += workers {
				if objects[i] != nil {
					out[i] = Digest(objects[i])
				}
			}
		})
	}
	wg.Wait()
	return out
}

// stages splits objects sorted in apply order into runs of one rank.
func stages(sorted []*unstructured.Unstructured) [][]*unstructured.Unstructured {
	var out [][]*unstructured.Unstructured
	for i, u := range sorted {
		if i == 0 || Rank(RefOf(u).GroupKind()) != Rank(RefOf(sorted[i-1]).GroupKind()) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], u)
	}
	return out
}

// located is c with its failure prefixed by where the object came from,
// when the pass has a Locate that knows.
func (p *Pass) located(u *unstructured.Unstructured, c Change) Change {
	if p.Locate == nil || c.Action != Failed {
		return c
	}
	var path string
	if r := (*Refusal)(nil); errors.As(c.Err, &r) {
		path = r.Path
	}
	where := p.Locate(u, path)
	if where == "" {
		return c
	}
	c.Err = fmt.Errorf("%s: %w", where, c.Err)
	c.Reason = c.Err.Error()
	return c
}
