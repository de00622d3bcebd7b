//go:build unix

package cluster_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving/names"
)

// TestRuntimeLongRevisionName: a revision of 60 characters, whose
// private Service and Deployment names are shortened with a hash (name
// and suffix longer than 63 characters), is found by the Runtime under
// the names the renderer gave them: its ready pods are counted from the
// private Service's EndpointSlices (mapped back to the revision by its
// label), its replicas are read, it scales through the scale subresource,
// and its health is reported.
func TestRuntimeLongRevisionName(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	cfg, cs := counted(t, c, &writes{})
	k := kubetest.Clients(t, cfg)
	const ns = "longname"
	dir := helloIn(t, cs, ns)
	// 54 characters: the revision, "<name>-00001", has 60, its private
	// Service 68 and its Deployment 71.
	name := "hello-" + strings.Repeat("x", 48)
	if err := os.RemoveAll(filepath.Join(dir, ".ebb")); err != nil {
		t.Fatal(err)
	}
	rewrite(t, filepath.Join(dir, "service.yaml"), "name: hello", "name: "+name)
	rev := scaler.RevisionKey{Namespace: ns, Name: name + "-00001"}
	deployment := names.Deployment(rev.Name)
	if private := names.PrivateService(rev.Name); len(rev.Name) != 60 || private == rev.Name+"-private" || deployment == rev.Name+"-deployment" {
		t.Fatalf("revision %s (%d characters), private Service %s, Deployment %s: the test needs names that are shortened", rev.Name, len(rev.Name), private, deployment)
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
	var ip string
	for _, v := range ips {
		ip = v
	}
	pods, err := rt.Pods(ctx, rev)
	if err != nil || len(pods) != 1 || pods[0].Address != ip+":9090" {
		t.Errorf("Pods = %+v, %v; want the one at %s:9090", pods, err, ip)
	}
	// In serve mode the public EndpointSlice lists the pods behind the
	// shortened private Service.
	if err := rt.SetMode(ctx, rev, route.Serve, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() string {
		mode, addrs, err := publicSlice(ctx, cs, ns, names.PublicService(rev.Name))
		if err != nil || mode != route.Serve.String() || !slices.Equal(addrs, []string{ip}) {
			return fmt.Sprintf("public slice %s %v, %v; want serve [%s]", mode, addrs, err, ip)
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
