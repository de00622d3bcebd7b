package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestUpGitUntrustedPullRequest: a pull request, as a fork opens it,
// changes the command and the pod spec of a Service.
//   - With ebb up's defaults, nothing of it is fetched, built or run.
//   - With pull requests enabled (every fork trusted), a template that
//     takes an identity or host access is refused with file and line, and
//     an allowed one runs as another user (ebb runs as root here), with
//     the container's environment only, unable to read ebb's.
func TestUpGitUntrustedPullRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	if os.Geteuid() != 0 {
		t.Skip("previews run as another user only when ebb runs as root")
	}
	// Directories the previews' user (nobody) can reach: the app and what
	// the pull requests' commands write.
	shared := func(mode os.FileMode) string {
		dir, err := os.MkdirTemp("", "ebb-e2e-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	app := filepath.Join(shared(0o755), "hello")
	build := exec.Command("go", "build", "-o", app, "./examples/hello/app")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the app: %v\n%s", err, out)
	}
	out := shared(0o777)

	const password = "s3cret-git-password"
	service := func(target, extra, command string) string {
		return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    spec:` + extra + `
      containers:
        - image: ko://example.test/hello
          command: ["/bin/sh", "-c", "` + command + `"]
          env:
            - name: TARGET
              value: ` + target + "\n"
	}
	root := t.TempDir()
	gittest.NewBare(t, root, "serving.git", map[string]string{
		"apps/hello/service.yaml": service("World", "", "exec "+app),
		"config-autoscaler.yaml":  fastScaleToZero,
	})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{Username: "ebb", Password: password})
	url := srv.RepoURL("serving.git")
	t.Setenv("EBB_GIT_PASSWORD", password)
	const host = "hello.default.svc.cluster.local"
	answers := func(u *upProcess, h, want string) func() string {
		return func() string {
			if code, body, err := u.get(h); err != nil || code != 200 || body != want {
				return fmt.Sprintf("%d %q %v", code, body, err)
			}
			return ""
		}
	}

	// The pull request, pushed to refs/pull/1/head as a forge keeps it.
	user := gittest.Clone(t, strings.Replace(url, "://", "://ebb:"+password+"@", 1), "mallory")
	hostile := service("Mallory", "\n      hostNetwork: true\n      serviceAccountName: admin", "touch "+out+"/pr-1-ran; exec "+app)
	user.Commit(t, map[string]string{"apps/hello/service.yaml": hostile}, "a fork's pull request")
	if o, err := user.Git("push", "-q", "origin", "HEAD:refs/pull/1/head"); err != nil {
		t.Fatal(err, o)
	}

	t.Run("defaults", func(t *testing.T) {
		u := startUpGit(t, url, "--username", "ebb")
		eventually(t, "Hello World!", 2*time.Minute, answers(u, host, "Hello World!\n"))
		before := u.source(t).LastSync
		u.kick(t, "refs/pull/1/head")
		eventually(t, "a pass after the pull request", time.Minute, func() string {
			if st := u.source(t); !st.LastSync.After(before) {
				return "last sync " + st.LastSync.String()
			}
			return ""
		})
		if st := u.source(t); len(st.Previews) != 0 || st.LastError != "" {
			t.Errorf("source with a pull request and default flags: %+v", st)
		}
		for name := range u.revisions(t) {
			if strings.Contains(name, "pr-1") {
				t.Errorf("revision %s of the pull request", name)
			}
		}
		if code, _, err := u.get("pr-1-hello.default.svc.cluster.local"); err != nil || code != 404 {
			t.Errorf("the pull request's tag host answered %d, %v; want 404", code, err)
		}
		if _, err := os.Stat(filepath.Join(out, "pr-1-ran")); err == nil {
			t.Error("the pull request's command ran")
		}
	})

	t.Run("enabled", func(t *testing.T) {
		u := startUpGit(t, url, "--username", "ebb", "--preview", "refs/pull/*/head", "--preview-forks")
		eventually(t, "Hello World!", 2*time.Minute, answers(u, host, "Hello World!\n"))
		eventually(t, "the hostile pull request refused", time.Minute, func() string {
			for _, pv := range u.source(t).Previews {
				if pv.Ref == "refs/pull/1/head" && pv.Error != "" {
					return ""
				}
			}
			return "no error for refs/pull/1/head yet"
		})
		var refused string
		for _, pv := range u.source(t).Previews {
			if pv.Ref == "refs/pull/1/head" {
				refused = pv.Error
			}
		}
		for _, want := range []string{
			"apps/hello/service.yaml:9: spec.template.spec.hostNetwork: must not set the field(s)",
		} {
			if !strings.Contains(refused, want) {
				t.Errorf("pull request 1's error %q lacks %q", refused, want)
			}
		}

		// Without the gated field, the preview rule names the identity.
		user.Commit(t, map[string]string{"apps/hello/service.yaml": service("Mallory", "\n      serviceAccountName: admin", "touch "+out+"/pr-1-ran; exec "+app)}, "no host network")
		if o, err := user.Git("push", "-q", "-f", "origin", "HEAD:refs/pull/1/head"); err != nil {
			t.Fatal(err, o)
		}
		u.kick(t, "refs/pull/1/head")
		eventually(t, "the identity refused", time.Minute, func() string {
			for _, pv := range u.source(t).Previews {
				if pv.Ref == "refs/pull/1/head" && strings.Contains(pv.Error, "apps/hello/service.yaml:9: spec.template.spec.serviceAccountName: must not set the field(s) in a preview") {
					return ""
				}
			}
			return "previews " + strings.TrimSpace(fmtPreviews(u.source(t)))
		})

		// An allowed pull request runs, as nobody, with its own environment.
		probe := "id -u > " + out + "/uid; env > " + out + "/env; cat /proc/$PPID/environ > " + out + "/ebb-env 2>&1; echo $? > " + out + "/ebb-env-rc; exec " + app
		user.Commit(t, map[string]string{"apps/hello/service.yaml": service("PR2", "", probe)}, "pull request 2")
		if o, err := user.Git("push", "-q", "origin", "HEAD:refs/pull/2/head"); err != nil {
			t.Fatal(err, o)
		}
		u.kick(t, "refs/pull/2/head")
		eventually(t, "pull request 2's tag URL", 2*time.Minute, answers(u, "pr-2-hello.default.svc.cluster.local", "Hello PR2!\n"))
		read := func(name string) string {
			b, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(string(b))
		}
		if got := read("uid"); got != "65534" {
			t.Errorf("the preview runs as uid %s, want 65534", got)
		}
		if got := read("ebb-env-rc"); got == "0" {
			t.Errorf("the preview read ebb's environment: %q", read("ebb-env"))
		}
		for _, f := range []string{"env", "ebb-env"} {
			if strings.Contains(read(f), password) {
				t.Errorf("the preview saw the Git password in %s", f)
			}
		}
		if _, err := os.Stat(filepath.Join(out, "pr-1-ran")); err == nil {
			t.Error("the refused pull request's command ran")
		}
		if code, body, err := u.get(host); err != nil || body != "Hello World!\n" {
			t.Errorf("main URL: %d %q %v", code, body, err)
		}
	})
}

func fmtPreviews(s source) string {
	var b strings.Builder
	for _, pv := range s.Previews {
		b.WriteString(pv.Ref + ": " + pv.Error + "; ")
	}
	return b.String()
}
