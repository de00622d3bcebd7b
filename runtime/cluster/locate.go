package cluster

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

// Locator returns the apply step's Pass.Locate for the objects of tree:
// where in the repository each object was written. An object of the
// repository is found as written, at the line of the field a failure is
// about; an object ebb rendered, at its Service, ledger or DomainMapping
// (at its metadata.namespace when the failure is about the namespace, the
// same for the rendered object and what it was rendered from).
func Locator(tree *serving.Tree) func(u *unstructured.Unstructured, path string) string {
	if tree == nil {
		return nil
	}
	return func(u *unstructured.Unstructured, path string) string {
		src, path, ok := locate(tree, u, path)
		if !ok {
			return ""
		}
		if path == "" {
			return fmt.Sprintf("%s:%d", src.File, src.Line)
		}
		return fmt.Sprintf("%s:%d: %s", src.File, src.LineOf(path), path)
	}
}

// locate finds the source of u and the path to point at in it.
func locate(tree *serving.Tree, u *unstructured.Unstructured, path string) (serving.Source, string, bool) {
	gvk := u.GroupVersionKind()
	ns := u.GetNamespace()
	if src, ok := tree.Source(serving.ObjectRef{Group: gvk.Group, Kind: gvk.Kind, Namespace: ns, Name: u.GetName()}); ok {
		return src, path, true
	}
	if path != "metadata.namespace" {
		path = ""
	}
	labels := u.GetLabels()
	if svc := labels[render.LabelService]; svc != "" {
		if src, ok := tree.Source(serving.ServiceRef(ns, svc)); ok {
			return src, path, true
		}
		if src, ok := tree.Source(serving.LedgerRef(ns, svc)); ok {
			// A ledger is located by its file, which names the namespace.
			return src, "", true
		}
	}
	if dm := labels[render.LabelDomainMapping]; dm != "" {
		ref := serving.ObjectRef{Group: serving.Group, Kind: serving.KindDomainMapping, Namespace: labels[render.LabelDomainMappingNamespace], Name: dm}
		if src, ok := tree.Source(ref); ok {
			return src, path, true
		}
	}
	return serving.Source{}, "", false
}
