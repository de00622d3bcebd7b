package render

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// Memo renders states one after another relative to a base: the last state
// the caller kept (see Keep). It is not safe for concurrent use.
//
// A state is cut into parts, each rendered from its own inputs: one per
// ledger (the ledger and the Service of the same namespace and name), one
// per DomainMapping (the DomainMapping and the ledger of the Service it
// targets), and one for the pass-through objects (compared element by
// element). A part whose routes split to revisions of other ledgers also
// reads those ledgers. A ledger's placeholder Services are a part of
// their own that also reads the load balancer its route's edge reports
// (Input.Programmed): when only that moves, only they are rendered again.
// Config and Gateways are read by every part: when either changes,
// everything is rendered again. A part whose inputs are
// the same pointers as the base's, or reflect.DeepEqual to them, renders
// exactly as it did; only the others are rendered again. Inputs must not
// be changed in place once given to Render.
//
// The base holds the inputs (pointers) and the names of what each part
// rendered, never the rendered objects.
type Memo struct {
	// Whole keeps every state's objects: RenderLean is Render. For a
	// caller that holds every object anyway (a runtime that takes them at
	// once), where rendering lean would only render them twice.
	Whole bool

	base  *memoState
	hosts hostCache
}

// Delta is one state rendered relative to a Memo's base.
type Delta struct {
	// Objects are the objects of the parts whose inputs differ from the
	// base's, sorted as Render sorts.
	Objects []*unstructured.Unstructured
	// Same names, sorted as Render sorts, the objects of every other part:
	// they render exactly as they did in the base. Empty when there was no
	// base or everything was rendered again.
	Same []Ref

	// state is what Keep makes the base; nil when the input could not be
	// cut into parts (Keep then forgets the base).
	state *memoState
}

// Keep makes d's state the base of later Renders. The caller keeps a state
// once it is applied; a Delta that is not kept changes nothing. d must
// come from m's Render; a nil d changes nothing.
func (m *Memo) Keep(d *Delta) {
	if d != nil {
		m.base = d.state
	}
}

// Reset forgets the base: the next Render renders everything.
func (m *Memo) Reset() { m.base = nil }

// Render renders in relative to the base. Errors are those Render gives
// for the same input (same messages), including ErrDuplicate across a
// changed part and an unchanged one.
func (m *Memo) Render(in Input) (*Delta, error) {
	if err := m.CheckHosts(in); err != nil {
		return nil, err
	}
	return m.render(in)
}

// CheckHosts is CheckHosts, computing the hosts only of the Services
// that changed since the last state the Memo checked.
func (m *Memo) CheckHosts(in Input) error { return m.hosts.check(in) }

// render is Render once the state's hosts are checked.
func (m *Memo) render(in Input) (*Delta, error) {
	if d, cut, err := renderFrom(m.base, in, false); cut {
		return d, err
	}
	// Input that cannot be cut into parts is rendered whole; keeping it
	// forgets the base.
	out, err := render(in, nil)
	if err != nil {
		return nil, err
	}
	return &Delta{Objects: out}, nil
}

// memoState is one rendered state: its inputs, and the names of the
// objects it rendered with the part that rendered each.
type memoState struct {
	cfg *config.Config
	gw  *Gateways
	// programmed are the edges' reports the placeholders followed.
	programmed serving.Programmed
	types      *refTypes
	ledgers    []ledgerPart // sorted by key
	dms        []dmPart     // sorted by key
	// objects are the pass-through objects as given: part objectsPart.
	objects []*unstructured.Unstructured
	// refs name every object, in Render's order.
	refs []objRef
}

// objectsPart is the part id of the pass-through objects.
const objectsPart = 0

// partKey is a namespace and a name: of a ledger's Service, or of a
// DomainMapping.
type partKey struct{ namespace, name string }

func (k partKey) compare(o partKey) int {
	return cmp.Or(strings.Compare(k.namespace, o.namespace), strings.Compare(k.name, o.name))
}

