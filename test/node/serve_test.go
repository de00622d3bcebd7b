//go:build linux

package node_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/internal/nodetest"
)

// serviceYAML is the demo Service: the traffic example's app, answering
// "<revision> (<VERSION>)", with traffic (if any) appended under spec.
func serviceYAML(version, traffic string) string {
	return appService("demo", "demo", appImage, "", map[string]string{"VERSION": version}) + traffic
}

// appService is Service ns/name running img with env, its metadata
// annotations the YAML lines meta (indented four spaces). It keeps a pod
// (min-scale 1): the repository's config-autoscaler scales idle revisions
// to zero within seconds.
func appService(ns, name string, img nodetest.Image, meta string, env map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: %s
  namespace: %s
`, name, ns)
	if meta != "" {
		b.WriteString("  annotations:\n" + meta)
	}
	fmt.Fprintf(&b, `spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"
    spec:
      containers:
        - image: %s
          env:
`, img.Ref)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "            - name: %s\n              value: %q\n", k, env[k])
	}
	return b.String()
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
// node (see sharedEbb): a Service pushed to the serving repository becomes
// a Deployment whose pod (the app and the queue-proxy sidecar from
// config-deployment) becomes Ready and answers through the gateway; a
// 50/50 split measured over 400 requests is within 8 points of 50; each
// tag's host reaches only its revision.
func TestInstalledServes(t *testing.T) {
	t.Parallel()
	e := sharedEbb(t)
	cs, get, answers, n := e.cs, e.get, e.answers, e.n
	ctx := t.Context()
	tenant(t, n, "demo")
	e.push(t, map[string]string{"demo/service.yaml": serviceYAML("v1", "")}, "demo: v1")

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
	e.push(t, map[string]string{"demo/service.yaml": serviceYAML("v2", splitTraffic)}, "demo: v2, split 50/50")
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
