//go:build unix

package cluster_test

import (
	"path"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebb-dev/ebb/internal/admin"
)

// TestManifestsControlPlane checks how the install guards the
// controller's admin port: the NetworkPolicy lets only the gateway pods
// and labelled namespaces reach it, on that port only; the gateway sends
// a projected token for the controller's audience; the controller may
// review tokens and access; Role ebb-sync grants a sync.
func TestManifestsControlPlane(t *testing.T) {
	objs := installManifests(t)
	var ctl, gw appsv1.Deployment
	installed(t, objs, "Deployment", "ebb-controller", &ctl)
	installed(t, objs, "Deployment", "ebb-gateway", &gw)
	var np networkingv1.NetworkPolicy
	installed(t, objs, "NetworkPolicy", "ebb-controller", &np)

	selects := func(sel *metav1.LabelSelector, d appsv1.Deployment) bool {
		s, err := metav1.LabelSelectorAsSelector(sel)
		return err == nil && s.Matches(labels.Set(d.Spec.Template.Labels))
	}
	if !selects(&np.Spec.PodSelector, ctl) || selects(&np.Spec.PodSelector, gw) {
		t.Errorf("NetworkPolicy ebb-controller selects %v: want the controller's pods only", np.Spec.PodSelector)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(np.Spec.Ingress) != 1 {
		t.Fatalf("NetworkPolicy ebb-controller: policy types %v, %d ingress rules; want one Ingress rule", np.Spec.PolicyTypes, len(np.Spec.Ingress))
	}
	rule := np.Spec.Ingress[0]
	var ports []int32
	for _, p := range rule.Ports {
		for _, c := range ctl.Spec.Template.Spec.Containers {
			for _, cp := range c.Ports {
				if p.Port != nil && (p.Port.String() == cp.Name || p.Port.IntValue() == int(cp.ContainerPort)) {
					ports = append(ports, cp.ContainerPort)
				}
			}
		}
	}
	if !slices.Equal(ports, []int32{8080}) || len(rule.Ports) != 1 {
		t.Errorf("NetworkPolicy ebb-controller opens %v (%d ports listed), want the controller's 8080 only", ports, len(rule.Ports))
	}
	var fromGateway, fromLabelled bool
	for _, peer := range rule.From {
		switch {
		case peer.IPBlock != nil:
			t.Errorf("NetworkPolicy ebb-controller admits an IP block %v", peer.IPBlock)
		case peer.NamespaceSelector == nil && peer.PodSelector != nil:
			fromGateway = selects(peer.PodSelector, gw) && !selects(peer.PodSelector, ctl)
		case peer.NamespaceSelector != nil && peer.PodSelector == nil:
			fromLabelled = len(peer.NamespaceSelector.MatchExpressions) == 0 &&
				len(peer.NamespaceSelector.MatchLabels) == 1 && peer.NamespaceSelector.MatchLabels["ebb.dev/controller-access"] == "true"
		default:
			t.Errorf("NetworkPolicy ebb-controller admits %+v", peer)
		}
	}
	if !fromGateway || !fromLabelled || len(rule.From) != 2 {
		t.Errorf("NetworkPolicy ebb-controller admits %+v; want the gateway pods and namespaces labelled ebb.dev/controller-access", rule.From)
	}

	// The gateway's stats token: a projected ServiceAccount token for the
	// controller's audience, where --stats-token-file reads it.
	c := gw.Spec.Template.Spec.Containers[0]
	var file string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--stats-token-file="); ok {
			file = v
		}
	}
	var projected *corev1.ServiceAccountTokenProjection
	for _, v := range gw.Spec.Template.Spec.Volumes {
		for _, m := range c.VolumeMounts {
			if m.Name != v.Name || m.MountPath != path.Dir(file) || v.Projected == nil {
				continue
			}
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil && s.ServiceAccountToken.Path == path.Base(file) {
					projected = s.ServiceAccountToken
				}
			}
		}
	}
	if file == "" || projected == nil || projected.Audience != admin.Audience {
		t.Errorf("the gateway's --stats-token-file %q: projected token %+v; want one for audience %s", file, projected, admin.Audience)
	}

	// The controller reviews tokens and access; ebb-sync grants a sync.
	var review rbacv1.ClusterRoleBinding
	installed(t, objs, "ClusterRoleBinding", "ebb-controller-auth-delegator", &review)
	if review.RoleRef.Name != "system:auth-delegator" || len(review.Subjects) != 1 || review.Subjects[0].Name != "ebb-controller" {
		t.Errorf("ClusterRoleBinding ebb-controller-auth-delegator: %+v", review)
	}
	var sync rbacv1.Role
	installed(t, objs, "Role", "ebb-sync", &sync)
	want := []rbacv1.PolicyRule{{APIGroups: []string{"ebb.dev"}, Resources: []string{"sources/sync"}, Verbs: []string{"create"}}}
	if !slices.EqualFunc(sync.Rules, want, func(a, b rbacv1.PolicyRule) bool {
		return slices.Equal(a.APIGroups, b.APIGroups) && slices.Equal(a.Resources, b.Resources) && slices.Equal(a.Verbs, b.Verbs) && len(a.ResourceNames) == 0
	}) {
		t.Errorf("Role ebb-sync: %+v, want %+v", sync.Rules, want)
	}
}
