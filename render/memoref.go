package render

import (
	"cmp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Ref names a rendered object.
type Ref struct{ APIVersion, Kind, Namespace, Name string }

// RefOf returns the Ref of a rendered object.
func RefOf(u *unstructured.Unstructured) Ref {
	return Ref{u.GetAPIVersion(), u.GetKind(), u.GetNamespace(), u.GetName()}
}

// objRef is a Ref in a state, and the part that rendered it: its type
// (APIVersion, Kind and Namespace) is an index into the state's refTypes,
// so that the thousands of names a state holds cost a name each.
type objRef struct {
	typ  int32
	part uint32
	name string
}

// refTypes interns the types of a lineage of states and numbers their
// parts. It only grows: the states rendered from one base share it.
type refTypes struct {
	list  []Ref // Name unset
	index map[Ref]int32
	parts uint32 // the last part id given; objectsPart is never given
}

func newRefTypes() *refTypes { return &refTypes{index: map[Ref]int32{}} }

// newPart numbers a new part.
func (t *refTypes) newPart() uint32 {
	t.parts++
	return t.parts
}

// appendRefs appends the names of objs, rendered by part, to dst.
func (t *refTypes) appendRefs(dst []objRef, objs []*unstructured.Unstructured, part uint32) []objRef {
	for _, o := range objs {
		r := RefOf(o)
		name := r.Name
		r.Name = ""
		typ, ok := t.index[r]
		if !ok {
			typ = int32(len(t.list))
			t.list = append(t.list, r)
			t.index[r] = typ
		}
		dst = append(dst, objRef{typ, part, name})
	}
	return dst
}

func (t *refTypes) expand(refs []objRef) []Ref {
	out := make([]Ref, len(refs))
	for i, r := range refs {
		out[i] = t.list[r.typ]
		out[i].Name = r.name
	}
	return out
}

// order ranks each type as sortObjects orders objects (kind rank, kind,
// API group, namespace); types that differ only in their version share a
// rank, so that their objects share an identity by name.
func (t *refTypes) order() []int {
	type keyed struct {
		rank                               int
		kind, group, namespace, apiVersion string
		typ                                int
	}
	ks := make([]keyed, len(t.list))
	for i, r := range t.list {
		kind, group := sortKind(r.APIVersion, r.Kind)
		ks[i] = keyed{rankOf(kind), kind, group, r.Namespace, r.APIVersion, i}
	}
	identity := func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.kind, b.kind),
			strings.Compare(a.group, b.group), strings.Compare(a.namespace, b.namespace))
	}
	slices.SortFunc(ks, identity)
	order := make([]int, len(ks))
	rank := 0
	for i, k := range ks {
		if i > 0 && identity(ks[i-1], k) != 0 {
			rank++
		}
		order[k.typ] = rank
	}
	return order
}

// compare orders refs as sortObjects orders objects, then by version.
func (t *refTypes) compare(order []int, a, b objRef) int {
	return cmp.Or(cmp.Compare(order[a.typ], order[b.typ]), strings.Compare(a.name, b.name),
		strings.Compare(t.list[a.typ].APIVersion, t.list[b.typ].APIVersion))
}

// describe names an object as sortObjects's errors do.
func (t *refTypes) describe(r objRef) string {
	typ := t.list[r.typ]
	if typ.Namespace != "" {
		return typ.Kind + " " + typ.Namespace + "/" + r.name
	}
	return typ.Kind + " " + r.name
}

// sortByRefs sorts objs and their refs as sortObjects sorts objects.
func sortByRefs(t *refTypes, order []int, objs []*unstructured.Unstructured, refs []objRef) {
	type pair struct {
		ref objRef
		obj *unstructured.Unstructured
	}
	ps := make([]pair, len(objs))
	for i := range objs {
		ps[i] = pair{refs[i], objs[i]}
	}
	slices.SortFunc(ps, func(a, b pair) int { return t.compare(order, a.ref, b.ref) })
	for i, p := range ps {
		refs[i], objs[i] = p.ref, p.obj
	}
}

// merge merges two sorted lists of refs into one, and returns the first
// ref whose identity the one before it has, as sortObjects finds it over
// the objects of both.
func merge(t *refTypes, order []int, a, b []objRef) (out []objRef, dup objRef, collide bool) {
	out = make([]objRef, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		var r objRef
		if len(b) == 0 || (len(a) > 0 && t.compare(order, a[0], b[0]) <= 0) {
			r, a = a[0], a[1:]
		} else {
			r, b = b[0], b[1:]
		}
		if n := len(out); !collide && n > 0 && order[out[n-1].typ] == order[r.typ] && out[n-1].name == r.name {
			dup, collide = r, true
		}
		out = append(out, r)
	}
	return out, dup, collide
}
