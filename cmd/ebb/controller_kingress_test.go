//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster"
)

// TestControllerKIngress runs `ebb controller` against a real apiserver
// (with Knative's KIngress CRD installed, pods made to run as a kubelet
// would report them) and a Git repository whose hello Service asks for
// Kourier's class and a gradual rollout. The controller renders its
// KIngress; a status written as net-kourier writes it (Ready, a private
// load balancer) makes the Service Ready in the status and in `ebb get
// services --cluster`, with the load balancer, and its placeholder
// Service follows the load balancer. A new revision's rollout starts at
// 1 % and stays there past its next step's time while net-kourier has not
// observed the KIngress's generation; once it has, the rollout steps on.
func TestControllerKIngress(t *testing.T) {
	c, cs := installedClusterWith(t, kubetest.Options{ControllerManager: true})
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	if err := kubetest.InstallCRD(t.Context(), dyn, filepath.Join("..", "..", "manifests", "kingress", "ingress.yaml")); err != nil {
		t.Fatal(err)
	}
	ings := dyn.Resource(cluster.KIngressResource).Namespace("default")

	repo := gitRepo(t)
	work := filepath.Join(t.TempDir(), "work")
	runGit(t, filepath.Dir(work), "clone", "-q", repo, work)
	edit := func(message, old, new string) {
		t.Helper()
		runGit(t, work, "pull", "-q", "--rebase", "origin", "main")
		path := filepath.Join(work, "service.yaml")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("service.yaml has no %q", old)
		}
		if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		runGit(t, work, "commit", "-qam", message)
		runGit(t, work, "push", "-q", "origin", "HEAD:main")
	}
	edit("hello: through Kourier, rolled out over 20 s", "  namespace: default\n",
		"  namespace: default\n  annotations:\n    networking.knative.dev/ingress.class: kourier.ingress.networking.knative.dev\n    serving.knative.dev/rollout-duration: 20s\n")

	startController(t, c.Kubeconfig, repo, "--leader-elect=false", "--poll", "1s")

	runPod := func(rev, ip string) {
		t.Helper()
		waitFor(t, "a pod of "+rev+" running", func() string {
			pods, err := cs.CoreV1().Pods("default").List(t.Context(), metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=" + rev})
			if err != nil || len(pods.Items) == 0 {
				return fmt.Sprintf("no pod yet (%v)", err)
			}
			if _, err := kubetest.RunPod(t.Context(), cs, "default", pods.Items[0].Name, "node-1", ip); err != nil {
				return err.Error()
			}
			return ""
		})
	}
	kingress := func() (*unstructured.Unstructured, string) {
		ing, err := ings.Get(t.Context(), "hello", metav1.GetOptions{})
		if err != nil {
			return nil, err.Error()
		}
		return ing, ""
	}
	// report writes the KIngress's status as net-kourier does, Ready for
	// the generation it has, with its Services as load balancers.
	report := func() (generation int64) {
		t.Helper()
		ing, msg := kingress()
		if ing == nil {
			t.Fatal(msg)
		}
		ready := map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-22T04:00:00Z"}
		ing.Object["status"] = map[string]any{
			"observedGeneration":  ing.GetGeneration(),
			"conditions":          []any{ready},
			"publicLoadBalancer":  map[string]any{"ingress": []any{map[string]any{"domainInternal": "kourier.kourier-system.svc.cluster.local"}}},
			"privateLoadBalancer": map[string]any{"ingress": []any{map[string]any{"domainInternal": "kourier-edge.kourier-system.svc.cluster.local"}}},
		}
		if _, err := ings.UpdateStatus(t.Context(), ing, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("write the KIngress's status: %v", err)
		}
		return ing.GetGeneration()
	}
	service := func() (engine.ServiceStatus, string) {
		doc, err := cluster.ReadStatus(t.Context(), cs, "ebb-system", "main")
		if err != nil || len(doc.Services) != 1 {
			return engine.ServiceStatus{}, fmt.Sprintf("status %+v %v", doc, err)
		}
		return doc.Services[0], ""
	}

	runPod("hello-00001", "10.5.0.1")
	waitFor(t, "the KIngress rendered", func() string { _, msg := kingress(); return msg })
	waitFor(t, "the Service waiting for its ingress", func() string {
		s, msg := service()
		if msg == "" && (s.Ready == engine.True || !strings.Contains(s.Reason, "ingress hello")) {
			return fmt.Sprintf("Ready %s (%s)", s.Ready, s.Reason)
		}
		return msg
	})
	report()
	waitFor(t, "the Service Ready with its load balancer", func() string {
		s, msg := service()
		if msg == "" && (s.Ready != engine.True || s.LoadBalancer != "kourier.kourier-system.svc.cluster.local") {
			return fmt.Sprintf("Ready %s (%s), load balancer %q", s.Ready, s.Reason, s.LoadBalancer)
		}
		return msg
	})
	var got bytes.Buffer
	if code := run(t.Context(), []string{"get", "services", "--cluster", "--kubeconfig", c.Kubeconfig}, &env{stdout: &got, stderr: &got, getenv: func(string) string { return "" }}); code != exitOK {
		t.Fatalf("ebb get services --cluster: exit %d: %s", code, got.String())
	}
	if r := rows(got.String()); len(r) != 2 || !strings.Contains(got.String(), "LOADBALANCER") || !strings.Contains(r[1][3], "kourier.kourier-system.svc.cluster.local") || !strings.Contains(got.String(), "True") {
		t.Errorf("ebb get services --cluster, want hello Ready with its load balancer:\n%s", got.String())
	}
	waitFor(t, "the placeholder Service following the private load balancer", func() string {
		svc, err := cs.CoreV1().Services("default").Get(t.Context(), "hello", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != "kourier-edge.kourier-system.svc.cluster.local" {
			return fmt.Sprintf("%s to %q", svc.Spec.Type, svc.Spec.ExternalName)
		}
		return ""
	})

	// A new revision: its rollout starts at 1 %, a generation net-kourier
	// has not observed.
	carried := func() (string, string) {
		ing, msg := kingress()
		if ing == nil {
			return "", msg
		}
		rev, percent, _ := render.RolloutNewest(ing.GetAnnotations()[render.AnnotationRollout], "hello")
		return fmt.Sprintf("%s at %d%%", rev, percent), ""
	}
	edit("hello: Ebb", "value: World", "value: Ebb")
	runPod("hello-00002", "10.5.0.2")
	var started time.Time
	waitFor(t, "the rollout at its start", func() string {
		if got, msg := carried(); msg != "" || got != "hello-00002 at 1%" {
			return got + msg
		}
		started = time.Now()
		return ""
	})
	// Past its next step's time (a twentieth of the duration), a pass of
	// a new commit still carries 1 %: the rollout is held.
	waitFor(t, "the rollout's next step due", func() string {
		if time.Since(started) < 3*time.Second {
			return "not yet"
		}
		return ""
	})
	if err := os.WriteFile(filepath.Join(work, "NOTES"), []byte("held\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "pull", "-q", "--rebase", "origin", "main")
	runGit(t, work, "add", "NOTES")
	runGit(t, work, "commit", "-qm", "notes")
	runGit(t, work, "push", "-q", "origin", "HEAD:main")
	head, err := exec.Command("git", "-C", repo, "rev-parse", "main").Output()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the commit applied", func() string {
		doc, err := cluster.ReadStatus(t.Context(), cs, "ebb-system", "main")
		if err != nil || doc.Commit != strings.TrimSpace(string(head)) {
			return fmt.Sprintf("applied %s (%v)", doc.Commit, err)
		}
		return ""
	})
	if got, msg := carried(); got != "hello-00002 at 1%" {
		t.Fatalf("past the next step's time with the KIngress not observed: carries %s%s, want hello-00002 held at 1%%", got, msg)
	}
	// net-kourier observes the generation: the rollout steps on.
	report()
	waitFor(t, "the rollout stepping on", func() string {
		if got, msg := carried(); msg != "" || got == "hello-00002 at 1%" {
			return got + msg
		}
		return ""
	})
}
