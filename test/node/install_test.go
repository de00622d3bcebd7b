//go:build linux

package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/internal/nodetest"
)

// The images the node runs, built from this checkout and imported (no
// registry). Pods find them by their tags; nothing is pulled.
var (
	ebbImage     = nodetest.Image{Ref: "ebb.local/ebb:test", Entrypoint: []string{"/ebb"}, User: "65532:65532"}
	sidecarImage = nodetest.Image{Ref: "ebb.local/ebb-sidecar:test", Entrypoint: []string{"/ebb-sidecar"}, User: "65532:65532"}
	appImage     = nodetest.Image{Ref: "ebb.local/traffic-app:test", Entrypoint: []string{"/app"}, User: "65532:65532"}
	// nodeApp is test/node/app: the traffic app that can fail or crash.
	nodeApp = nodetest.Image{Ref: "ebb.local/node-app:test", Entrypoint: []string{"/node-app"}, User: "65532:65532"}
)

// buildImages builds and imports ebb's image (controller and gateway), the
// queue-proxy sidecar's, the traffic example's app and test/node/app.
func buildImages(t *testing.T, n *nodetest.Node) {
	t.Helper()
	for _, b := range []struct {
		img nodetest.Image
		pkg string
	}{
		{ebbImage, "github.com/ebb-dev/ebb/cmd/ebb"},
		{sidecarImage, "github.com/ebb-dev/ebb/cmd/ebb/sidecar"},
		{appImage, "github.com/ebb-dev/ebb/examples/traffic/app"},
		{nodeApp, "github.com/ebb-dev/ebb/test/node/app"},
	} {
		if err := n.BuildImage(t.Context(), b.img, b.pkg); err != nil {
			t.Fatal(err)
		}
	}
}

// overlay is the kustomization a user writes over manifests/: ebb's image
// set to the local build (an overlay's images: entry matches the name the
// base set, ko://github.com/ebb-dev/ebb/cmd/ebb, not "ebb"), the repository and poll interval set in
// ConfigMap ebb-controller.
func overlay(t *testing.T, repoURL string) string {
	t.Helper()
	base, err := filepath.Abs(filepath.Join("..", "..", "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	name, tag, _ := strings.Cut(ebbImage.Ref, ":")
	dir := t.TempDir()
	// Kustomize takes a base's path relative to the overlay only.
	rel, err := filepath.Rel(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	k := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - %s
images:
  - name: ko://github.com/ebb-dev/ebb/cmd/ebb
    newName: %s
    newTag: %s
patches:
  - target:
      kind: ConfigMap
      name: ebb-controller
    patch: |
      - op: replace
        path: /data/EBB_REPO_URL
        value: %s
      - op: replace
        path: /data/EBB_POLL
        value: 1s
`, rel, name, tag, repoURL)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// install applies the overlay over manifests/, as
// `kubectl kustomize DIR | kubectl apply --server-side -f -` does, and
// checks that every container runs the local image.
func install(t *testing.T, n *nodetest.Node, repoURL string) {
	t.Helper()
	objs, err := kubetest.Kustomize(overlay(t, repoURL))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "template", "spec", "containers")
		for _, c := range containers.([]any) {
			if img := c.(map[string]any)["image"]; img != ebbImage.Ref {
				t.Fatalf("Deployment %s: container image %v, want %s", o.GetName(), img, ebbImage.Ref)
			}
		}
	}
	if err := kubetest.Apply(t.Context(), n.Config(), objs, false); err != nil {
		t.Fatal(err)
	}
}

// tenant makes namespace ns and applies manifests/tenant/ebb-applier.yaml
// in it, as `kubectl create namespace NS && kubectl -n NS apply -f` do.
func tenant(t *testing.T, n *nodetest.Node, ns string) {
	t.Helper()
	objs, err := kubetest.ReadObjects(filepath.Join("..", "..", "manifests", "tenant", "ebb-applier.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	nsObj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns},
	}}
	for _, o := range objs {
		o.SetNamespace(ns)
	}
	if err := kubetest.Apply(t.Context(), n.Config(), append([]*unstructured.Unstructured{nsObj}, objs...), false); err != nil {
		t.Fatal(err)
	}
}

// waitFor calls check until it returns "", at most limit; what it returned
// last is in the failure, with what the pods of the namespaces say.
func waitFor(t *testing.T, n *nodetest.Node, what string, limit time.Duration, check func(context.Context) string, namespaces ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	last := ""
	for {
		if last = check(ctx); last == "" {
			return
		}
		select {
		case <-ctx.Done():
			var b strings.Builder
			for _, ns := range namespaces {
				fmt.Fprintf(&b, "namespace %s:\n%s", ns, n.Describe(t.Context(), ns))
			}
			t.Fatalf("%s: not after %v: %s\n%s", what, limit, last, b.String())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// available says why Deployment ns/name does not have all its replicas
// updated and available, or "".
func available(ctx context.Context, cs kubernetes.Interface, ns, name string) string {
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < want || d.Status.AvailableReplicas < want {
		return fmt.Sprintf("Deployment %s/%s: %d of %d available", ns, name, d.Status.AvailableReplicas, want)
	}
	return ""
}
