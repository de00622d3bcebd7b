package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUpHelloOutsideAModule copies examples/hello out of ebb's module, as
// a new user would, and runs it: with no go.mod its ko:// image cannot
// build, which ebb up says at once, at the image's line, with what to do,
// on stderr and in ebb get revisions; doing it makes the revision serve.
func TestUpHelloOutsideAModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := copyDir(t, filepath.Join(repoRoot, "examples", "hello"))
	u := startUp(t, dir)
	const msg = "service.yaml:11: spec.template.spec.containers[0].image: ko://github.com/ebb-dev/ebb/examples/hello/app: " +
		"no Go module here provides this package: run ebb up inside a module whose path is a prefix of it " +
		"(go mod init github.com/ebb-dev/ebb/examples/hello), or give the container a command"
	started := time.Now()
	eventually(t, "the message on stderr", 30*time.Second, func() string {
		if !strings.Contains(u.errOut(), "ebb: default/hello-00001: "+msg+"\n") {
			return "not yet"
		}
		return ""
	})
	t.Logf("stderr named the image %v after ebb up served", time.Since(started).Round(time.Millisecond))
	if r := u.revisions(t)["hello-00001"]; r.Ready != "False" || r.Reason != "BuildFailed: "+msg {
		t.Errorf("ebb get revisions -o json: hello-00001 %+v, want False with BuildFailed: %s", r, msg)
	}
	out, err := exec.Command(ebbBin, "get", "revisions", "--admin", u.admin).Output()
	if err != nil {
		t.Fatalf("ebb get revisions: %v", err)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "hello-00001") || !strings.HasSuffix(lines[1], "…") ||
		!strings.Contains(string(out), "\nrevision default/hello-00001:\nBuildFailed: "+msg+"\n") {
		t.Errorf("ebb get revisions: want hello-00001's reason cut to one line, then whole:\n%s", out)
	}

	// What the message says to do makes hello serve.
	init := exec.Command("go", "mod", "init", "github.com/ebb-dev/ebb/examples/hello")
	init.Dir = dir
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("go mod init: %v\n%s", err, out)
	}
	eventually(t, "Hello World! once the module is there", 2*time.Minute, func() string {
		code, body, err := u.get("hello.default.svc.cluster.local")
		if err != nil || code != 200 || body != "Hello World!\n" {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	if r := u.revisions(t)["hello-00001"]; r.Ready != "True" || r.Reason != "" {
		t.Errorf("hello-00001 serving: %+v, want Ready True", r)
	}
}
