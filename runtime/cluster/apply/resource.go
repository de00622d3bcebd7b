package apply

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var (
	crdKind     = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
	crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// mapping resolves a kind to its resource, refreshing discovery once when
// the kind is unknown (a CustomResourceDefinition may just have been added).
func (s *SSA) mapping(gk schema.GroupKind, version string) (*meta.RESTMapping, error) {
	var versions []string
	if version != "" {
		versions = []string{version}
	}
	m, err := s.mapper.RESTMapping(gk, versions...)
	if meta.IsNoMatchError(err) {
		s.mapper.Reset()
		m, err = s.mapper.RESTMapping(gk, versions...)
	}
	return m, err
}

// object is the client of one object's resource, as the identity that
// reads and writes it.
type object struct {
	dynamic.ResourceInterface
	resource schema.GroupResource
	ns       string
	as       ServiceAccount // zero: the SSA's own identity
}

// denied says, of an error the apiserver answered Forbidden, which
// ServiceAccount may not verb the object (see denied).
func (o object) denied(verb string, err error) error {
	return denied(err, o.as, verb, o.resource, o.ns)
}

// resource returns the client for r after checking the guard rails: a
// namespaced kind needs an allowed namespace, a cluster-scoped one must be
// allowed (a Namespace by its name being allowed) and must not carry a
// namespace.
func (s *SSA) resource(gk schema.GroupKind, version string, r Ref) (object, error) {
	m, err := s.mapping(gk, version)
	if err != nil {
		return object{}, err
	}
	namespaced := m.Scope.Name() == meta.RESTScopeNameNamespace
	if namespaced {
		err = s.admitNamespaced(r)
	} else {
		err = s.admitCluster(r)
	}
	if err != nil {
		return object{}, err
	}
	c, err := s.clientsFor(r)
	if err != nil {
		return object{}, err
	}
	o := object{ResourceInterface: c.dyn.Resource(m.Resource), resource: m.Resource.GroupResource(), as: c.as}
	if namespaced {
		o.ResourceInterface, o.ns = c.dyn.Resource(m.Resource).Namespace(r.Namespace), r.Namespace
	}
	return o, nil
}

// refused reports whether the guard rails refuse r as far as can be told
// now: a kind not served yet is not refused.
func (s *SSA) refused(r Ref, version string) bool {
	m, err := s.mapping(r.GroupKind(), version)
	if err != nil {
		return false
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return s.admitNamespaced(r) != nil
	}
	return s.admitCluster(r) != nil
}
