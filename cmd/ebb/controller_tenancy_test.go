//go:build unix

package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// The controller's tenancy flags become the apply step's options: as the
// install runs it, every object is applied as its namespace's
// ebb-applier; flags name another ServiceAccount, namespaces, cluster
// kinds and refuse references across namespaces.
func TestControllerTenancyFlags(t *testing.T) {
	in := readInstall(t)
	shared := render.DefaultGateways().Shared()
	base := apply.Options{InventoryNamespace: "ebb-system", FullEvery: 10 * time.Minute, SharedRefs: shared}
	with := func(f func(o *apply.Options)) apply.Options {
		o := base
		f(&o)
		return o
	}
	for _, tc := range []struct {
		name    string
		install bool // the install's environment, else $EBB_REPO_URL only
		args    []string
		want    apply.Options
		wantErr bool
	}{
		{name: "as installed", install: true,
			want: with(func(o *apply.Options) { o.ServiceAccount = apply.ServiceAccount{Name: "ebb-applier"} })},
		{name: "no ServiceAccount: as the controller itself", want: base},
		{name: "a flag over the install's", install: true, args: []string{"--service-account", "tenants/applier"},
			want: with(func(o *apply.Options) { o.ServiceAccount = apply.ServiceAccount{Namespace: "tenants", Name: "applier"} })},
		{name: "namespaces, cluster kinds, no references across namespaces",
			args: []string{"--allow-namespace", "team-a", "--allow-namespace", "kube-system", "--allow-cluster-kind", "ClusterRole.rbac.authorization.k8s.io",
				"--no-cross-namespace-refs", "--namespace", "ebb"},
			want: with(func(o *apply.Options) {
				o.InventoryNamespace = "ebb"
				o.Namespaces = []string{"team-a", "kube-system"}
				o.ClusterKinds = []schema.GroupKind{{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}}
				o.NoCrossNamespaceRefs = true
			})},
		{name: "a ServiceAccount that is no name", args: []string{"--service-account", "Team/x"}, wantErr: true},
		{name: "a cluster kind without a kind", args: []string{"--allow-cluster-kind", ".rbac.authorization.k8s.io"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "EBB_REPO_URL" {
					return "https://example.com/repo.git"
				}
				return ""
			}
			if tc.install {
				getenv = in.env(t, nil, map[string]string{"EBB_REPO_URL": "https://example.com/repo.git"}, t.TempDir())
			}
			o, err := controllerFlags(&env{getenv: getenv}, tc.args)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("controllerFlags(%q) succeeded", tc.args)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, o.applyOptions()); diff != "" {
				t.Errorf("apply options (-want +got):\n%s", diff)
			}
		})
	}
}
