//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/runtime/cluster"
)

// TestControllerRedactsCredentials runs `ebb controller` against a real
// apiserver, following URLs that carry credentials (a wrong password, a
// token as the user name, a server that is not there): the fetch fails,
// and neither the status ConfigMap, the Events nor the controller's logs
// hold the credential.
func TestControllerRedactsCredentials(t *testing.T) {
	c, cs := installedCluster(t)
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"service.yaml": "# empty\n"})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{Username: "alice", Password: "s3cret-pw"})
	closed := gittest.UnreachableURL(t, "repo.git")

	for i, tc := range []struct{ url, secret, want string }{
		{gittest.WithUserinfo(srv.RepoURL("repo.git"), "alice:wr0ng-pw"), "wr0ng-pw", "authentication failed"},
		{gittest.WithUserinfo(srv.RepoURL("repo.git"), "ghp_t0ken"), "ghp_t0ken", "authentication failed"},
		{gittest.WithUserinfo(closed, "ghp_t0ken"), "ghp_t0ken", "connection refused"},
	} {
		source := fmt.Sprintf("s%d", i)
		out := &syncbuf.Buffer{}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan int, 1)
		e := &env{stdout: out, stderr: out, getenv: func(k string) string {
			if k == "EBB_REPO_URL" {
				return tc.url
			}
			return ""
		}}
		go func() {
			done <- run(ctx, []string{"controller", "--kubeconfig", c.Kubeconfig, "--listen", "127.0.0.1:0", "--source", source,
				"--cache-dir", filepath.Join(t.TempDir(), "cache"), "--leader-elect=false", "--poll", "1h",
				"--preview", "refs/heads/preview/*"}, e)
		}()
		stop := gosync.OnceFunc(func() { cancel(); <-done })
		t.Cleanup(stop)
		waitFor(t, source+" Stalled, its URL redacted", func() string {
			doc, err := cluster.ReadStatus(t.Context(), cs, "ebb-system", source)
			if err != nil || doc.Condition != cluster.Stalled || !strings.Contains(doc.Message, tc.want) || !strings.Contains(doc.Message, "redacted@") {
				return fmt.Sprintf("status %+v, %v; want Stalled with %q", doc, err, tc.want)
			}
			return ""
		})
		stop()
		cm, err := cs.CoreV1().ConfigMaps("ebb-system").Get(t.Context(), cluster.ConfigMapName(source), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		events, err := cs.CoreV1().Events("ebb-system").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cmJSON, _ := json.Marshal(cm)
		evJSON, _ := json.Marshal(events)
		for what, text := range map[string]string{"status ConfigMap": string(cmJSON), "Events": string(evJSON), "logs": out.String()} {
			if strings.Contains(text, tc.secret) {
				t.Errorf("%s: the %s hold the credential %q:\n%s", source, what, tc.secret, text)
			}
		}
	}
}
