package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/serving"
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

// Garbage collection every second of anything retired for an hour.
const hourGC = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-gc
  namespace: ebb-system
data:
  schedule: "@every 1s"
  min-non-active-revisions: "0"
  retain-since-create-time: disabled
  retain-since-last-active-time: 1h
`

// TestUpDirCountsRetirementFromFirstSight: in a plain directory, `ebb
// plan DIR --write` retires hello-00001 with no time (the Unix epoch).
// ebb up's first collection counts it from then, records that in the
// ledger file and keeps it under a one-hour retention; after a restart
// the record holds, and a collection that removes hello-00002, retired
// two hours ago, still keeps hello-00001.
func TestUpDirCountsRetirementFromFirstSight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := copyExample(t, "hello", map[string]string{"config-gc.yaml": hourGC})
	svc := filepath.Join(dir, "service.yaml")
	ledgerFile := filepath.Join(dir, ".ebb", "default", "hello.yaml")
	ebb := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ebbBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("ebb %v: %v\n%s", args, err, out)
		}
	}
	// retired is when the ledger file says rev was retired ("" when it
	// holds no rev, "-" when rev is not retired).
	retired := func(rev string) string {
		t.Helper()
		b, err := os.ReadFile(ledgerFile)
		if err != nil {
			t.Fatal(err)
		}
		l, err := serving.UnmarshalLedger(ledgerFile, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.Revisions {
			if r.Name == rev && r.Retired == nil {
				return "-"
			}
			if r.Name == rev {
				return r.Retired.Time.UTC().Format(time.RFC3339)
			}
		}
		return ""
	}

	writeFile(t, svc, helloWith("Ebb", "    - latestRevision: true\n      percent: 100\n"))
	ebb("plan", dir, "--write")
	if got := retired("hello-00001"); got != "1970-01-01T00:00:00Z" {
		t.Fatalf("ebb plan retired hello-00001 at %q, want the epoch", got)
	}

	start := time.Now().UTC().Truncate(time.Second)
	u := startUp(t, dir)
	eventually(t, "hello-00001's retirement first seen", time.Minute, func() string {
		if !strings.Contains(u.out(), "ebb gc: first saw hello-00001 (no time recorded)\n") {
			return u.out()
		}
		return ""
	})
	seen := retired("hello-00001")
	if at, err := time.Parse(time.RFC3339, seen); err != nil || at.Before(start) || at.After(time.Now()) {
		t.Fatalf("hello-00001 recorded retired at %q, want between %v and now", seen, start)
	}

	// Stopped, hello-00002 makes way for hello-third, pinned, in a plan
	// two hours old.
	if err := u.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitExit(t, u, 30*time.Second)
	writeFile(t, svc, strings.Replace(helloWith("Third", "    - revisionName: hello-third\n      percent: 100\n"),
		"  template:\n", "  template:\n    metadata:\n      name: hello-third\n", 1))
	twoHoursAgo := time.Now().UTC().Add(-2 * time.Hour).Format(time.RFC3339)
	ebb("plan", dir, "--write", "--commit", "c3", "--time", twoHoursAgo)
	if got := retired("hello-00002"); got != twoHoursAgo {
		t.Fatalf("hello-00002 retired at %q, want %s", got, twoHoursAgo)
	}

	u = startUp(t, dir)
	eventually(t, "hello-00002 collected after the restart", time.Minute, func() string {
		if !strings.Contains(u.out(), "ebb gc: removed hello-00002 (inactive for 1h0m0s or more)\n") {
			return u.out()
		}
		return ""
	})
	if strings.Contains(u.out(), "hello-00001") {
		t.Errorf("the restarted ebb up collected or saw hello-00001 anew:\n%s", u.out())
	}
	if got := retired("hello-00001"); got != seen {
		t.Errorf("after the restart hello-00001 is retired at %q, want %q as first seen", got, seen)
	}
}
