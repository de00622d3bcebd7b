//go:build linux

package node_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/internal/nodetest"
)

// serviceYAML is the demo Service: the traffic example's app, answering
// "<revision> (<VERSION>)", with traffic (if any) appended under spec.
func serviceYAML(version, traffic string) string {
	return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: demo
  namespace: demo
spec:
  template:
    spec:
      containers:
        - image: ` + appImage.Ref + `
          env:
            - name: VERSION
              value: ` + version + `
` + traffic
}

// splitTraffic keeps half on demo-00001 (tag one), half on the latest
// ready revision (tag two).
const splitTraffic = `  traffic:
    - revisionName: demo-00001
      percent: 50
      tag: one
    - latestRevision: true
      percent: 50
      tag: two
`

// TestInstalledServes is ebb installed as a user installs it, on a real
// node: manifests/ with the locally built image, RBAC as shipped, the
// controller and gateway as pods following a git server the pods reach. A
// Service pushed there becomes a Deployment whose pod (the app and the
// queue-proxy sidecar from config-deployment) becomes Ready and answers
// through the gateway; a 50/50 split measured over 400 requests is within
// 8 points of 50; each tag's host reaches only its revision.
func TestInstalledServes(t *testing.T) {
	n := nodetest.Shared(t)
	buildImages(t, n)
	cs, err := kubernetes.NewForConfig(n.Config())
	if err != nil {
		t.Fatal(err)
	}

	// The serving repository, reached by the test on loopback and by the
	// pods on the node's address.
	l, err := n.Listen("tcp", nodetest.NodeIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{Also: l})
	// config-deployment as shipped, with the sidecar image resolved as
	// `ko resolve` would resolve it.
	cd, err := os.ReadFile(filepath.Join("..", "..", "manifests", "repository", "config-deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	gittest.NewBare(t, root, "serving", map[string]string{
		"config-deployment.yaml": strings.ReplaceAll(string(cd), "ko://github.com/ebb-dev/ebb/cmd/ebb/sidecar", sidecarImage.Ref),
		"config-domain.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-domain
  namespace: ebb-system
data:
  example.com: ""
`,
		"demo/service.yaml": serviceYAML("v1", ""),
	})
	tenant(t, n, "demo")
	install(t, n, srv.AlsoURL+"/serving")

	ctx := t.Context()
	waitFor(t, n, "the gateway available", 3*time.Minute, func(ctx context.Context) string {
		return available(ctx, cs, "ebb-system", "ebb-gateway")
	}, "ebb-system")
	gw, err := cs.CoreV1().Services("ebb-system").Get(ctx, "ebb-gateway", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	client := n.HTTPClient()
	get := func(ctx context.Context, host string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+gw.Spec.ClusterIP+"/", nil)
		if err != nil {
			return "", err
		}
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s: status %d: %s", host, resp.StatusCode, strings.TrimSpace(string(b)))
		}
		return strings.TrimSpace(string(b)), nil
	}
	answers := func(host, want string) func(context.Context) string {
		return func(ctx context.Context) string {
			got, err := get(ctx, host)
			if err != nil {
				return err.Error()
			}
			if got != want {
				return fmt.Sprintf("%s answers %q, want %q", host, got, want)
			}
			return ""
		}
	}

	const host = "demo.demo.example.com"
	waitFor(t, n, "demo-00001 serving through the gateway", 3*time.Minute, answers(host, "demo-00001 (v1)"), "demo", "ebb-system")
	waitFor(t, n, "demo-00001's Deployment available", time.Minute, func(ctx context.Context) string {
		return available(ctx, cs, "demo", "demo-00001-deployment")
	}, "demo")
	pods, err := cs.CoreV1().Pods("demo").List(ctx, metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=demo-00001"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods of demo-00001: %v (%d)", err, len(pods.Items))
	}
	var containers []string
	for _, c := range pods.Items[0].Status.ContainerStatuses {
		containers = append(containers, fmt.Sprintf("%s %s ready=%v", c.Name, c.Image, c.Ready))
	}
	wantContainers := []string{"queue-proxy " + sidecarImage.Ref + " ready=true", "user-container " + appImage.Ref + " ready=true"}
	if strings.Join(containers, ", ") != strings.Join(wantContainers, ", ") {
		t.Errorf("demo-00001's pod runs %v, want %v", containers, wantContainers)
	}

	// A second revision, half the traffic, each behind a tag.
	work := gittest.Clone(t, srv.RepoURL("serving"), "Dev")
	work.CommitAndPush(t, map[string]string{"demo/service.yaml": serviceYAML("v2", splitTraffic)}, "demo: v2, split 50/50")
	waitFor(t, n, "demo-00002 behind tag two", 3*time.Minute, answers("two-"+host, "demo-00002 (v2)"), "demo", "ebb-system")

	const requests = 400
	counts := map[string]int{}
	for range requests {
		got, err := get(ctx, host)
		if err != nil {
			t.Fatal(err)
		}
		counts[got]++
	}
	share := float64(counts["demo-00002 (v2)"]) / requests * 100
	t.Logf("split over %d requests: %v (demo-00002 %.1f %%)", requests, counts, share)
	if counts["demo-00001 (v1)"]+counts["demo-00002 (v2)"] != requests || share < 42 || share > 58 {
		t.Errorf("split over %d requests: %v, want each revision 50 ± 8 %%", requests, counts)
	}

	for tag, want := range map[string]string{"one": "demo-00001 (v1)", "two": "demo-00002 (v2)"} {
		for range 20 {
			got, err := get(ctx, tag+"-"+host)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("tag %s answers %q, want only %q", tag, got, want)
			}
		}
	}
}
