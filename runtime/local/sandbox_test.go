package local

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/serving"
)

func TestBuildEnv(t *testing.T) {
	got := buildEnv([]string{"PATH=/usr/bin", "HOME=/home/me", "GOFLAGS=-mod=mod", "GOPROXY=off", "CGO_ENABLED=0",
		"EBB_GIT_PASSWORD=s3cret", "EBB_WEBHOOK_SECRET=x", "GOOGLE_APPLICATION_CREDENTIALS=/key.json", "AWS_SECRET_ACCESS_KEY=y",
		"LC_ALL=C", "XDG_CACHE_HOME=/c", "SSH_AUTH_SOCK=/tmp/agent"})
	want := []string{"PATH=/usr/bin", "HOME=/home/me", "GOFLAGS=-mod=mod", "GOPROXY=off", "CGO_ENABLED=0", "LC_ALL=C", "XDG_CACHE_HOME=/c"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("buildEnv (-want +got):\n%s", diff)
	}
}

func TestParseUser(t *testing.T) {
	for v, want := range map[string][2]uint32{"65534": {65534, 65534}, "1000:100": {1000, 100}} {
		uid, gid, err := ParseUser(v)
		if err != nil || [2]uint32{uid, gid} != want {
			t.Errorf("ParseUser(%q) = %d, %d, %v", v, uid, gid, err)
		}
	}
	for _, bad := range []string{"", "nobody", "0", "0:0", "1:x", "-1"} {
		if _, _, err := ParseUser(bad); err == nil {
			t.Errorf("ParseUser(%q) accepted", bad)
		}
	}
}

// asRoot skips a test that needs to run processes as another user.
func asRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running processes as another user needs root")
	}
}

// TestSandboxRunsPreviewsAsAnotherUser: a preview's pod runs as the
// sandbox's user from a staged copy of its program, cannot read ebb's
// environment, and sees only the container's; a revision that is not a
// preview runs as ebb's user.
func TestSandboxRunsPreviewsAsAnotherUser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	asRoot(t)
	sb, err := NewSandbox(65534, 65534)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Remove() })
	out, err := os.MkdirTemp("", "ebb-sandbox-out-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	if err := os.Chmod(out, 0o777); err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("../..")
	r, err := NewRuntime(Options{Dir: root, Builder: &Builder{Dir: root, CacheDir: filepath.Join(os.TempDir(), "ebb-test-ko")},
		QueueConfig: testQueueConfig, DrainQuietPeriod: 10 * time.Millisecond, Sandbox: sb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	script := func(name string) []string {
		return []string{"/bin/sh", "-c", "id -u > " + out + "/" + name + ".uid; env > " + out + "/" + name + ".env; " +
			"cat /proc/$PPID/environ > " + out + "/" + name + ".ebb 2>/dev/null; echo $? >> " + out + "/" + name + ".ebb; exec sleep 600"}
	}
	t.Setenv("EBB_GIT_PASSWORD", "s3cret-of-ebb")
	preview := deployment(t, "hello-pr-1-abc", "ko://example.com/x", script("preview"), corev1.EnvVar{Name: "TARGET", Value: "pr"})
	unstructured.SetNestedField(preview.Object, "pr-1", "spec", "template", "metadata", "labels", serving.PreviewLabel)
	trusted := deployment(t, "hello-00001", "ko://example.com/x", script("main"))
	if err := r.Apply([]*unstructured.Unstructured{preview, trusted}); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string { return waitFile(t, filepath.Join(out, name)) }
	if got := read("preview.uid"); got != "65534" {
		t.Errorf("preview runs as uid %s, want 65534", got)
	}
	if got := read("main.uid"); got != "0" {
		t.Errorf("main revision runs as uid %s, want ebb's (0)", got)
	}
	if got := read("preview.ebb"); got != "1" {
		t.Errorf("the preview read ebb's environment: %q", got)
	}
	env := strings.Split(read("preview.env"), "\n")
	if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "EBB_") }) || !slices.Contains(env, "TARGET=pr") {
		t.Errorf("preview environment %q, want the container's alone", env)
	}
}

// TestUndumpable: a process of the same user reads an ordinary process's
// environment in /proc, but not an undumpable one's. The test binary runs
// itself as uid 65534 twice, as the two processes.
func TestUndumpable(t *testing.T) {
	if os.Getenv("EBB_TEST_UNDUMPABLE") != "" {
		undumpableChild()
		return
	}
	asRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "ebb-undumpable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "local.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for mode, want := range map[string]string{"plain": "read SECRET=s3cret", "undumpable": "refused"} {
		cmd := exec.Command(bin, "-test.run=^TestUndumpable$")
		cmd.Env = []string{"EBB_TEST_UNDUMPABLE=" + mode, "SECRET=s3cret", "PATH=" + os.Getenv("PATH")}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "reader: "+want+"\n") {
			t.Errorf("%s: %s, want the reader to say %q", mode, out, want)
		}
	}
}

// undumpableChild is the test binary run as another user: it makes
// itself undumpable when asked, then starts a reader of its environment
// as the same user and prints what the reader got.
func undumpableChild() {
	if os.Getenv("EBB_TEST_UNDUMPABLE") == "undumpable" {
		if err := Undumpable(); err != nil {
			println("undumpable:", err.Error())
			os.Exit(1)
		}
	}
	out, err := exec.Command("cat", "/proc/"+strconv.Itoa(os.Getpid())+"/environ").Output()
	switch {
	case err != nil:
		os.Stdout.WriteString("reader: refused\n")
	case strings.Contains(string(out), "SECRET=s3cret"):
		os.Stdout.WriteString("reader: read SECRET=s3cret\n")
	default:
		os.Stdout.WriteString("reader: read something else\n")
	}
	os.Exit(0)
}
