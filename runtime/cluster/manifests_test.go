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

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/internal/kubetest"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/runtime/cluster/leader"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

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
		clusterScoped := []string{"Namespace", "ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
		if !slices.Contains(clusterScoped, o.GetKind()) && o.GetNamespace() != "ebb-system" {
			t.Errorf("%s %s in namespace %q, want ebb-system", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	for _, want := range []string{"Namespace ebb-system", "Deployment ebb-controller", "Deployment ebb-gateway", "Service ebb-gateway",
		"Service ebb-controller", "ServiceAccount ebb-controller", "ServiceAccount ebb-gateway", "ClusterRole ebb-controller",
		"ClusterRole ebb-gateway", "Secret ebb-git", "ConfigMap ebb-controller", "ConfigMap ebb-grafana-dashboard",
		"Role ebb-status-reader", "Role ebb-sync", "NetworkPolicy ebb-controller", "ClusterRoleBinding ebb-controller-auth-delegator",
		"Role ebb-controller", "ClusterRole ebb-applier", "ValidatingAdmissionPolicy ebb-controller-owns",
		"ValidatingAdmissionPolicyBinding ebb-controller-owns"} {
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
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustNamespace(t, cs, "ebb-system")
	adminApply(t, c, objs, true)
	installRBAC(t, c)
	if t.Failed() {
		return
	}

	// The controller, with a token of its ServiceAccount's: apply and
	// prune (as the namespace's ebb-applier, impersonated), scale, switch
	// endpoints, record Events and status, lead.
	ctlCfg := serviceAccountConfig(t, c, "ebb-system", "ebb-controller")
	ctl, err := kubernetes.NewForConfig(ctlCfg)
	if err != nil {
		t.Fatal(err)
	}
	kctl := kubetest.Clients(t, ctlCfg)
	// RBAC is evaluated by the apiserver at once, but give its caches a
	// moment to see the new bindings.
	eventually(t, func() string {
		if _, err := ctl.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return err.Error()
		}
		return ""
	})
	dir := helloIn(t, cs, "rbac")
	// As itself, the controller may not write a repository's objects.
	self, err := apply.New(ctlCfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	probe := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "probe", "namespace": "rbac"}}}
	if cs, err := self.Apply(ctx, "rbac-self", []*unstructured.Unstructured{probe}, time.Now()); !apierrors.IsForbidden(err) {
		t.Errorf("the controller applied a repository's object as itself: %v\n%s", err, cs)
	}
	if cs, err := self.Delete(ctx, "rbac-self"); err != nil {
		t.Errorf("delete source rbac-self: %v\n%s", err, cs)
	}
	// As the namespace's ebb-applier, which the install names, it may.
	var ctlDeploy appsv1.Deployment
	installed(t, objs, "Deployment", "ebb-controller", &ctlDeploy)
	var asSA apply.ServiceAccount
	for _, e := range ctlDeploy.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "EBB_SERVICE_ACCOUNT" {
			if asSA, err = apply.ParseServiceAccount(e.Value); err != nil {
				t.Fatal(err)
			}
		}
	}
	if asSA != (apply.ServiceAccount{Name: "ebb-applier"}) {
		t.Fatalf("the install applies as %q, want ebb-applier in each namespace", asSA)
	}
	adminApply(t, c, tenantManifest(t, "rbac"), false)
	applierCfg := rest.CopyConfig(ctlCfg)
	applierCfg.Impersonate.UserName = asSA.For(apply.Ref{Namespace: "rbac"}, "ebb-system").UserName()
	applier, err := kubernetes.NewForConfig(applierCfg)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() string {
		if _, err := applier.AppsV1().Deployments("rbac").List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return "the controller as rbac/ebb-applier: " + err.Error()
		}
		return ""
	})
	ssa, err := apply.New(ctlCfg, apply.Options{ServiceAccount: asSA})
	if err != nil {
		t.Fatal(err)
	}
	eps := proxykube.NewEndpoints(kctl, "")
	rt := cluster.NewRuntime(kctl, cluster.RuntimeOptions{Endpoints: eps, Activators: proxykube.ServiceRef{Namespace: "ebb-system", Name: "ebb-gateway"}})
	go eps.Run(ctx)
	go rt.Watch(ctx)
	go rt.Run(ctx)
	if !rt.WaitForSync(ctx) {
		t.Fatal("the controller's informers did not sync")
	}
	// A DomainMapping: its host is claimed, in ebb-system.
	if err := os.WriteFile(filepath.Join(dir, "mapping.yaml"), []byte(`apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata:
  name: hello.rbac.example.com
  namespace: rbac
spec:
  ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	target := &cluster.Target{Applier: ssa, Source: "rbac", Status: cluster.NewStatus(kctl, "ebb-system", "rbac", rt.Health, nil),
		Claims: cluster.NewClaims(kctl, "ebb-system", "rbac", nil), Events: cluster.NewEvents(kctl, "ebb-system", "rbac", "test", nil)}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target}
	if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
		t.Fatalf("apply as ebb-controller: %v", err)
	}
	if err := target.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The placeholder of a KIngress route whose load balancer is an IP
	// has Endpoints: ebb-applier may write and prune them.
	placeholderEps := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Endpoints",
		"metadata": map[string]any{"name": "placeholder", "namespace": "rbac"},
		"subsets":  []any{map[string]any{"addresses": []any{map[string]any{"ip": "10.0.0.7"}}, "ports": []any{map[string]any{"name": "http2", "port": int64(80)}}}}}}
	if cs, err := ssa.Apply(ctx, "rbac-endpoints", []*unstructured.Unstructured{placeholderEps}, time.Now()); err != nil {
		t.Errorf("apply Endpoints as ebb-applier: %v\n%s", err, cs)
	}
	if cs, err := ssa.Delete(ctx, "rbac-endpoints"); err != nil || cs.Count(apply.Pruned) != 1 {
		t.Errorf("prune Endpoints as ebb-applier: %v\n%s", err, cs)
	}
	rev := scaler.RevisionKey{Namespace: "rbac", Name: "hello-00001"}
	if err := rt.SetScale(ctx, rev, 3); err != nil {
		t.Errorf("scale as ebb-controller: %v", err)
	}
	if err := rt.SetMode(ctx, rev, route.Proxy, 2); err != nil {
		t.Errorf("set mode as ebb-controller: %v", err)
	}
	evs, err := cs.CoreV1().Events("rbac").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.Items) == 0 {
		t.Error("no Events recorded as ebb-controller")
	}
	if _, err := cluster.ReadStatus(ctx, kubetest.Clients(t, cfg), "ebb-system", "rbac"); err != nil {
		t.Errorf("status as ebb-controller: %v", err)
	}

	// Someone bound to ebb-status-reader reads the status, as ebb get
	// --cluster does, and nothing else.
	if _, err := cs.RbacV1().RoleBindings("ebb-system").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ebb-status-readers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "ebb-status-reader"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "developers"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	readerCfg := c.Config()
	readerCfg.Impersonate = rest.ImpersonationConfig{UserName: "dev@example.com", Groups: []string{"developers"}}
	reader, err := kubernetes.NewForConfig(readerCfg)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() string {
		docs, err := cluster.ListStatus(ctx, reader, "ebb-system")
		if err != nil {
			return "list status as a status reader: " + err.Error()
		}
		for _, d := range docs {
			if d.Source == "rbac" {
				return ""
			}
		}
		return fmt.Sprintf("a status reader lists no source rbac: %+v", docs)
	})
	if _, err := cluster.ReadStatus(ctx, reader, "ebb-system", "rbac"); err != nil {
		t.Errorf("read status as a status reader: %v", err)
	}
	if _, err := reader.CoreV1().Secrets("ebb-system").Get(ctx, "ebb-git", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a status reader reads Secret ebb-git: %v, want forbidden", err)
	}
	if _, err := reader.CoreV1().ConfigMaps("rbac").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a status reader lists ConfigMaps outside ebb-system: %v, want forbidden", err)
	}
	led := make(chan bool, 1)
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := leader.Run(lctx, kctl.Coordination, leader.Config{Namespace: "ebb-system", Name: "ebb-controller-rbac", Identity: "a"},
		func(context.Context) { led <- true }); err != nil {
		t.Errorf("leader election as ebb-controller: %v", err)
	}
	if len(led) == 0 {
		t.Error("never led as ebb-controller")
	}

	// The controller, as its ServiceAccount, reviews the token a gateway
	// pod sends with its stats (its projected token for the controller's
	// audience), and what the gateway may do.
	tr, err := cs.CoreV1().ServiceAccounts("ebb-system").CreateToken(ctx, "ebb-gateway",
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{Audiences: []string{admin.Audience}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if user, ok, err := kctl.ReviewToken(ctx, tr.Status.Token, []string{admin.Audience}); err != nil || !ok ||
		user.Username != "system:serviceaccount:ebb-system:ebb-gateway" {
		t.Errorf("token review as ebb-controller: %+v, %v, %v", user, ok, err)
	} else if ok, _, err := kctl.Allowed(ctx, user, authzv1.ResourceAttributes{Namespace: "ebb-system", Verb: "create",
		Group: "ebb.dev", Resource: "sources", Subresource: "sync", Name: "main"}); err != nil || ok {
		t.Errorf("access review as ebb-controller: the gateway may sync: %v, %v", ok, err)
	}

	// The gateway, as its ServiceAccount: route tables, claims and
	// endpoints, and an Event on a table it ignores.
	gwCfg := c.Config()
	gwCfg.Impersonate.UserName = "system:serviceaccount:ebb-system:ebb-gateway"
	gw := kubetest.Clients(t, gwCfg)
	if _, err := cs.CoreV1().ConfigMaps("rbac").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "by-hand", Labels: map[string]string{route.LabelKey: route.LabelValue}},
		Data:       map[string]string{route.DataKey: `{"routes":[]}`},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rts := proxykube.NewRouteTables(gw, proxykube.RouteTablesOptions{Set: func(route.Table) error { return nil },
		Events: proxykube.NewGatewayEvents(gw, "gw-test", nil)})
	geps := proxykube.NewEndpoints(gw, "")
	gctx, gcancel := context.WithCancel(ctx)
	defer gcancel()
	go rts.Run(gctx)
	go geps.Run(gctx)
	if !geps.WaitForSync(gctx) {
		t.Fatal("the gateway's EndpointSlice informer did not sync")
	}
	facts := proxykube.NewRevisionFacts(gw, "")
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
		var names []string
		for _, r := range rts.Table().Routes {
			names = append(names, r.Namespace+"/"+r.Name)
		}
		if !slices.Contains(names, "rbac/hello") || !slices.Contains(names, "rbac/hello.rbac.example.com") {
			return fmt.Sprintf("the gateway's route table lacks rbac/hello or its claimed mapping: %v", names)
		}
		return ""
	})
	eventually(t, func() string {
		evs, err := cs.CoreV1().Events("rbac").List(ctx, metav1.ListOptions{FieldSelector: "reason=RouteTableIgnored"})
		if err != nil {
			return err.Error()
		}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Name == "by-hand" && ev.Source.Component == proxykube.GatewayComponent {
				return ""
			}
		}
		return fmt.Sprintf("no RouteTableIgnored Event from the gateway on rbac/by-hand: %d Events", len(evs.Items))
	})
	if _, ok := geps.Mode("rbac", "hello-00001"); !ok {
		t.Errorf("the gateway reads no mode of rbac/hello-00001")
	}
}

// installed returns the object of kind and name the install base builds,
// converted to out.
func installed(t *testing.T, objs []*unstructured.Unstructured, kind, name string, out any) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("manifests lack %s %s", kind, name)
}

// TestManifestsGitCredentials checks how the controller gets its Git
// credentials: the Secret template has the HTTPS and the SSH keys; the
// Secret is mounted read-only, readable by the pod's group and nobody
// else, where the SSH environment variables point; and the controller,
// whose root filesystem is read-only, has a writable /tmp for parsing
// known_hosts.
func TestManifestsGitCredentials(t *testing.T) {
	objs := installManifests(t)
	var secret corev1.Secret
	installed(t, objs, "Secret", "ebb-git", &secret)
	for _, k := range []string{"username", "password", "token", "ssh-privatekey", "ssh-passphrase", "known_hosts", "webhook-secret",
		"allowed_signers", "verify-keys.asc", "signing-key", "signing-passphrase"} {
		if v, ok := secret.StringData[k]; !ok || v != "" {
			t.Errorf("Secret ebb-git template: key %s = %q, %v; want present and empty", k, v, ok)
		}
	}
	var d appsv1.Deployment
	installed(t, objs, "Deployment", "ebb-controller", &d)
	pod := d.Spec.Template.Spec
	var ctr corev1.Container
	for _, c := range pod.Containers {
		if c.Name == "controller" {
			ctr = c
		}
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range ctr.VolumeMounts {
		mounts[m.Name] = m
	}
	var creds string
	for _, v := range pod.Volumes {
		switch {
		case v.Secret != nil && v.Secret.SecretName == "ebb-git":
			m, ok := mounts[v.Name]
			if !ok || !m.ReadOnly {
				t.Errorf("Secret ebb-git: mount %+v, %v; want mounted read-only", m, ok)
			}
			creds = m.MountPath
			if v.Secret.Optional == nil || !*v.Secret.Optional {
				t.Error("Secret ebb-git volume is not optional: an install without a Secret would not start")
			}
			mode := v.Secret.DefaultMode
			if mode == nil || *mode&0o007 != 0 || *mode&0o040 == 0 || pod.SecurityContext == nil || pod.SecurityContext.FSGroup == nil {
				t.Errorf("Secret ebb-git: mode %o, fsGroup %v; want readable by the pod's fsGroup only", ptrOr(mode), pod.SecurityContext)
			}
		case v.EmptyDir != nil && mounts[v.Name].MountPath == "/tmp":
			if m := mounts[v.Name]; m.ReadOnly {
				t.Error("/tmp is read-only")
			}
		}
	}
	if creds == "" {
		t.Fatal("the controller does not mount Secret ebb-git")
	}
	if ctr.SecurityContext == nil || ctr.SecurityContext.ReadOnlyRootFilesystem == nil || !*ctr.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("the controller's root filesystem is writable")
	}
	tmp := false
	for _, m := range ctr.VolumeMounts {
		tmp = tmp || (m.MountPath == "/tmp" && !m.ReadOnly)
	}
	if !tmp {
		t.Error("the controller has no writable /tmp (SSH known_hosts are parsed through a temporary file)")
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range ctr.Env {
		env[e.Name] = e
	}
	for name, key := range map[string]string{"EBB_GIT_SSH_KEY_FILE": "ssh-privatekey", "EBB_GIT_KNOWN_HOSTS_FILE": "known_hosts",
		"EBB_SIGNING_KEY_FILE": "signing-key", "EBB_ALLOWED_SIGNERS_FILE": "allowed_signers", "EBB_VERIFY_KEYS_FILE": "verify-keys.asc"} {
		if got, want := env[name].Value, creds+"/"+key; got != want {
			t.Errorf("$%s = %q, want %q", name, got, want)
		}
	}
	for name, key := range map[string]string{"EBB_GIT_USERNAME": "username", "EBB_GIT_PASSWORD": "password", "EBB_GIT_TOKEN": "token",
		"EBB_GIT_SSH_PASSPHRASE": "ssh-passphrase", "EBB_WEBHOOK_SECRET": "webhook-secret", "EBB_SIGNING_KEY_PASSPHRASE": "signing-passphrase"} {
		ref := env[name].ValueFrom
		if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "ebb-git" || ref.SecretKeyRef.Key != key ||
			ref.SecretKeyRef.Optional == nil || !*ref.SecretKeyRef.Optional {
			t.Errorf("$%s: %+v; want the optional key %s of Secret ebb-git", name, ref, key)
		}
	}
}

func ptrOr(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// TestManifestsImages checks the images an operator sets: every container
// of the install runs ebb's image, named by the kustomization's images:
// entry as a ko:// path .ko.yaml builds; and repository/config-deployment.yaml,
// the queue-proxy image a serving repository commits, is a valid
// config-deployment naming ebb's default queue-sidecar image, which
// .ko.yaml builds too.
func TestManifestsImages(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", ".ko.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ko struct {
		Builds []struct{ Main string }
	}
	if err := yaml.Unmarshal(raw, &ko); err != nil {
		t.Fatal(err)
	}
	built := map[string]bool{}
	for _, b := range ko.Builds {
		built["ko://github.com/ebb-dev/ebb/"+strings.TrimPrefix(b.Main, "./")] = true
	}
	const ebbImage = "ko://github.com/ebb-dev/ebb/cmd/ebb"
	if !built[ebbImage] || !built[config.DefaultQueueSidecarImage] {
		t.Errorf(".ko.yaml builds %v; want %s and %s", built, ebbImage, config.DefaultQueueSidecarImage)
	}
	n := 0
	for _, o := range installManifests(t) {
		if o.GetKind() != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		installed(t, []*unstructured.Unstructured{o}, "Deployment", o.GetName(), &d)
		for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
			n++
			if c.Image != ebbImage {
				t.Errorf("Deployment %s container %s runs %q, want %s (kustomization.yaml images: ebb)", d.Name, c.Name, c.Image, ebbImage)
			}
		}
	}
	if n < 2 {
		t.Errorf("%d containers in the install's Deployments, want the controller and the gateway", n)
	}

	// The file a serving repository commits, as ebb loads it from Git.
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "repository", "config-deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config-deployment.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tree, err := serving.Load(os.DirFS(dir))
	if err != nil {
		t.Fatalf("manifests/repository/config-deployment.yaml: %v", err)
	}
	if got := tree.Config.Deployment.QueueSidecarImage; got != config.DefaultQueueSidecarImage {
		t.Errorf("manifests/repository/config-deployment.yaml: queue-sidecar-image %q, want the default %s", got, config.DefaultQueueSidecarImage)
	}
	if len(tree.Objects) != 0 {
		t.Errorf("manifests/repository/config-deployment.yaml is applied as %d objects, want consumed as configuration", len(tree.Objects))
	}
}
