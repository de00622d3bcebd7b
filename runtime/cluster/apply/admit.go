package apply

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ProtectedNamespaces are the cluster's own namespaces. Objects are never
// applied in them, nor in Options.InventoryNamespace (ebb's own), unless
// Options.Namespaces lists them.
var ProtectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// AnyNamespace in Options.Namespaces allows every namespace, protected
// ones included.
const AnyNamespace = "*"

// A Refusal is a guard rail's refusal of one object: nothing was sent for
// it. Path is the field the refusal is about ("metadata.namespace",
// "kind", "subjects[0].namespace"), so that a caller can say where in the
// repository the object wrote it; empty when it is about the whole object.
type Refusal struct {
	Path string
	Err  error // wraps one of the sentinel errors
}

func (r *Refusal) Error() string { return r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

func refuse(path string, format string, args ...any) error {
	return &Refusal{Path: path, Err: fmt.Errorf(format, args...)}
}

// refusal reports whether err is a guard rail's refusal: nothing was sent,
// and nothing will be until the object or the options change.
func refusal(err error) bool {
	var r *Refusal
	return errors.As(err, &r)
}

// namespacePolicy decides which namespaces objects may be applied in.
type namespacePolicy struct {
	allow     map[string]bool // nil: every namespace but the protected ones
	any       bool
	protected []string
}

func newNamespaces(o Options) namespacePolicy {
	n := namespacePolicy{protected: append(slices.Clone(ProtectedNamespaces), o.InventoryNamespace)}
	if len(o.Namespaces) == 0 {
		return n
	}
	n.allow = map[string]bool{}
	for _, ns := range o.Namespaces {
		n.allow[ns] = true
		n.any = n.any || ns == AnyNamespace
	}
	return n
}

// check refuses ns unless it is allowed; path is the field that names it.
func (n namespacePolicy) check(ns, path string) error {
	switch {
	case n.any:
		return nil
	case n.allow != nil && !n.allow[ns]:
		allowed := make([]string, 0, len(n.allow))
		for a := range n.allow {
			allowed = append(allowed, a)
		}
		slices.Sort(allowed)
		return refuse(path, "%w: %q (allowed: %s)", ErrNamespaceNotAllowed, ns, strings.Join(allowed, ", "))
	case n.allow == nil && slices.Contains(n.protected, ns):
		return refuse(path, "%w: %q is protected (%s are refused unless allowed by name)", ErrNamespaceNotAllowed, ns,
			strings.Join(n.protected, ", "))
	}
	return nil
}

func (s *SSA) admitNamespaced(r Ref) error {
	if r.Namespace == "" {
		return refuse("metadata.namespace", "%w", ErrNamespaceRequired)
	}
	return s.namespaces.check(r.Namespace, "metadata.namespace")
}

func (s *SSA) admitCluster(r Ref) error {
	switch {
	case r.Namespace != "":
		return refuse("metadata.namespace", "%w: cluster-scoped kind with metadata.namespace %q", ErrInvalidObject, r.Namespace)
	case r.Group == "" && r.Kind == "Namespace":
		return s.namespaces.check(r.Name, "metadata.name")
	case !s.clusterKinds[r.GroupKind()]:
		return refuse("kind", "%w: %s", ErrClusterScoped, r.GroupKind())
	}
	return nil
}

// admitRefs refuses u, when Options.NoCrossNamespaceRefs is set, for its
// first reference to an object in another namespace that is not one of
// Options.SharedRefs.
func (s *SSA) admitRefs(u *unstructured.Unstructured) error {
	if !s.opts.NoCrossNamespaceRefs {
		return nil
	}
	for _, ref := range CrossNamespaceRefs(u) {
		if ref.Name != "" && s.shared[ref.Namespace+"/"+ref.Name] {
			continue
		}
		target := ref.Namespace
		if ref.Name != "" {
			target += "/" + ref.Name
		}
		return refuse(ref.Path, "%w: %s refers to %s", ErrCrossNamespaceRef, ref.Path, target)
	}
	return nil
}
