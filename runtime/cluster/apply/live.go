package apply

import (
	"context"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-dev/ebb/proxy/route"
)

// listPage bounds each list request of prefetch.
const listPage = 500

// listMin is how many objects of one group prefetch reads with a list: a
// list returns every object of the kind in the namespace, so for a few
// objects among many (a pass after a push) reading each is cheaper.
const listMin = 8

// group is a set of objects read with one list request: one kind and
// version in one namespace.
type group struct {
	gvk       schema.GroupVersionKind
	namespace string
}

// liveSet holds what prefetch read of live objects.
type liveSet struct {
	listed  map[group]bool
	objects map[Ref]*observed
}

// lookup returns what was read of u's live copy (nil: it does not exist),
// and whether its group was listed at all (if not, the caller reads it on
// its own).
func (l liveSet) lookup(u *unstructured.Unstructured) (*observed, bool) {
	if !l.listed[group{gvk: u.GroupVersionKind(), namespace: u.GetNamespace()}] {
		return nil, false
	}
	return l.objects[RefOf(u)], true
}

// observed is what an apply needs of a live object, a few strings instead
// of the object: a full pass reads thousands of them, each with its
// managed fields.
type observed struct {
	// applied is the object's AppliedAnnotation.
	applied string
	// fields is FieldsDigest for the field manager.
	fields string
	// resourceVersion tells whether an apply changed the object.
	resourceVersion string
	// replicas is a Deployment's spec.replicas while the field manager
	// owns it through apply (see Intent); nil otherwise.
	replicas any
	// partial is set when only the object's metadata was read: replicas
	// is not known, and a Deployment is read whole before it is written.
	partial bool
}

// canonicalFields returns managed, the fields of manager's entries encoded
// as an object read whole has them (keys sorted): the apiserver's own
// encoding, which metadata carries, may order them otherwise, and
// FieldsDigest must not change with the way an object was read.
func canonicalFields(managed []metav1.ManagedFieldsEntry, manager string) []metav1.ManagedFieldsEntry {
	out := make([]metav1.ManagedFieldsEntry, len(managed))
	for i, e := range managed {
		out[i] = e
		if e.Manager != manager || e.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if json.Unmarshal(e.FieldsV1.Raw, &set) != nil {
			continue
		}
		if b, err := json.Marshal(set); err == nil {
			out[i].FieldsV1 = &metav1.FieldsV1{Raw: b}
		}
	}
	return out
}

// observeMeta returns what an apply under manager needs of a live
// object of kind gvk of which only the metadata was read.
func observeMeta(md *metav1.PartialObjectMetadata, gvk schema.GroupVersionKind, manager string) *observed {
	_, revision := md.Labels[route.RevisionLabel]
	revision = revision && gvk.Group == "apps" && gvk.Kind == "Deployment"
	return &observed{
		applied:         md.Annotations[AppliedAnnotation],
		fields:          fieldsDigest(canonicalFields(md.ManagedFields, manager), manager, revision),
		resourceVersion: md.ResourceVersion,
		partial:         true,
	}
}

// observe returns what an apply under manager needs of live.
func observe(live *unstructured.Unstructured, manager string) *observed {
	o := &observed{
		applied:         live.GetAnnotations()[AppliedAnnotation],
		fields:          FieldsDigest(live, manager),
		resourceVersion: live.GetResourceVersion(),
	}
	if gvk := live.GroupVersionKind(); gvk.Group == "apps" && gvk.Kind == "Deployment" {
		o.replicas = ownedReplicas(live, manager)
	}
	return o
}

// prefetch reads the live copies of desired objects with one list request
// (paged) per kind and namespace holding at least listMin of them, instead of one
// read per object: a resync of many objects then costs a few reads. It keeps
// only what applyOne needs of each (observed), one page at a time. Groups
// whose kind is not known yet (a CustomResourceDefinition applied in the same
// run), that the guard rails refuse, or whose list fails are left to
// per-object reads, which report the errors.
func (s *SSA) prefetch(ctx context.Context, desired []*unstructured.Unstructured) liveSet {
	l := liveSet{listed: map[group]bool{}, objects: map[Ref]*observed{}}
	wanted := map[group]map[Ref]bool{}
	var order []group
	for _, u := range desired {
		g := group{gvk: u.GroupVersionKind(), namespace: u.GetNamespace()}
		if wanted[g] == nil {
			wanted[g] = map[Ref]bool{}
			order = append(order, g)
		}
		wanted[g][RefOf(u)] = true
	}
	for _, g := range order {
		if len(wanted[g]) < listMin {
			continue
		}
		ref := Ref{Group: g.gvk.Group, Kind: g.gvk.Kind, Namespace: g.namespace, Name: "-"}
		if _, err := s.resource(g.gvk.GroupKind(), g.gvk.Version, ref); err != nil {
			continue
		}
		found := s.list(ctx, g, wanted[g])
		if found == nil {
			continue
		}
		l.listed[g] = true
		for r, u := range found {
			l.objects[r] = u
		}
	}
	return l
}

// list reads the metadata of the objects of group g that wanted names,
// page by page (nothing else of a live object is needed to tell whether
// it changed). It returns nil when a list fails.
func (s *SSA) list(ctx context.Context, g group, wanted map[Ref]bool) map[Ref]*observed {
	m, err := s.mapping(g.gvk.GroupKind(), g.gvk.Version)
	if err != nil {
		return nil
	}
	c, err := s.clientsFor(Ref{Group: g.gvk.Group, Kind: g.gvk.Kind, Namespace: g.namespace})
	if err != nil {
		return nil
	}
	res := c.meta.Resource(m.Resource).Namespace(g.namespace)
	found := map[Ref]*observed{}
	opts := metav1.ListOptions{Limit: listPage}
	for {
		list, err := res.List(ctx, opts)
		if err != nil {
			return nil
		}
		for i := range list.Items {
			md := &list.Items[i]
			r := Ref{Group: g.gvk.Group, Kind: g.gvk.Kind, Namespace: md.Namespace, Name: md.Name}
			if wanted[r] {
				found[r] = observeMeta(md, g.gvk, s.opts.FieldManager)
			}
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			return found
		}
	}
}
