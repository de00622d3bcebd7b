package apply

import (
	"cmp"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Ref names one object by the identity an inventory keeps: API group, kind,
// namespace (empty for cluster-scoped kinds) and name. Versions do not
// matter: the same object read through another version is the same object.
type Ref struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// RefOf returns the identity of u.
func RefOf(u *unstructured.Unstructured) Ref {
	gvk := u.GroupVersionKind()
	return Ref{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// GroupKind is the ref's API group and kind.
func (r Ref) GroupKind() schema.GroupKind { return schema.GroupKind{Group: r.Group, Kind: r.Kind} }

// String reads like "Deployment.apps default/hello" or "Namespace default".
func (r Ref) String() string {
	kind := r.Kind
	if r.Group != "" {
		kind += "." + r.Group
	}
	if r.Namespace == "" {
		return fmt.Sprintf("%s %s", kind, r.Name)
	}
	return fmt.Sprintf("%s %s/%s", kind, r.Namespace, r.Name)
}

// Rank is an object's place in the apply order: what others depend on comes
// first, what routes traffic to them last. Pruning runs in the reverse order.
const (
	RankDefinitions = iota // Namespaces, CustomResourceDefinitions
	RankConfig             // ServiceAccounts, RBAC, ConfigMaps, Secrets, quotas, classes
	RankWorkloads          // Services, Deployments and every other kind
	RankRoutes             // routes, Ingresses, EndpointSlices, webhooks
)

var ranks = map[schema.GroupKind]int{
	{Kind: "Namespace"}: RankDefinitions,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}: RankDefinitions,

	{Kind: "ServiceAccount"}:        RankConfig,
	{Kind: "ConfigMap"}:             RankConfig,
	{Kind: "Secret"}:                RankConfig,
	{Kind: "LimitRange"}:            RankConfig,
	{Kind: "ResourceQuota"}:         RankConfig,
	{Kind: "PersistentVolume"}:      RankConfig,
	{Kind: "PersistentVolumeClaim"}: RankConfig,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        RankConfig,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: RankConfig,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               RankConfig,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        RankConfig,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:              RankConfig,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                  RankConfig,

	{Kind: "Endpoints"}: RankRoutes,
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:                              RankRoutes,
	{Group: "networking.k8s.io", Kind: "Ingress"}:                                   RankRoutes,
	{Group: "networking.istio.io", Kind: "VirtualService"}:                          RankRoutes,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:   RankRoutes,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}: RankRoutes,
}

// routeGroups are API groups whose every kind routes traffic.
var routeGroups = map[string]bool{"gateway.networking.k8s.io": true}

// Rank returns the apply stage of a kind.
func Rank(gk schema.GroupKind) int {
	if r, ok := ranks[gk]; ok {
		return r
	}
	if routeGroups[gk.Group] {
		return RankRoutes
	}
	return RankWorkloads
}

// Compare orders refs for applying: by rank, then namespace, name, group
// and kind. Pruning uses the reverse.
func Compare(a, b Ref) int {
	if a.Group != b.Group || a.Kind != b.Kind {
		// Refs of one kind share a rank: look it up only across kinds.
		if c := cmp.Compare(Rank(a.GroupKind()), Rank(b.GroupKind())); c != 0 {
			return c
		}
	}
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Group, b.Group); c != 0 {
		return c
	}
	return strings.Compare(a.Kind, b.Kind)
}
