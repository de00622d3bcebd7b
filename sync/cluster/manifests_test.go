//go:build unix

package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/sync"
	"github.com/ebb-dev/ebb/sync/apply"
	"github.com/ebb-dev/ebb/sync/cluster"
	"github.com/ebb-dev/ebb/sync/leader"
)

// installManifests builds manifests/ with kustomize.
func installManifests(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join("..", "..", "manifests"))
	if err != nil {
		t.Fatalf("kustomize build manifests: %v", err)
	}
	var out []*unstructured.Unstructured
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

// TestManifests builds the install base and has the apiserver accept
// every object (server-side apply, dry run); then installs its RBAC for
// real and runs what the controller and the gateway do as their
// ServiceAccounts, which must be allowed.
func TestManifests(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	objs := installManifests(t)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind()+" "+o.GetName())
		if o.GetKind() != "Namespace" && o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding" && o.GetNamespace() != "ebb-system" {
			t.Errorf("%s %s in namespace %q, want ebb-system", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	for _, want := range []string{"Namespace ebb-system", "Deployment ebb-controller", "Deployment ebb-gateway", "Service ebb-gateway",
		"Service ebb-controller", "ServiceAccount ebb-controller", "ServiceAccount ebb-gateway", "ClusterRole ebb-controller",
		"ClusterRole ebb-gateway", "Secret ebb-git", "ConfigMap ebb-controller", "ConfigMap ebb-grafana-dashboard"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("manifests lack %s; have %v", want, kinds)
		}
	}

	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == "ebb-grafana-dashboard" {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			var dash struct {
				Panels []struct {
					Targets []struct{ Expr string } `json:"targets"`
				} `json:"panels"`
			}
			if err := json.Unmarshal([]byte(data["ebb.json"]), &dash); err != nil || len(dash.Panels) == 0 {
				t.Errorf("Grafana dashboard: %v, %d panels", err, len(dash.Panels))
			}
			for _, p := range dash.Panels {
				for _, tg := range p.Targets {
					if !strings.Contains(tg.Expr, "ebb_") && !strings.Contains(tg.Expr, "process_") && !strings.Contains(tg.Expr, "go_") {
						t.Errorf("dashboard query %q uses none of ebb's metrics", tg.Expr)
					}
				}
			}
		}
	}

	cfg := c.Config()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustNamespace(t, cs, "ebb-system")
	for _, real := range []bool{false, true} {
		for _, o := range objs {
			// The second round installs for real what the RBAC check needs.
			if real && !slices.Contains([]string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}, o.GetKind()) {
				continue
			}
			gvk := o.GroupVersionKind()
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Fatalf("%s: %v", gvk, err)
			}
			b, err := o.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			opts := metav1.PatchOptions{FieldManager: "test", Force: new(true)}
			if !real {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
			if o.GetNamespace() != "" {
				ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
			}
			if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, b, opts); err != nil {
				t.Errorf("apply %s %s (dry run %v): %v", o.GetKind(), o.GetName(), !real, err)
			}
		}
	}
	if t.Failed() {
		return
	}

	// The controller, as its ServiceAccount: apply and prune, scale, switch
	// endpoints, record Events and status, lead.
	as := func(sa string) *kubernetes.Clientset {
		cfg := c.Config()
		cfg.Impersonate.UserName = "system:serviceaccount:ebb-system:" + sa
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	ctlCfg := c.Config()
	ctlCfg.Impersonate.UserName = "system:serviceaccount:ebb-system:ebb-controller"
	ctl := as("ebb-controller")
	// RBAC is evaluated by the apiserver at once, but give its caches a
	// moment to see the new bindings.
	eventually(t, func() string {
		if _, err := ctl.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return err.Error()
		}
		return ""
	})
	dir := helloIn(t, cs, "rbac")
	ssa, err := apply.New(ctlCfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eps := cluster.NewEndpoints(ctl, "")
	rt := cluster.NewRuntime(ctl, cluster.RuntimeOptions{Endpoints: eps, Activators: cluster.ServiceRef{Namespace: "ebb-system", Name: "ebb-gateway"}})
	go eps.Run(ctx)
	go rt.Run(ctx)
	if !rt.WaitForSync(ctx) {
		t.Fatal("the controller's informers did not sync")
	}
	target := &cluster.Target{Applier: ssa, Source: "rbac", Status: cluster.NewStatus(ctl, "ebb-system", "rbac", rt.Health, nil),
		Events: cluster.NewEvents(ctl, "ebb-system", "rbac", "test", nil)}
	rec := &sync.Reconciler{Writer: sync.DirWriter{Dir: dir}, Target: target}
	if _, err := rec.Reconcile(ctx, os.DirFS(dir), stamp("c1", 0)); err != nil {
		t.Fatalf("apply as ebb-controller: %v", err)
	}
	rev := scaler.RevisionKey{Namespace: "rbac", Name: "hello-00001"}
	if err := rt.SetScale(ctx, rev, 3); err != nil {
		t.Errorf("scale as ebb-controller: %v", err)
	}
	if err := rt.SetMode(ctx, rev, scaler.Proxy, 2); err != nil {
		t.Errorf("set mode as ebb-controller: %v", err)
	}
	evs, err := cs.CoreV1().Events("rbac").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.Items) == 0 {
		t.Error("no Events recorded as ebb-controller")
	}
	if _, err := cluster.ReadStatus(ctx, cs, "ebb-system", "rbac"); err != nil {
		t.Errorf("status as ebb-controller: %v", err)
	}
	led := make(chan bool, 1)
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := leader.Run(lctx, ctl.CoordinationV1(), leader.Config{Namespace: "ebb-system", Name: "ebb-controller-rbac", Identity: "a"},
		func(context.Context) { led <- true }); err != nil {
		t.Errorf("leader election as ebb-controller: %v", err)
	}
	if len(led) == 0 {
		t.Error("never led as ebb-controller")
	}

	// The gateway, as its ServiceAccount: route tables and endpoints.
	gw := as("ebb-gateway")
	var tables []route.Table
	rts := cluster.NewRouteTables(gw, "", func(tb route.Table) error { tables = append(tables, tb); return nil }, nil)
	geps := cluster.NewEndpoints(gw, "")
	gctx, gcancel := context.WithCancel(ctx)
	defer gcancel()
	go rts.Run(gctx)
	go geps.Run(gctx)
	if !geps.WaitForSync(gctx) {
		t.Fatal("the gateway's EndpointSlice informer did not sync")
	}
	facts := cluster.NewRevisionFacts(gw, "")
	go facts.Run(gctx)
	eventually(t, func() string {
		if r, ok := facts.Revision("rbac", "hello-00001"); !ok || r.Service != "hello" {
			return fmt.Sprintf("the gateway's revision facts of rbac/hello-00001: %+v %v", r, ok)
		}
		return ""
	})
	eventually(t, func() string {
		if !rts.HasSynced() {
			return "route tables not synced"
		}
		tb := rts.Table()
		for _, r := range tb.Routes {
			if r.Namespace == "rbac" && r.Name == "hello" {
				return ""
			}
		}
		return fmt.Sprintf("the gateway's route table has no rbac/hello: %d routes", len(tb.Routes))
	})
	if mode := geps.Mode("rbac", "hello-00001"); mode != "proxy" && mode != "serve" {
		t.Errorf("the gateway reads mode %q of rbac/hello-00001", mode)
	}
}
