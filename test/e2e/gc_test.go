package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// git runs the git CLI in dir as a user would.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := userGit(dir, args...)
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return out
}

// userGit runs the git CLI in dir as a user would, and says whether it
// failed.
func userGit(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=user", "GIT_AUTHOR_EMAIL=user@example.com",
		"GIT_COMMITTER_NAME=user", "GIT_COMMITTER_EMAIL=user@example.com")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// readyCommitted waits until ebb has committed rev ready in the work tree
// dir: a user's commit made meanwhile could race ebb's for HEAD.
func readyCommitted(t *testing.T, dir, rev string) {
	t.Helper()
	eventually(t, rev+" recorded ready", time.Minute, func() string {
		if log, _ := userGit(dir, "log", "--format=%s", "main"); !strings.Contains(log, "ebb: revision "+rev+" is ready") {
			return log
		}
		return ""
	})
}

// fiftyFifty splits hello between its first and its latest revision.
const fiftyFifty = "    - revisionName: hello-00001\n      percent: 50\n    - latestRevision: true\n      percent: 50\n"

// helloWith is the hello Service with TARGET set and the given
// spec.traffic entries.
func helloWith(target, traffic string) string {
	return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: ko://github.com/ebb-dev/ebb/examples/hello/app
          env:
            - name: TARGET
              value: ` + target + `
  traffic:
` + traffic
}

// Garbage collection every second, of anything inactive for 2 s.
const eagerGC = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-gc
  namespace: ebb-system
data:
  schedule: "@every 1s"
  min-non-active-revisions: "0"
  retain-since-create-time: disabled
  retain-since-last-active-time: 2s
`

// TestUpCollectsGarbageInAGitWorkTree: a revision that stops being routed
// is collected on the config-gc schedule; the collection is a commit on
// the branch, the revision's process goes, and the routed revision keeps
// serving.
func TestUpCollectsGarbageInAGitWorkTree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := copyExample(t, "hello", map[string]string{"config-gc.yaml": eagerGC})
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(dir, ".gitignore"), "go.work\n")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "hello, world")

	u := startUp(t, dir)
	const host = "hello.default.svc.cluster.local"
	eventually(t, "Hello World!", 2*time.Minute, func() string {
		if _, body, _ := u.get(host); body != "Hello World!\n" {
			return body
		}
		return ""
	})

	readyCommitted(t, dir, "hello-00001")

	// Two revisions at 50/50, both running.
	svc := filepath.Join(dir, "service.yaml")
	writeFile(t, svc, helloWith("Ebb", fiftyFifty))
	git(t, dir, "commit", "-q", "-am", "hello-00002 at 50%")
	eventually(t, "both revisions answering", 2*time.Minute, func() string {
		seen := map[string]bool{}
		for range 40 {
			_, body, _ := u.get(host)
			seen[body] = true
		}
		if !seen["Hello World!\n"] || !seen["Hello Ebb!\n"] {
			return fmt.Sprint(seen)
		}
		return ""
	})
	oldPods := appProcesses(u)
	if len(oldPods) != 2 {
		t.Fatalf("app processes %v, want one per revision", oldPods)
	}

	// All traffic to the latest: hello-00001 stops being routed and is
	// collected about 2 s later.
	writeFile(t, svc, helloWith("Ebb", "    - latestRevision: true\n      percent: 100\n"))
	git(t, dir, "commit", "-q", "-am", "hello-00002 at 100%")
	eventually(t, "hello-00001 collected", time.Minute, func() string {
		if _, ok := u.revisions(t)["hello-00001"]; ok {
			return "hello-00001 still listed"
		}
		return ""
	})
	log := git(t, dir, "log", "--format=%an: %s", "main")
	t.Logf("git log:\n%s", log)
	if !strings.Contains(log, "ebb: ebb gc: removed hello-00001 (inactive for 2s or more)\n") {
		t.Errorf("no garbage collection commit by ebb on main:\n%s", log)
	}
	if !strings.Contains(log, "user: hello-00002 at 100%") || !strings.Contains(log, "user: hello, world") {
		t.Errorf("a user commit went missing:\n%s", log)
	}
	if status := git(t, dir, "status", "--porcelain"); strings.TrimSpace(status) != "" {
		t.Errorf("work tree not clean after the collection:\n%s", status)
	}
	// The default stable window (60 s) would keep an unreachable
	// revision's pod for a minute: only the collection stops it this soon.
	eventually(t, "hello-00001's process gone", 30*time.Second, func() string {
		gone := 0
		for _, pid := range oldPods {
			if !alive(pid) {
				gone++
			}
		}
		if now := appProcesses(u); gone != 1 || len(now) != 1 {
			return fmt.Sprintf("old processes %v, %d gone; running now %v", oldPods, gone, now)
		}
		return ""
	})
	for range 50 {
		if code, body, err := u.get(host); err != nil || code != 200 || body != "Hello Ebb!\n" {
			t.Fatalf("routed revision after collection: %d %q %v", code, body, err)
		}
	}
}