type ledgerPart struct {
	key     partKey
	id      uint32 // the part of its objects' refs
	ledger  *serving.Ledger
	service *serving.Service // nil when the ledger has none
	// placeholders is the part of its placeholder Services' refs.
	placeholders uint32
	// deps are the other ledgers whose revision facts the routes read.
	deps []partKey
}

type dmPart struct {
	key partKey
	id  uint32
	dm  *serving.DomainMapping
	// target is the ledger at domainMappingTarget, or nil.
	target *serving.Ledger
	// deps are the ledgers other than target whose revision facts the
	// routes read.
	deps []partKey
}

// renderFrom renders in relative to base (nil: everything). !cut when the
// input cannot be cut into parts: two ledgers, Services or DomainMappings
// of one name, or a Service without a ledger. With names set, the Delta's
// Objects are only the identities of the objects rendered (see
// renderer.names): for a state kept by its names alone.
//
// Errors are Render's: the parts rendered again fail as they do in
// Render, in the same order, and every other part rendered without one in
// the base; and of the objects of all parts, in Render's order, the first
// two of one identity are the two Render reports.
func renderFrom(base *memoState, in Input, names bool) (d *Delta, cut bool, err error) {
	ledgers := sortedLedgers(in.Ledgers)
	services := sortedServices(in.Services)
	dms := sortedDomainMappings(in.DomainMappings)
	paired, ok := pairServices(ledgers, services)
	if !ok || hasDuplicateKeys(dms, func(dm *serving.DomainMapping) partKey { return partKey{dm.Namespace, dm.Name} }) {
		return nil, false, nil
	}
	if base != nil && (!sameConfig(base.cfg, in.Config) || !sameGateways(base.gw, in.Gateways)) {
		base = nil
	}
	next := &memoState{cfg: in.Config, gw: in.Gateways, programmed: in.Programmed, objects: slices.Clone(in.Objects)}
	// dropped are the parts of base whose objects are not the same in
	// next: rendered again or gone.
	var dropped map[uint32]bool
	if base != nil {
		next.types = base.types
		dropped = map[uint32]bool{}
	} else {
		next.types = newRefTypes()
	}

	redoLedgers, rebalanced, newLedger := cutLedgers(base, next, ledgers, paired, dropped)
	redoDMs := cutDMs(base, next, ledgers, dms, newLedger, dropped)
	redoObjects := base == nil || !sameObjects(base.objects, in.Objects)

	objects, changed, errs := renderParts(in, ledgers, redoLedgers, redoDMs, next.types, names)
	objects, changed, errs = renderPlaceholders(in, rebalanced, next.types, names, objects, changed, errs)
	if redoObjects {
		objects = append(objects, in.Objects...)
		changed = next.types.appendRefs(changed, in.Objects, objectsPart)
		if base != nil {
			dropped[objectsPart] = true
		}
	}
	order := next.types.order()
	sortByRefs(next.types, order, objects, changed)

	same := base.sameRefs(dropped)
	var dup objRef
	var collide bool
	next.refs, dup, collide = merge(next.types, order, changed, same)
	if collide {
		errs = append(errs, fmt.Errorf("%w: %s", ErrDuplicate, next.types.describe(dup)))
	}
	if len(errs) > 0 {
		return nil, true, errors.Join(errs...)
	}
	d = &Delta{Objects: objects, state: next}
	if len(same) > 0 {
		d.Same = next.types.expand(same)
	}
	return d, true, nil
}

// ledgerWork is one ledger part rendered again.
type ledgerWork struct {
	part         *ledgerPart
	revisions    []*unstructured.Unstructured
	routes       []*unstructured.Unstructured
	placeholders []*unstructured.Unstructured
}

// dmWork is one DomainMapping part rendered again.
type dmWork struct {
	part   *dmPart
	routes []*unstructured.Unstructured
}

