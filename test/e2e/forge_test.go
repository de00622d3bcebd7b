package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/forgetest"
	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestUpGitCommitStatuses runs ebb up URL with --commit-statuses against
// a real git server and a server playing GitHub's status endpoints (no
// forge can run on the test machine): the pushed commit and ebb's ledger
// commits are marked ebb/apply, a restarted ebb posts nothing the forge
// already shows, and a pull request's preview goes from pending to
// success with its tag URL, which its comment shows.
func TestUpGitCommitStatuses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	root := t.TempDir()
	svc, err := os.ReadFile(filepath.Join(repoRoot, "examples/hello/service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pushed := gittest.NewBare(t, root, "org/serving.git", map[string]string{
		"apps/hello/service.yaml": string(svc),
		"config-autoscaler.yaml":  fastScaleToZero,
		"go.work":                 "go 1.26.0\n\nuse " + repoRoot + "\n",
	})
	bare := filepath.Join(root, "org/serving.git")
	url := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{}).RepoURL("org/serving.git")
	forge := forgetest.New(t, "github", "org/serving", "f0rge")
	env := append(upGitEnv(t), "EBB_FORGE_TOKEN=f0rge")
	args := []string{"up", url, "--addr", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--poll", "1h",
		"--forge", "github=" + forge.API, "--commit-statuses", "--pr-comment", "--preview", "refs/pull/*/head"}
	u := launch(t, "", env, args...)
	readyRecorded(t, u, bare, "hello-00001")
	head := gittest.Run(t, bare, "rev-parse", "main")
	applied := func(commit, description string) {
		t.Helper()
		eventually(t, "ebb/apply on "+commit, time.Minute, func() string {
			for _, s := range forge.Posted(commit) {
				if s.Context == "ebb/apply" && s.State == "success" && s.Description == description {
					return ""
				}
			}
			return fmt.Sprintf("%+v", forge.Posted(commit))
		})
	}
	applied(pushed, "applied, with ledger commit "+gittest.Run(t, bare, "rev-parse", "main~1")[:12])
	applied(head, "applied")

	// A restarted ebb reads what the forge holds and posts nothing.
	u.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-u.exited:
		u.exited <- err
	case <-time.After(30 * time.Second):
		t.Fatal("ebb up did not stop")
	}
	before := len(forge.Requests())
	u = launch(t, "", env, args...)
	// Once it has read head's statuses, a round that ends later has
	// posted whatever it would.
	rounds := -1
	eventually(t, "the restarted ebb read the forge", 2*time.Minute, func() string {
		st := u.source(t)
		if rounds < 0 {
			for _, r := range forge.Requests()[before:] {
				if r.Method == "GET" && strings.Contains(r.Path, head) && st.Forge != nil {
					rounds = st.Forge.Rounds
				}
			}
			return "no GET of " + head
		}
		if st.Forge.Rounds <= rounds || st.Forge.Waiting != 0 {
			return fmt.Sprintf("%+v", st.Forge)
		}
		return ""
	})
	for _, r := range forge.Requests()[before:] {
		if r.Method != "GET" {
			t.Errorf("the restarted ebb sent %s %s (%d)", r.Method, r.Path, r.Code)
		}
	}

	// A pull request's preview: pending while it builds and starts, then
	// success with its tag URL as the target, and one comment with it.
	user := gittest.Clone(t, url, "alice")
	previewHead := user.Commit(t, map[string]string{"apps/hello/service.yaml": canaryService("Preview", "")}, "hello: try another greeting")
	if out, err := user.Git("push", "-q", "origin", "HEAD:refs/pull/7/head"); err != nil {
		t.Fatal(err, out)
	}
	forge.SetPullRequest(7, `{"number":7,"state":"open","merged":false,"user":{"login":"alice"},"labels":[],
"head":{"sha":"`+previewHead+`","repo":{"full_name":"org/serving"}},"base":{"repo":{"full_name":"org/serving"}}}`)
	u.kick(t, "refs/pull/7/head")
	const tagURL = "http://pr-7-hello.default.svc.cluster.local"
	eventually(t, "the preview's success and comment", 2*time.Minute, func() string {
		sts := forge.Posted(previewHead)
		if len(sts) == 0 || sts[len(sts)-1].State != "success" {
			return fmt.Sprintf("%+v", sts)
		}
		if cs := forge.Comments(7); len(cs) != 1 || !strings.Contains(cs[0].Body, "| hello | "+tagURL+" |") {
			return fmt.Sprintf("comments %+v", cs)
		}
		return ""
	})
	sts := forge.Posted(previewHead)
	if first, last := sts[0], sts[len(sts)-1]; first.Context != "ebb/preview/hello" || first.State != "pending" ||
		last.Context != "ebb/preview/hello" || last.TargetURL != tagURL || !strings.HasSuffix(last.Description, tagURL) {
		t.Errorf("statuses of the preview's head: %+v, want pending, then success with %s", sts, tagURL)
	}
	t.Logf("statuses of the preview's head: %+v\ncomment:\n%s", sts, forge.Comments(7)[0].Body)
}
