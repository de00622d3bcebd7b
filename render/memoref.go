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

// objRef is a Ref in a state: its type (APIVersion, Kind and Namespace) an
// index into the state's refTypes, so that the thousands of names a state
// holds cost a name each.
type objRef struct {
	typ  int
	name string
}

// refTypes interns the types of a lineage of states. It only grows: the
// states rendered from one base share it.
type refTypes struct {
	list  []Ref // Name unset
	index map[Ref]int
}

func newRefTypes() *refTypes { return &refTypes{index: map[Ref]int{}} }

// refs names objs.
func (t *refTypes) refs(objs []*unstructured.Unstructured) []objRef {
	if len(objs) == 0 {
		return nil
	}
	out := make([]objRef, len(objs))
	for i, o := range objs {
		r := RefOf(o)
		name := r.Name
		r.Name = ""
		typ, ok := t.index[r]
		if !ok {
			typ = len(t.list)
			t.list = append(t.list, r)
			t.index[r] = typ
		}
		out[i] = objRef{typ, name}
	}
	return out
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
		kind, group := r.Kind, ""
		// As Unstructured.GroupVersionKind, which sortObjects reads.
		switch strings.Count(r.APIVersion, "/") {
		case 0:
		case 1:
			group, _, _ = strings.Cut(r.APIVersion, "/")
		default:
			kind = ""
		}
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

// collides reports whether two refs, one of each sorted list, name one
// object identity.
func collides(t *refTypes, order []int, a, b []objRef) bool {
	for len(a) > 0 && len(b) > 0 {
		if order[a[0].typ] == order[b[0].typ] && a[0].name == b[0].name {
			return true
		}
		if t.compare(order, a[0], b[0]) < 0 {
			a = a[1:]
		} else {
			b = b[1:]
		}
	}
	return false
}
