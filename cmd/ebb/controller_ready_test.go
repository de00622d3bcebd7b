//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/runtime/cluster"
)

// TestControllerKeepsTrafficOnTheLatestReady: in a real apiserver (pods
// made to run, or to crash, as a kubelet would report them), a new
// revision whose container exits before it is ready takes none of the
// latestRevision traffic: the one before keeps it, the new one reports
// Knative's ExitCode1 with the container's message, and the Service is
// not Ready with RevisionFailed. Once a later revision's pod is ready,
// the traffic moves there in a ledger commit.
func TestControllerKeepsTrafficOnTheLatestReady(t *testing.T) {
	c, cs := installedClusterWith(t, kubetest.Options{ControllerManager: true})
	repo := gitRepo(t)
	work := filepath.Join(t.TempDir(), "work")
	runGit(t, filepath.Dir(work), "clone", "-q", repo, work)
	startController(t, c.Kubeconfig, repo, "--leader-elect=false", "--poll", "1s")
	// ledger reads a field of hello's ledger on the remote main branch.
	ledger := func() string {
		b, err := exec.Command("git", "-C", repo, "show", "main:.ebb/default/hello.yaml").Output()
		if err != nil {
			return err.Error()
		}
		var latest, ready, routed string
		for _, line := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(line, "latest: "):
				latest = strings.TrimPrefix(line, "latest: ")
			case strings.HasPrefix(line, "latestReady: "):
				ready = strings.TrimPrefix(line, "latestReady: ")
			case strings.HasPrefix(line, "  - revisionName: "):
				routed += strings.TrimPrefix(line, "  - revisionName: ") + " "
			}
		}
		return fmt.Sprintf("latest %s, ready %s, routed %s", latest, ready, strings.TrimSpace(routed))
	}
	podOf := func(rev string) string {
		pods, err := cs.CoreV1().Pods("default").List(t.Context(), metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=" + rev})
		if err != nil || len(pods.Items) == 0 {
			return ""
		}
		return pods.Items[0].Name
	}
	revision := func(rev string) (cluster.StatusDoc, string) {
		doc, err := cluster.ReadStatus(t.Context(), cs, "ebb-system", "main")
		if err != nil || len(doc.Services) != 1 {
			return doc, fmt.Sprintf("status %+v %v", doc, err)
		}
		for _, r := range doc.Services[0].Revisions {
			if r.Name == rev {
				return doc, fmt.Sprintf("%s %s", r.Ready, r.Reason)
			}
		}
		return doc, "no revision " + rev
	}
	runPod := func(rev, ip string) {
		t.Helper()
		var pod string
		waitFor(t, "a pod of "+rev, func() string {
			if pod = podOf(rev); pod == "" {
				return "none yet"
			}
			return ""
		})
		if _, err := kubetest.RunPod(t.Context(), cs, "default", pod, "node-1", ip); err != nil {
			t.Fatal(err)
		}
	}

	runPod("hello-00001", "10.4.0.1")
	waitFor(t, "hello-00001 recorded ready", func() string {
		if got := ledger(); got != "latest hello-00001, ready hello-00001, routed hello-00001" {
			return got
		}
		return ""
	})

	// A template whose container exits 1.
	last := "World"
	push := func(target string) {
		t.Helper()
		svc, err := os.ReadFile(filepath.Join(work, "service.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		runGit(t, work, "pull", "-q", "--rebase", "origin", "main")
		next := strings.Replace(string(svc), "value: "+last, "value: "+target, 1)
		last = target
		if err := os.WriteFile(filepath.Join(work, "service.yaml"), []byte(next), 0o644); err != nil {
			t.Fatal(err)
		}
		runGit(t, work, "commit", "-qam", "hello: "+target)
		runGit(t, work, "push", "-q", "origin", "HEAD:main")
	}
	push("Crash")
	var pod string
	waitFor(t, "a pod of hello-00002", func() string {
		if pod = podOf("hello-00002"); pod == "" {
			return "none yet"
		}
		return ""
	})
	crash(t, cs, pod, 1, "boom: no config")
	waitFor(t, "hello-00002 reported failed", func() string {
		doc, got := revision("hello-00002")
		if got != "False ExitCode1: Container failed with: boom: no config" {
			return got
		}
		if s := doc.Services[0]; s.Ready != "False" || !strings.HasPrefix(s.Reason, `RevisionFailed: Revision "hello-00002" failed with message: ExitCode1`) {
			return fmt.Sprintf("service %s %s", s.Ready, s.Reason)
		}
		return ""
	})
	if got := ledger(); got != "latest hello-00002, ready hello-00001, routed hello-00001" {
		t.Errorf("with hello-00002 failing: %s", got)
	}
	routes, err := cs.CoreV1().ConfigMaps("default").Get(t.Context(), "hello-routes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if table := routes.Data["routes.json"]; strings.Contains(table, `"revision":"hello-00002"`) || !strings.Contains(table, `"revision":"hello-00001"`) {
		t.Errorf("route table with hello-00002 failing: %s", table)
	}

	// A fixed template: once its pod is ready, it takes the traffic.
	push("Fixed")
	runPod("hello-00003", "10.4.0.3")
	waitFor(t, "hello-00003 takes the traffic", func() string {
		if got := ledger(); got != "latest hello-00003, ready hello-00003, routed hello-00003" {
			return got
		}
		return ""
	})
}

// crash reports pod's user container as a kubelet does after it exited
// with code and message and is being restarted.
func crash(t *testing.T, cs kubernetes.Interface, name string, code int32, message string) {
	t.Helper()
	pods := cs.CoreV1().Pods("default")
	pod, err := pods.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	for _, c := range pod.Spec.Containers {
		st := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image}
		if c.Name == "queue-proxy" {
			st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.Now()}
		} else {
			st.RestartCount = 3
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 40s restarting failed container"}
			st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Error", Message: message}
		}
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, st)
	}
	if _, err := pods.UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
