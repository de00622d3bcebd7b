//go:build unix

package main

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	proxykube "github.com/ebb-dev/ebb/proxy/kube"
)

// TestControllerLeadsAgainAfterAnOutage: the apiserver is away for longer
// than the Lease's renew deadline, so the leading controller loses the
// Lease; it stops leading, stays up (run does not return), campaigns
// again and, once the apiserver is back, leads again: a commit pushed then
// is applied, and the autoscaler of the new term writes the new
// revision's public EndpointSlice. Short Lease timings keep the waits to
// seconds.
func TestControllerLeadsAgainAfterAnOutage(t *testing.T) {
	c, cs := installedCluster(t)
	repo := gitRepo(t)
	out, done := startController(t, c.Kubeconfig, repo, readOnly("--leader-elect-lease-duration", "2s",
		"--leader-elect-renew-deadline", "1500ms", "--leader-elect-retry-period", "200ms")...)
	running := func() string {
		select {
		case code := <-done:
			done <- code
			return fmt.Sprintf("the controller exited %d", code)
		default:
			return ""
		}
	}
	deployment := func(name string) string {
		if _, err := cs.AppsV1().Deployments("default").Get(t.Context(), name, metav1.GetOptions{}); err != nil {
			return err.Error()
		}
		return ""
	}
	waitFor(t, "the repository applied", func() string { return deployment("hello-00001-deployment") })

	c.StopAPIServer()
	waitFor(t, "the lead lost while the apiserver is away", func() string {
		if s := running(); s != "" {
			t.Fatal(s)
		}
		if !strings.Contains(out.String(), "stopped leading") || !strings.Contains(out.String(), "lost the lead") {
			return "still leading"
		}
		return ""
	})
	if err := c.StartAPIServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leading again", func() string {
		if n := strings.Count(out.String(), "msg=leading"); n != 2 {
			return fmt.Sprintf("led %d times", n)
		}
		return running()
	})

	pushEdit(t, repo, "again", func(svc string) string { return strings.Replace(svc, "value: World", "value: again", 1) })
	waitFor(t, "the commit pushed after the outage applied and scaled", func() string {
		if s := deployment("hello-00002-deployment"); s != "" {
			return s
		}
		es, err := cs.DiscoveryV1().EndpointSlices("default").Get(t.Context(), "hello-00002", metav1.GetOptions{})
		if err != nil {
			return "public EndpointSlice: " + err.Error()
		}
		if es.Labels[proxykube.ModeLabel] == "" {
			return fmt.Sprintf("public EndpointSlice without a mode: %v", es.Labels)
		}
		return running()
	})
	if n := strings.Count(out.String(), "msg=leading"); n != 2 {
		t.Errorf("led %d times, want 2", n)
	}
}
