package render

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// kindRank orders kinds so that an object is applied after what it needs:
// namespaces and identities first, then configuration, then the services
// and workloads that use it, and routes, which point at services, last.
// Kinds not listed sort between workloads and routes, by name.
var kindRank = map[string]int{
	"CustomResourceDefinition": 0,
	"Namespace":                1,
	"ResourceQuota":            2,
	"LimitRange":               3,
	"PriorityClass":            4,
	"StorageClass":             5,
	"ServiceAccount":           6,
	"ClusterRole":              7,
	"Role":                     8,
	"ClusterRoleBinding":       9,
	"RoleBinding":              10,
	"Secret":                   11,
	"ConfigMap":                12,
	"PersistentVolumeClaim":    13,
	"Service":                  14,
	"Deployment":               15,
	"StatefulSet":              16,
	"DaemonSet":                17,
	"Job":                      18,
	"CronJob":                  19,
	"HorizontalPodAutoscaler":  20,
	"PodDisruptionBudget":      21,
	// unlisted kinds: rankOther
	"Gateway":        31,
	"ReferenceGrant": 32,
	"Ingress":        33,
	"HTTPRoute":      34,
	"VirtualService": 35,
}

const rankOther = 30

func rankOf(kind string) int {
	if r, ok := kindRank[kind]; ok {
		return r
	}
	return rankOther
}

// sortObjects orders objects by kind rank, kind, API group, namespace and
// name, and fails when two objects share one identity: the apply would
// make one of them lose.
func sortObjects(objs []*unstructured.Unstructured) error {
	type keyed struct {
		rank                         int
		kind, group, namespace, name string
		obj                          *unstructured.Unstructured
	}
	ks := make([]keyed, len(objs))
	for i, o := range objs {
		kind, group := sortKind(stringAt(o.Object, "apiVersion"), stringAt(o.Object, "kind"))
		md, _ := o.Object["metadata"].(map[string]any)
		ks[i] = keyed{rankOf(kind), kind, group, stringAt(md, "namespace"), stringAt(md, "name"), o}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		return cmp.Or(
			cmp.Compare(a.rank, b.rank),
			cmp.Compare(a.kind, b.kind),
			cmp.Compare(a.group, b.group),
			cmp.Compare(a.namespace, b.namespace),
			cmp.Compare(a.name, b.name),
		)
	})
	for i := range ks {
		objs[i] = ks[i].obj
		if i > 0 {
			a, b := ks[i-1], ks[i]
			if a.kind == b.kind && a.group == b.group && a.namespace == b.namespace && a.name == b.name {
				return fmt.Errorf("%w: %s", ErrDuplicate, describe(b.obj))
			}
		}
	}
	return nil
}

// sortKind is the kind and API group objects sort by, as
// Unstructured.GroupVersionKind reads them: an apiVersion of more than
// one "/" does not parse, and leaves the kind empty too.
func sortKind(apiVersion, kind string) (string, string) {
	switch strings.Count(apiVersion, "/") {
	case 0:
		return kind, ""
	case 1:
		group, _, _ := strings.Cut(apiVersion, "/")
		return kind, group
	}
	return "", ""
}

// stringAt is m[key] when it is a string, else "" (as Unstructured's
// getters read a field).
func stringAt(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// describe names an object for messages: "Deployment default/hello-00001-deployment".
func describe(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return o.GetKind() + " " + ns + "/" + o.GetName()
	}
	return o.GetKind() + " " + o.GetName()
}
