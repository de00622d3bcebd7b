//go:build unix

package cluster_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// TestTenancy: a source that impersonates a ServiceAccount bound only in
// team-a applies a commit that also holds objects in team-b and
// kube-system. team-a's objects are applied; team-b's are refused by the
// apiserver's RBAC for that ServiceAccount, kube-system's by the default
// namespace allow-list, each with an error naming the object, the file and
// line it came from and why, in the status and in Events, while team-a's
// Service is still reported. Nothing exists outside team-a afterwards,
// though the controller's own identity (the admin here) could have written
// it: the writes were made as the ServiceAccount.
func TestTenancy(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	cfg := c.Config()
	admin, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := kubetest.Clients(t, cfg)
	mustNamespace(t, admin, "ebb-system")
	mustNamespace(t, admin, "team-b")
	dir := helloIn(t, admin, "team-a")
	// team-a's ebb-applier, bound to the install's ClusterRole in team-a
	// only, as docs/cluster.md has a platform team do.
	adminApply(t, c, installedObjects(t, "ClusterRole"), false)
	adminApply(t, c, tenantManifest(t, "team-a"), false)
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("team-a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team-a\ndata: {tier: a}\n")
	write("team-b.yaml", "# Another team's namespace.\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team-b\ndata: {tier: b}\n")
	write("system.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ebb-tenancy\n  namespace: kube-system\ndata: {tier: system}\n")

	sa := apply.ServiceAccount{Namespace: "team-a", Name: "ebb-applier"}
	ssa, err := apply.New(cfg, apply.Options{ServiceAccount: sa})
	if err != nil {
		t.Fatal(err)
	}
	status := cluster.NewStatus(k, "ebb-system", "tenancy", nil, nil)
	target := &cluster.Target{Applier: ssa, Source: "tenancy", Status: status,
		Events: cluster.NewEvents(k, "ebb-system", "tenancy", "test", nil)}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target}
	// RBAC takes a moment to see the new RoleBinding: until then team-a's
	// objects fail too.
	eventually(t, func() string {
		_, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{})
		if err == nil {
			return "the commit applied with objects outside team-a"
		}
		cs := target.LastChangeSet()
		if n := cs.Count(apply.Failed); n != 2 {
			return fmt.Sprintf("%d failed, want team-b's and kube-system's:\n%s", n, cs)
		}
		return ""
	})
	if err := target.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cs := target.LastChangeSet()
	for _, ch := range cs.Changes {
		if ch.Ref.Namespace != "team-a" && ch.Action != apply.Failed {
			t.Errorf("%s outside team-a: %s", ch.Ref, ch.Action)
		}
	}
	if cs.Count(apply.Created)+cs.Count(apply.Configured)+cs.Count(apply.Unchanged) < 4 {
		t.Errorf("team-a's objects were not applied:\n%s", cs)
	}

	// The errors: what, as whom, where.
	want := []string{
		"team-b.yaml:2: ConfigMap team-b/settings: read: ServiceAccount team-a/ebb-applier cannot read configmaps in namespace team-b: ",
		`system.yaml:5: metadata.namespace: ConfigMap kube-system/ebb-tenancy: namespace not allowed: "kube-system" is protected`,
	}
	doc, err := cluster.ReadStatus(ctx, k, "ebb-system", "tenancy")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status message:\n%s", doc.Message)
	if doc.Condition != cluster.Stalled {
		t.Errorf("status %s, want Stalled", doc.Condition)
	}
	for _, w := range want {
		if !strings.Contains(doc.Message, w) {
			t.Errorf("status message lacks %q:\n%s", w, doc.Message)
		}
	}
	if len(doc.Services) != 1 || doc.Services[0].Namespace != "team-a" || doc.Services[0].URL == "" {
		t.Errorf("status services %+v, want team-a's hello with its URL", doc.Services)
	}
	for i, ns := range []string{"team-b", "kube-system"} {
		evs, err := admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("reason", "ApplyFailed").String()})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ev := range evs.Items {
			found = found || (ev.Type == corev1.EventTypeWarning && ev.InvolvedObject.Kind == "ConfigMap" && strings.Contains(ev.Message, want[i]))
		}
		if !found {
			t.Errorf("no ApplyFailed Event in %s saying %q: %+v", ns, want[i], evs.Items)
		}
	}

	// Nothing outside team-a; team-a has its objects.
	if _, err := admin.CoreV1().ConfigMaps("team-b").Get(ctx, "settings", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("team-b/settings: %v, want not found", err)
	}
	if _, err := admin.CoreV1().ConfigMaps("kube-system").Get(ctx, "ebb-tenancy", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("kube-system/ebb-tenancy: %v, want not found", err)
	}
	for _, ns := range []string{"team-b", "kube-system"} {
		rendered := metav1.ListOptions{LabelSelector: render.LabelService}
		d, err1 := admin.AppsV1().Deployments(ns).List(ctx, rendered)
		s, err2 := admin.CoreV1().Services(ns).List(ctx, rendered)
		cm, err3 := admin.CoreV1().ConfigMaps(ns).List(ctx, rendered)
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		if n := len(d.Items) + len(s.Items) + len(cm.Items); n > 0 {
			t.Errorf("%d objects ebb renders in %s", n, ns)
		}
	}
	if _, err := admin.AppsV1().Deployments("team-a").Get(ctx, "hello-00001-deployment", metav1.GetOptions{}); err != nil {
		t.Errorf("team-a's revision: %v", err)
	}
	if _, err := admin.CoreV1().ConfigMaps("team-a").Get(ctx, "settings", metav1.GetOptions{}); err != nil {
		t.Errorf("team-a/settings: %v", err)
	}
	// The controller's identity may write in team-b: the refusal was the
	// ServiceAccount's.
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}}
	if _, err := admin.CoreV1().ConfigMaps("team-b").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("the controller's own identity cannot write in team-b either (%v): the test shows nothing", err)
	}
}
