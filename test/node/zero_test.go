//go:build linux

package node_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestScaleToZero: an idle revision's Deployment goes to zero replicas
// (config-autoscaler: stable window 6 s, grace 1 s), and a request then is
// held by the activator in the gateway and answered by a new pod. The
// cold-start latency, request sent to answer read, is logged for each of
// three rounds (B5 in the cluster, docs/benchmarks.md).
func TestScaleToZero(t *testing.T) {
	t.Parallel()
	e := sharedEbb(t)
	tenant(t, e.n, "zero")
	e.push(t, map[string]string{"zero/service.yaml": `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: zero
  namespace: zero
spec:
  template:
    spec:
      containers:
        - image: ` + appImage.Ref + `
          env:
            - name: VERSION
              value: z
`}, "zero: a Service that may scale to zero")
	const host, want = "zero.zero.example.com", "zero-00001 (z)"
	waitFor(t, e.n, "zero-00001 serving", 3*time.Minute, e.answers(host, want), "zero", "ebb-system")

	var cold []time.Duration
	for round := range 3 {
		waitFor(t, e.n, fmt.Sprintf("round %d: zero-00001 at zero replicas, its pods gone", round), 2*time.Minute, func(ctx context.Context) string {
			d, err := e.cs.AppsV1().Deployments("zero").Get(ctx, "zero-00001-deployment", metav1.GetOptions{})
			if err != nil {
				return err.Error()
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
				return fmt.Sprintf("spec.replicas %v", d.Spec.Replicas)
			}
			pods, err := e.cs.CoreV1().Pods("zero").List(ctx, metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=zero-00001"})
			if err != nil {
				return err.Error()
			}
			if len(pods.Items) > 0 {
				return fmt.Sprintf("%d pods left", len(pods.Items))
			}
			return ""
		}, "zero")
		start := time.Now()
		got, err := e.get(t.Context(), host)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("round %d: from zero after %v: %v\n%s\n%s", round, took, err, e.n.Describe(t.Context(), "zero"),
				e.n.Logs(t.Context(), "ebb-system", "app.kubernetes.io/name=ebb-gateway", 30))
		}
		if got != want {
			t.Fatalf("round %d: from zero: %q, want %q", round, got, want)
		}
		d, err := e.cs.AppsV1().Deployments("zero").Get(t.Context(), "zero-00001-deployment", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
			t.Errorf("round %d: answered, but spec.replicas is %v", round, d.Spec.Replicas)
		}
		cold = append(cold, took)
	}
	slices.Sort(cold)
	t.Logf("cold start through the gateway, 3 rounds: min %v, median %v, max %v", cold[0].Round(time.Millisecond), cold[1].Round(time.Millisecond), cold[2].Round(time.Millisecond))
}
