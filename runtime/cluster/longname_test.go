//go:build unix

package cluster_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/scaler"
)

// TestRuntimeLongRevisionName: a revision whose Deployment name is
// shortened with a hash (name and "-deployment" longer than 63
// characters) is found by the Runtime under the name the renderer gave
// it: its replicas are read, it scales through the scale subresource, and
// its health is reported.
func TestRuntimeLongRevisionName(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	cfg, cs := counted(t, c, &writes{})
	k := kubetest.Clients(t, cfg)
	const ns = "longname"
	dir := helloIn(t, cs, ns)
	// 47 characters: the revision, "<name>-00001", has 53, its private
	// Service 61 and its Deployment 64, one too many.
	name := "hello-" + strings.Repeat("x", 41)
	if err := os.RemoveAll(filepath.Join(dir, ".ebb")); err != nil {
		t.Fatal(err)
	}
	rewrite(t, filepath.Join(dir, "service.yaml"), "name: hello", "name: "+name)
	rev := scaler.RevisionKey{Namespace: ns, Name: name + "-00001"}
	deployment := render.DeploymentName(rev.Name)
	if deployment == rev.Name+"-deployment" {
		t.Fatalf("Deployment %s is not shortened: the test needs a longer name", deployment)
	}

	ssa, err := apply.New(cfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: &cluster.Target{Applier: ssa, Source: ns}}
	if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
		t.Fatal(err)
	}
	rt, _ := startRuntime(t, k, activators(t, cs, ns+"-system", "10.7.0.1"))
	ips := map[string]string{}
	eventually(t, func() string {
		runPods(t, cs, rev.Namespace, rev.Name, ips, "10.7.1")
		ready, replicas, err := rt.ReadyPods(ctx, rev)
		if err != nil || ready != 1 || replicas != 1 {
			return fmt.Sprintf("ready %d, replicas %d, err %v; want 1, 1", ready, replicas, err)
		}
		if h, ok := rt.Health(rev.Namespace, rev.Name); !ok || h.Ready != engine.True {
			return fmt.Sprintf("health %+v, %v; want ready", h, ok)
		}
		return ""
	})
	if err := rt.SetScale(ctx, rev, 2); err != nil {
		t.Fatal(err)
	}
	dep, err := cs.AppsV1().Deployments(rev.Namespace).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 2 {
		t.Errorf("replicas after SetScale(2) = %d", *dep.Spec.Replicas)
	}
}
