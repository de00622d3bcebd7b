package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestUpGitPreviewRunsItsCode: a serving repository that holds its app's
// code. A preview branch that changes the code (and the Service, which
// makes the preview) runs the branch's code under its tag URL, while the
// main URL runs the main branch's.
func TestUpGitPreviewRunsItsCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	app, err := os.ReadFile(filepath.Join(repoRoot, "examples/hello/app/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	service := func(target string) string {
		return strings.Replace(canaryService(target, ""), "ko://github.com/ebb-dev/ebb/examples/hello/app", "ko://example.test/serving/app", 1)
	}
	root := t.TempDir()
	gittest.NewBare(t, root, "serving.git", map[string]string{
		"go.mod":                  "module example.test/serving\n\ngo 1.26\n",
		"app/main.go":             string(app),
		"apps/hello/service.yaml": service("World"),
		"config-autoscaler.yaml":  fastScaleToZero,
	})
	url := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{}).RepoURL("serving.git")
	u := startUpGit(t, url, "--preview", "refs/heads/preview/*")
	const host, tagHost = "hello.default.svc.cluster.local", "preview-howdy-hello.default.svc.cluster.local"
	answers := func(h, want string) func() string {
		return func() string {
			if code, body, err := u.get(h); err != nil || code != 200 || body != want {
				return fmt.Sprintf("%d %q %v", code, body, err)
			}
			return ""
		}
	}
	eventually(t, "Hello World! through the gateway", 2*time.Minute, answers(host, "Hello World!\n"))

	user := gittest.Clone(t, url, "alice")
	if out, err := user.Git("checkout", "-q", "-b", "preview/howdy"); err != nil {
		t.Fatal(err, out)
	}
	// push commits files to the preview branch and waits for its tag URL
	// to answer want; the main URL answers as before.
	push := func(files map[string]string, msg, want string) {
		t.Helper()
		user.Commit(t, files, msg)
		if out, err := user.Git("push", "-q", "origin", "preview/howdy"); err != nil {
			t.Fatal(err, out)
		}
		u.kick(t, "refs/heads/preview/howdy")
		eventually(t, "the preview answering "+want, 2*time.Minute, answers(tagHost, want))
		if counts := u.split(t, host, 50); counts["Hello World!\n"] != 50 {
			t.Errorf("main URL after %q: %v", msg, counts)
		}
	}
	greeting := func(word string) string {
		return strings.Replace(string(app), `"Hello %s!\n"`, `"`+word+` %s!\n"`, 1)
	}
	push(map[string]string{"app/main.go": greeting("Howdy"), "apps/hello/service.yaml": service("Preview")}, "hello: say howdy", "Howdy Preview!\n")
	// A push of code alone: the same revision, built from the new commit.
	push(map[string]string{"app/main.go": greeting("Hiya")}, "hello: say hiya", "Hiya Preview!\n")
}
