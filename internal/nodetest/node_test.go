//go:build linux

package nodetest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/ebb-dev/ebb/internal/nodetest"
)

func TestMain(m *testing.M) { os.Exit(nodetest.Main(m)) }

// A Deployment of an image built and imported by the test runs on the
// node: its pod becomes Ready behind a real readiness probe, and answers
// through its Service's ClusterIP (kube-proxy), reached from inside the
// node's network.
func TestPodServesThroughService(t *testing.T) {
	n := nodetest.Shared(t)
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(n.Config())
	if err != nil {
		t.Fatal(err)
	}
	const ns = "pods"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	app := nodetest.Image{Ref: "ebb.local/traffic-app:test", Entrypoint: []string{"/app"}, User: "65532:65532"}
	if err := n.BuildImage(ctx, app, "github.com/ebb-dev/ebb/examples/traffic/app"); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "traffic"}
	_, err = cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "traffic"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: app.Ref, ImagePullPolicy: corev1.PullNever,
					Env:   []corev1.EnvVar{{Name: "K_REVISION", Value: "traffic-00001"}, {Name: "VERSION", Value: "v1"}},
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{
						ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}},
						PeriodSeconds: 1,
					},
				}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "traffic"},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + svc.Spec.ClusterIP + "/"
	body, err := getUntil(ctx, n.HTTPClient(), url, 2*time.Minute)
	if err != nil {
		t.Fatalf("%v\n%s", err, n.Describe(ctx, ns))
	}
	if want := "traffic-00001 (v1)\n"; body != want {
		t.Errorf("GET %s = %q, want %q", url, body, want)
	}
}

// getUntil GETs url until it answers 200, for at most limit; a pod's
// readiness reaches kube-proxy's rules a moment after the pod.
func getUntil(ctx context.Context, c *http.Client, url string, limit time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b), nil
			}
			err = fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
		}
		last = err
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("GET %s: %w", url, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
