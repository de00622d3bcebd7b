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

	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestUpCodeOnlyChange runs hello as a module of its own, as a user
// would, and edits nothing but its Go code: ebb up makes a new revision of
// it, which serves the new answer, and ebb get revisions shows both. The
// first revision keeps its code: tagged, it answers as before after ebb
// up restarts, though the work tree holds the new code, from the binary
// kept under its code's digest; with that binary gone, it fails to build
// and says why, rather than run the new code.
func TestUpCodeOnlyChange(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := copyDir(t, filepath.Join(repoRoot, "examples", "hello"))
	init := exec.Command("go", "mod", "init", "github.com/ebb-dev/ebb/examples/hello")
	init.Dir = dir
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("go mod init: %v\n%s", err, out)
	}
	env := upGitEnv(t) // a ko:// cache of the test's own, Go's build cache shared
	up := func() *upProcess {
		return launch(t, dir, env, "up", dir, "--addr", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	}
	const host, oldHost = "hello.default.svc.cluster.local", "old-hello.default.svc.cluster.local"
	answers := func(u *upProcess, host, want string) {
		t.Helper()
		eventually(t, host+" answering "+strings.TrimSpace(want), 2*time.Minute, func() string {
			code, body, err := u.get(host)
			if err != nil || code != 200 || body != want {
				return fmt.Sprintf("%d %q %v", code, body, err)
			}
			return ""
		})
	}
	u := up()
	answers(u, host, "Hello World!\n")

	main := filepath.Join(dir, "app", "main.go")
	src, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, main, strings.Replace(string(src), `"Hello %s!\n"`, `"Howdy %s!\n"`, 1))
	answers(u, host, "Howdy World!\n")
	if !strings.Contains(u.out(), "ebb: default/hello: new revision hello-00002\n") {
		t.Errorf("stdout does not tell of the new revision:\n%s", u.out())
	}
	out, err := exec.Command(ebbBin, "get", "revisions", "--admin", u.admin).Output()
	if err != nil {
		t.Fatalf("ebb get revisions: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "hello-00002") || !strings.HasPrefix(lines[2], "hello-00001") {
		t.Errorf("ebb get revisions: want hello-00002 and hello-00001:\n%s", out)
	}

	// The first revision, tagged, runs the first code.
	svc, err := os.ReadFile(filepath.Join(dir, "service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "service.yaml"), string(svc)+`  traffic:
    - latestRevision: true
      percent: 100
    - revisionName: hello-00001
      percent: 0
      tag: old
`)
	answers(u, oldHost, "Hello World!\n")

	restart := func() *upProcess {
		t.Helper()
		if err := u.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		waitExit(t, u, 30*time.Second)
		return up()
	}
	u = restart()
	answers(u, oldHost, "Hello World!\n")
	answers(u, host, "Howdy World!\n")
	if strings.Contains(u.out(), "new revision") {
		t.Errorf("the restarted ebb up made a revision:\n%s", u.out())
	}

	// Without the kept binary, the first code is gone from this machine.
	cache := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_CACHE_HOME="); ok {
			cache = v
		}
	}
	if err := os.RemoveAll(filepath.Join(cache, "ebb", "ko", "code")); err != nil {
		t.Fatal(err)
	}
	u = restart()
	answers(u, host, "Howdy World!\n")
	eventually(t, "hello-00001 failing to build", time.Minute, func() string {
		code, body, err := u.get(oldHost)
		if err != nil || code != 503 || !strings.Contains(body, "BuildFailed") || !strings.Contains(body, "no longer in the directory it builds from") {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
}

// TestUpGitCodeOnlyChange follows a repository that is hello's module:
// a push that changes only app/main.go is a ledger commit of a new
// revision, which serves the new answer; the first revision, tagged,
// still answers with the first code after ebb up restarts.
func TestUpGitCodeOnlyChange(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(repoRoot, "examples/hello", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	svc, main := read("service.yaml"), read("app/main.go")
	root := t.TempDir()
	gittest.NewBare(t, root, "serving.git", map[string]string{
		"go.mod":       "module github.com/ebb-dev/ebb/examples/hello\n\ngo 1.26\n",
		"app/main.go":  main,
		"service.yaml": svc,
	})
	url, bare := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{}).RepoURL("serving.git"), filepath.Join(root, "serving.git")
	env := upGitEnv(t)
	up := func() *upProcess {
		return launch(t, "", env, "up", url, "--addr", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--poll", "1h")
	}
	const host, oldHost = "hello.default.svc.cluster.local", "old-hello.default.svc.cluster.local"
	answers := func(u *upProcess, host, want string) {
		t.Helper()
		eventually(t, host+" answering "+strings.TrimSpace(want), 2*time.Minute, func() string {
			code, body, err := u.get(host)
			if err != nil || code != 200 || body != want {
				return fmt.Sprintf("%d %q %v", code, body, err)
			}
			return ""
		})
	}
	u := up()
	answers(u, host, "Hello World!\n")
	readyRecorded(t, u, bare, "hello-00001")

	user := gittest.Clone(t, url, "alice")
	push := func(files map[string]string, msg string) {
		t.Helper()
		if out, err := user.Git("pull", "--rebase", "--quiet"); err != nil {
			t.Fatalf("pull: %v\n%s", err, out)
		}
		user.CommitAndPush(t, files, msg)
		u.kick(t, "refs/heads/main")
	}
	push(map[string]string{"app/main.go": strings.Replace(main, `"Hello %s!\n"`, `"Howdy %s!\n"`, 1)}, "hello: say howdy")
	answers(u, host, "Howdy World!\n")
	log := gittest.Run(t, bare, "log", "--format=%an|%s", "main")
	if !strings.Contains(log, "ebb|ebb: new revision hello-00002") {
		t.Errorf("no ledger commit of hello-00002:\n%s", log)
	}
	ledger := gittest.Run(t, bare, "show", "main:.ebb/default/hello.yaml")
	if n := strings.Count(ledger, "ko://github.com/ebb-dev/ebb/examples/hello/app: sha256:"); n != 2 {
		t.Errorf("the ledger records the code of %d revisions, want 2:\n%s", n, ledger)
	}

	push(map[string]string{"service.yaml": svc + "  traffic:\n    - latestRevision: true\n      percent: 100\n" +
		"    - revisionName: hello-00001\n      percent: 0\n      tag: old\n"}, "hello: tag the first revision")
	answers(u, oldHost, "Hello World!\n")
	if err := u.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitExit(t, u, 30*time.Second)
	u = up()
	answers(u, oldHost, "Hello World!\n")
	answers(u, host, "Howdy World!\n")
}
