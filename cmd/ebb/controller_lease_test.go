//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/internal/syncbuf"
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
	ctx, cancel := context.WithCancel(t.Context())
	out, done := &syncbuf.Buffer{}, make(chan int, 1)
	e := &env{stdout: out, stderr: out, getenv: func(k string) string {
		return map[string]string{"POD_NAME": "ctl", "POD_IP": "10.3.0.1", "EBB_REPO_URL": repo}[k]
	}}
	go func() {
		done <- run(ctx, []string{"controller", "--kubeconfig", c.Kubeconfig, "--listen", "127.0.0.1:0",
			"--cache-dir", filepath.Join(t.TempDir(), "cache"), "--read-only", "--poll", "200ms", "--preview", "none",
			"--leader-elect-lease-duration", "2s", "--leader-elect-renew-deadline", "1500ms", "--leader-elect-retry-period", "200ms"}, e)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("controller:\n%s", out.String())
		}
	})
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

	work := filepath.Join(t.TempDir(), "work")
	runGit(t, t.TempDir(), "clone", "-q", repo, work)
	svc := filepath.Join(work, "service.yaml")
	b, err := os.ReadFile(svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(svc, []byte(strings.Replace(string(b), "value: World", "value: again", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "commit", "-q", "-am", "again")
	runGit(t, work, "push", "-q", "origin", "main")
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
