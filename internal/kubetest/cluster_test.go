//go:build unix

package kubetest_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/kubetest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

func clientset(t *testing.T, c *kubetest.Cluster) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func namespace(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	_, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func container() corev1.Container {
	return corev1.Container{Name: "app", Image: "example.com/app:1"}
}

// A Deployment gets its Pods from the controller-manager, and RunPod makes
// one Running and Ready with the given IP.
func TestDeploymentPodsRun(t *testing.T) {
	c := kubetest.Shared(t)
	cs := clientset(t, c)
	ctx := t.Context()
	namespace(t, cs, "pods")

	labels := map[string]string{"app": "hello"}
	_, err := cs.AppsV1().Deployments("pods").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{container()}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pods *corev1.PodList
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err = cs.CoreV1().Pods("pods").List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
		return err == nil && len(pods.Items) == 2, err
	})
	if err != nil {
		t.Fatalf("waiting for the Deployment's 2 pods: %v", err)
	}
	for i, p := range pods.Items {
		ip := []string{"10.1.0.1", "10.1.0.2"}[i]
		got, err := kubetest.RunPod(ctx, cs, "pods", p.Name, "node-a", ip)
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.NodeName != "node-a" || got.Status.PodIP != ip || got.Status.Phase != corev1.PodRunning || !ready(got) {
			t.Errorf("pod %s: node %q ip %q phase %s ready %t, want node-a %s Running ready",
				p.Name, got.Spec.NodeName, got.Status.PodIP, got.Status.Phase, ready(got), ip)
		}
	}
	// The Deployment controller sees them ready.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments("pods").Get(ctx, "hello", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 2, err
	})
	if err != nil {
		t.Fatalf("waiting for 2 ready replicas: %v", err)
	}
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Restarting the apiserver keeps the state (etcd holds it) and the port, so
// a config made before the restart still works.
func TestRestartAPIServer(t *testing.T) {
	c := kubetest.Shared(t)
	cs := clientset(t, c)
	ctx := t.Context()
	namespace(t, cs, "restart")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps("restart").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	c.StopAPIServer()
	if _, err := cs.CoreV1().ConfigMaps("restart").Get(ctx, "kept", metav1.GetOptions{}); err == nil {
		t.Fatal("Get succeeded while the apiserver was stopped")
	}
	if err := c.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := cs.CoreV1().ConfigMaps("restart").Get(ctx, "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["k"] != "v" {
		t.Errorf("after restart: data %v, want k=v", got.Data)
	}
	if err := c.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps("restart").Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A cluster of its own serves a Pod without a controller-manager, and Stop
// leaves no process behind.
func TestStopLeavesNoProcess(t *testing.T) {
	bin := kubetest.BinDir(t)
	c, err := kubetest.New(t.Context(), bin, t.TempDir(), kubetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	cs := clientset(t, c)
	namespace(t, cs, "solo")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{container()}}}
	if _, err := cs.CoreV1().Pods("solo").Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := kubetest.RunPod(t.Context(), cs, "solo", "p", "node-a", "10.1.0.9")
	if err != nil {
		t.Fatal(err)
	}
	if !ready(got) {
		t.Errorf("pod not ready: %+v", got.Status)
	}

	pids := c.PIDs()
	if len(pids) != 2 {
		t.Fatalf("PIDs() = %v, want etcd and kube-apiserver", pids)
	}
	c.Stop()
	for _, pid := range pids {
		// Each ran as its own process group; after Stop no member is left.
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group %d still exists after Stop (kill 0: %v)", pid, err)
		}
	}
}