// renderParts renders the given parts the way render does and records in
// each its names and dependencies. It returns their objects, unsorted
// (with names set, their identities only), the names of the objects, and
// the errors in render's order.
func renderParts(in Input, ledgers []*serving.Ledger, redoLedgers []*ledgerWork, redoDMs []*dmWork, types *refTypes, names bool) ([]*unstructured.Unstructured, []objRef, []error) {
	r := newRenderer(in.Config, in.Gateways)
	r.names = names
	r.programmed = in.Programmed
	revBatches := inBatches(r, redoLedgers, func(b *batch, w *ledgerWork) {
		start := len(b.out)
		b.revisions(w.part.ledger)
		w.revisions = b.out[start:len(b.out):len(b.out)]
	})
	r.collectRevisions(revBatches)
	if len(redoLedgers) < len(ledgers) {
		f := &otherFacts{r: r, ledgers: ledgers, redone: redoLedgers}
		r.more = f.find
	}
	svcBatches := inBatches(r, redoLedgers, func(b *batch, w *ledgerWork) {
		if w.part.service == nil {
			return
		}
		b.track, b.reads = true, b.reads[:0]
		start := len(b.out)
		hs, meta, ok := b.serviceRoutes(w.part.service, w.part.ledger)
		w.routes = b.out[start:len(b.out):len(b.out)]
		w.part.deps = depsOf(b.reads, w.part.key)
		if ok {
			start = len(b.out)
			b.placeholders(w.part.service, hs, meta)
			w.placeholders = b.out[start:len(b.out):len(b.out)]
		}
	})
	dmBatches := inBatches(r, redoDMs, func(b *batch, w *dmWork) {
		b.track, b.reads = true, b.reads[:0]
		start := len(b.out)
		b.domainMapping(w.part.dm, w.part.target)
		w.routes = b.out[start:len(b.out):len(b.out)]
		own := partKey{}
		if t := w.part.target; t != nil {
			own = partKey{t.Namespace, t.Service}
		}
		w.part.deps = depsOf(b.reads, own)
	})
	n := len(in.Objects)
	var errs []error
	for _, b := range slices.Concat(revBatches, svcBatches, dmBatches) {
		n += len(b.out)
		errs = append(errs, b.errs...)
	}
	out := make([]*unstructured.Unstructured, 0, n)
	refs := make([]objRef, 0, n)
	for _, w := range redoLedgers {
		out = slices.Concat(out, w.revisions, w.routes, w.placeholders)
		refs = types.appendRefs(refs, w.revisions, w.part.id)
		refs = types.appendRefs(refs, w.routes, w.part.id)
		refs = types.appendRefs(refs, w.placeholders, w.part.placeholders)
	}
	for _, w := range redoDMs {
		out = append(out, w.routes...)
		refs = types.appendRefs(refs, w.routes, w.part.id)
	}
	return out, refs, errs
}

// renderPlaceholders renders the placeholder Services of the ledger
// parts whose load balancer alone moved, and appends them, their names
// and their errors to those of the other parts. They read no revision.
func renderPlaceholders(in Input, works []*ledgerWork, types *refTypes, names bool, out []*unstructured.Unstructured, refs []objRef, errs []error) ([]*unstructured.Unstructured, []objRef, []error) {
	if len(works) == 0 {
		return out, refs, errs
	}
	r := newRenderer(in.Config, in.Gateways)
	r.names = names
	r.programmed = in.Programmed
	b := &batch{renderer: r}
	for _, w := range works {
		start := len(b.out)
		b.servicePlaceholders(w.part.service, w.part.ledger)
		refs = types.appendRefs(refs, b.out[start:], w.part.placeholders)
	}
	return append(out, b.out...), refs, append(errs, b.errs...)
}

// otherFacts finds the facts of revisions of ledgers that are not rendered
// again, as render would have prepared them: the routes of a part rendered
// again may split to them (a DomainMapping to its target's revisions).
// Those ledgers rendered in the base, so every revision prepares.
type otherFacts struct {
	r       *renderer
	ledgers []*serving.Ledger // sorted
	redone  []*ledgerWork     // the ledgers rendered again, in the same order
	mu      sync.Mutex
	index   map[partKey]revisionAt // namespace and revision name
	made    map[partKey]*revision
}

