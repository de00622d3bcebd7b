package apply

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

// resource returns the client for r after checking the guard rails: a
// namespaced kind needs a namespace on the allow-list, a cluster-scoped one
// must be allowed (a Namespace by its name being on the allow-list) and must
// not carry a namespace.
func (s *SSA) resource(gk schema.GroupKind, version string, r Ref) (dynamic.ResourceInterface, error) {
	m, err := s.mapping(gk, version)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if err := s.admitNamespaced(r); err != nil {
			return nil, err
		}
		return s.dyn.Resource(m.Resource).Namespace(r.Namespace), nil
	}
	if err := s.admitCluster(r); err != nil {
		return nil, err
	}
	return s.dyn.Resource(m.Resource), nil
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

func (s *SSA) admitNamespaced(r Ref) error {
	switch {
	case r.Namespace == "":
		return ErrNamespaceRequired
	case s.namespaces != nil && !s.namespaces[r.Namespace]:
		return fmt.Errorf("%w: %q", ErrNamespaceNotAllowed, r.Namespace)
	}
	return nil
}

func (s *SSA) admitCluster(r Ref) error {
	switch {
	case r.Namespace != "":
		return fmt.Errorf("%w: cluster-scoped kind with metadata.namespace %q", ErrInvalidObject, r.Namespace)
	case r.Group == "" && r.Kind == "Namespace":
		if s.namespaces != nil && !s.namespaces[r.Name] {
			return fmt.Errorf("%w: %q", ErrNamespaceNotAllowed, r.Name)
		}
	case !s.clusterKinds[r.GroupKind()]:
		return fmt.Errorf("%w: %s", ErrClusterScoped, r.GroupKind())
	}
	return nil
}

// waitEstablished waits, at most EstablishTimeout, until the named
// CustomResourceDefinitions are established, then refreshes discovery so
// that their kinds map. Objects of a kind still unknown after that fail on
// their own.
func (s *SSA) waitEstablished(ctx context.Context, names []string) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.EstablishTimeout)
	defer cancel()
	defer s.mapper.Reset()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for _, name := range names {
		for !s.established(ctx, name) {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}
}

func (s *SSA) established(ctx context.Context, name string) bool {
	crd, err := s.dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		c, _ := c.(map[string]any)
		if c["type"] == "Established" && c["status"] == "True" {
			return true
		}
	}
	return false
}
