//go:build unix

package cluster_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/scaler"
)

// TestRuntimeReportsAFailingRevision: a revision whose container exits
// before it is ready reports Knative's ExitCode reason, and its public
// EndpointSlice carries it for the activators, which answer at once
// (Endpoints.Failure, what the gateway's activator reads). A pod of it
// ready clears it.
func TestRuntimeReportsAFailingRevision(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	cfg, cs := counted(t, c, &writes{})
	k := kubetest.Clients(t, cfg)
	dir := helloIn(t, cs, "failing")
	acts := activators(t, cs, "failing-system", "10.6.0.1")
	ssa, err := apply.New(cfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: &cluster.Target{Applier: ssa, Source: "failing"}}
	if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
		t.Fatal(err)
	}
	rt, eps := startRuntime(t, k, acts)
	rev := scaler.RevisionKey{Namespace: "failing", Name: "hello-00001"}
	if err := rt.SetMode(ctx, rev, route.Proxy, 1); err != nil {
		t.Fatal(err)
	}
	var pod string
	eventually(t, func() string {
		pods, err := cs.CoreV1().Pods(rev.Namespace).List(ctx, metav1.ListOptions{LabelSelector: route.RevisionLabel + "=" + rev.Name})
		if err != nil || len(pods.Items) == 0 {
			return fmt.Sprintf("no pod yet: %v", err)
		}
		pod = pods.Items[0].Name
		return ""
	})
	p, err := cs.CoreV1().Pods(rev.Namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ctr := range p.Spec.Containers {
		st := corev1.ContainerStatus{Name: ctr.Name, Image: ctr.Image}
		if ctr.Name != "queue-proxy" {
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
			st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 2, Message: "no such file"}
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, st)
	}
	if _, err := cs.CoreV1().Pods(rev.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	const want = "ExitCode2: Container failed with: no such file"
	eventually(t, func() string {
		h, _ := rt.Health(rev.Namespace, rev.Name)
		f, failed := eps.Failure(rev.Namespace, rev.Name)
		if h.Ready != engine.False || h.Reason != want || !failed || f != want {
			return fmt.Sprintf("health %+v, public slice failure %q %v", h, f, failed)
		}
		return ""
	})
	// A ready pod: the revision serves, and the failure is gone.
	if _, err := kubetest.RunPod(ctx, cs, rev.Namespace, pod, "node-1", "10.6.1.1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() string {
		if f, failed := eps.Failure(rev.Namespace, rev.Name); failed {
			return "still failed: " + f
		}
		if h, _ := rt.Health(rev.Namespace, rev.Name); h.Ready != engine.True {
			return fmt.Sprintf("health %+v", h)
		}
		return ""
	})
}