type revisionAt struct {
	ledger *serving.Ledger
	i      int
}

func (f *otherFacts) find(namespace, name string) (*revision, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := partKey{namespace, name}
	if rev, ok := f.made[k]; ok {
		return rev, true
	}
	if f.index == nil {
		// As in render's index of revisions, a later ledger's revision
		// wins a name. Revisions of the ledgers rendered again are in
		// renderer.revs when they prepare, and not here: when one that
		// did not prepare shares its name with one here, routes read this
		// one, as in render. (Two that prepare collide as Deployments:
		// the render fails whichever one a route reads.)
		f.index = map[partKey]revisionAt{}
		f.made = map[partKey]*revision{}
		redone := f.redone
		for _, l := range f.ledgers {
			if len(redone) > 0 && redone[0].part.ledger == l {
				redone = redone[1:]
				continue
			}
			for i := range l.Revisions {
				f.index[partKey{l.Namespace, l.Revisions[i].Name}] = revisionAt{l, i}
			}
		}
	}
	at, ok := f.index[k]
	if !ok {
		return nil, false
	}
	rev, err := f.r.prepare(at.ledger, &at.ledger.Revisions[at.i])
	if err != nil {
		return nil, false
	}
	f.made[k] = rev
	return rev, true
}

// depsOf are the ledgers, other than own, of the revisions read.
func depsOf(reads []*revision, own partKey) []partKey {
	var deps []partKey
	for _, rev := range reads {
		k := partKey{rev.namespace, rev.service}
		if k != own && !slices.Contains(deps, k) {
			deps = append(deps, k)
		}
	}
	return deps
}

// pairServices returns, for each sorted ledger, the Service of its
// namespace and name or nil; !ok when two ledgers or two Services share
// a key, or a Service has no ledger.
func pairServices(ledgers []*serving.Ledger, services []*serving.Service) ([]*serving.Service, bool) {
	lk := func(l *serving.Ledger) partKey { return partKey{l.Namespace, l.Service} }
	sk := func(s *serving.Service) partKey { return partKey{s.Namespace, s.Name} }
	if hasDuplicateKeys(ledgers, lk) || hasDuplicateKeys(services, sk) {
		return nil, false
	}
	paired := make([]*serving.Service, len(ledgers))
	j := 0
	for i, l := range ledgers {
		if j < len(services) && sk(services[j]).compare(lk(l)) < 0 {
			return nil, false // a Service without a ledger
		}
		if j < len(services) && sk(services[j]) == lk(l) {
			paired[i] = services[j]
			j++
		}
	}
	return paired, j == len(services)
}

// hasDuplicateKeys reports whether two neighbours of sorted share a key.
func hasDuplicateKeys[T any](sorted []T, key func(T) partKey) bool {
	for i := 1; i < len(sorted); i++ {
		if key(sorted[i-1]) == key(sorted[i]) {
			return true
		}
	}
	return false
}

// same reports whether two inputs are the same: one pointer, or equal.
func same[T any](a, b *T) bool {
	return a == b || (a != nil && b != nil && reflect.DeepEqual(a, b))
}

func sameConfig(a, b *config.Config) bool {
	if a == b {
		return true
	}
	if a == nil {
		a = config.Default()
	}
	if b == nil {
		b = config.Default()
	}
	return same(a, b)
}

func sameGateways(a, b *Gateways) bool {
	if a == b {
		return true
	}
	if a == nil {
		a = DefaultGateways()
	}
	if b == nil {
		b = DefaultGateways()
	}
	return same(a, b)
}

// sameObjects compares pass-through objects element by element.
func sameObjects(a, b []*unstructured.Unstructured) bool {
	return slices.EqualFunc(a, b, func(x, y *unstructured.Unstructured) bool {
		return x == y || (x != nil && y != nil && reflect.DeepEqual(x.Object, y.Object))
	})
}
