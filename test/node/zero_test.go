//go:build linux

package node_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	e.push(t, map[string]string{"zero/service.yaml": zeroService("zero", "zero", "", "z")}, "zero: a Service that may scale to zero")
	const host, want = "zero.zero.example.com", "zero-00001 (z)"
	waitFor(t, e.n, "zero-00001 serving", 3*time.Minute, e.answers(host, want), "zero", "ebb-system")

	cold := e.coldStarts(t, "zero", "zero-00001", want, nil, func(ctx context.Context) (string, error) {
		return e.get(ctx, host)
	})
	t.Logf("cold start through the gateway, %d rounds: %s", len(cold), spread(cold))
}

// zeroService is Service ns/name running the traffic example's app with
// VERSION version and no min-scale, so that it scales to zero; its
// metadata annotations are the YAML lines meta (indented four spaces).
func zeroService(ns, name, meta, version string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: %s\n", name, ns)
	if meta != "" {
		b.WriteString("  annotations:\n" + meta)
	}
	fmt.Fprintf(&b, `spec:
  template:
    spec:
      containers:
        - image: %s
          env:
            - name: VERSION
              value: %s
`, appImage.Ref, version)
	return b.String()
}

// coldRounds is how many times coldStarts takes a revision from zero.
const coldRounds = 3

// coldStarts takes revision ns/rev from zero coldRounds times: it waits
// until the revision's Deployment is at zero replicas and its pods are
// gone (and atZero, when given, says nothing more is missing), then times
// send, request sent to answer read. send must answer want, and the
// Deployment be back at one replica or more. It returns the times, sorted.
func (e *ebb) coldStarts(t *testing.T, ns, rev, want string, atZero func(context.Context) string, send func(context.Context) (string, error)) []time.Duration {
	t.Helper()
	var cold []time.Duration
	for round := range coldRounds {
		waitFor(t, e.n, fmt.Sprintf("round %d: %s at zero replicas, its pods gone", round, rev), 2*time.Minute, func(ctx context.Context) string {
			if why := e.zeroPods(ctx, ns, rev); why != "" || atZero == nil {
				return why
			}
			return atZero(ctx)
		}, ns)
		start := time.Now()
		got, err := send(t.Context())
		took := time.Since(start)
		if err != nil {
			t.Fatalf("round %d: from zero after %v: %v\n%s\n%s", round, took, err, e.n.Describe(t.Context(), ns),
				e.n.Logs(t.Context(), "ebb-system", "app.kubernetes.io/name=ebb-gateway", 30))
		}
		if got != want {
			t.Fatalf("round %d: from zero: %q, want %q", round, got, want)
		}
		d, err := e.cs.AppsV1().Deployments(ns).Get(t.Context(), rev+"-deployment", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
			t.Errorf("round %d: answered, but spec.replicas is %v", round, d.Spec.Replicas)
		}
		cold = append(cold, took)
	}
	slices.Sort(cold)
	return cold
}

// zeroPods says why revision ns/rev is not at zero: its Deployment's
// replicas, or its pods left; "" when it is.
func (e *ebb) zeroPods(ctx context.Context, ns, rev string) string {
	d, err := e.cs.AppsV1().Deployments(ns).Get(ctx, rev+"-deployment", metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
		return fmt.Sprintf("spec.replicas %v", d.Spec.Replicas)
	}
	pods, err := e.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=" + rev})
	if err != nil {
		return err.Error()
	}
	if len(pods.Items) > 0 {
		return fmt.Sprintf("%d pods left", len(pods.Items))
	}
	return ""
}

// spread prints sorted times as min, median and max.
func spread(d []time.Duration) string {
	return fmt.Sprintf("min %v, median %v, max %v", d[0].Round(time.Millisecond), d[len(d)/2].Round(time.Millisecond), d[len(d)-1].Round(time.Millisecond))
}
