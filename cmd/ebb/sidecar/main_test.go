package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/cmd/ebb/internal/queuecmd"
	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/serving/config"
)

func goTool() string {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		return "go"
	}
	return goBin
}

// The default queue-sidecar image runs in every revision pod: it is this
// command, which links the queue-proxy and nothing of the control plane.
func TestLinksOnlyTheQueueProxy(t *testing.T) {
	pkg, ok := strings.CutPrefix(config.DefaultQueueSidecarImage, "ko://")
	if !ok || pkg != "github.com/ebb-dev/ebb/cmd/ebb/sidecar" {
		t.Errorf("default queue-sidecar image %q, want ko://github.com/ebb-dev/ebb/cmd/ebb/sidecar", config.DefaultQueueSidecarImage)
	}
	out, err := exec.Command(goTool(), "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !containsAll(deps, "github.com/ebb-dev/ebb/proxy/queue", "github.com/ebb-dev/ebb/cmd/ebb/internal/queuecmd") {
		t.Fatalf("go list -deps returned %d packages without the queue-proxy; want the sidecar's dependency tree:\n%s", len(deps), out)
	}
	heavy := []string{"k8s.io/", "sigs.k8s.io/", "github.com/go-git/", "github.com/fsnotify/", "github.com/robfig/cron",
		"github.com/ebb-dev/ebb/render", "github.com/ebb-dev/ebb/engine", "github.com/ebb-dev/ebb/serving"}
	for _, d := range deps {
		for _, h := range heavy {
			if strings.HasPrefix(d, h) {
				t.Errorf("the sidecar depends on %s", d)
			}
		}
	}
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			found = found || l == w
		}
		if !found {
			return false
		}
	}
	return true
}

func TestRunCommands(t *testing.T) {
	version = "v1.2.3"
	defer func() { version = "dev" }()
	for _, tc := range []struct {
		args               []string
		code               int
		stdout, stderrHead string
	}{
		{[]string{"version"}, queuecmd.ExitOK, "ebb v1.2.3 (queue-proxy sidecar)\n", ""},
		{[]string{"help"}, queuecmd.ExitOK, "usage: sidecar [queue] [flags]", ""},
		{[]string{"--help"}, queuecmd.ExitOK, "usage: sidecar [queue] [flags]", ""},
		{[]string{"up", "."}, queuecmd.ExitUsage, "", `ebb sidecar: unknown command "up"`},
		{[]string{"queue", "--nope"}, queuecmd.ExitUsage, "", "ebb queue: flag provided but not defined: -nope"},
		{[]string{"--nope"}, queuecmd.ExitUsage, "", "ebb queue: flag provided but not defined: -nope"},
		{[]string{"queue", "extra"}, queuecmd.ExitUsage, "", `ebb queue: unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr, func(string) string { return "" })
		got := []any{code, strings.HasPrefix(stdout.String(), tc.stdout), strings.HasPrefix(stderr.String(), tc.stderrHead)}
		if diff := cmp.Diff([]any{tc.code, true, true}, got); diff != "" {
			t.Errorf("run %q: exit code, stdout starts right, stderr starts right (-want +got):\n%s\nstdout: %q\nstderr: %q",
				tc.args, diff, stdout.String(), stderr.String())
		}
	}
}

// TestSidecarProcess builds the sidecar, runs it as a pod would (the
// rendered `args: [queue]`, and with no arguments at all) in front of a real
// server, and stops it with SIGTERM.
func TestSidecarProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sidecar")
	if out, err := exec.Command(goTool(), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ul, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	user := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })}
	go user.Serve(ul)
	defer user.Close()
	for _, args := range [][]string{{"queue"}, nil} {
		cmd := exec.Command(bin, append(args, "--host", "127.0.0.1", "--h2c-port", "-1", "--admin-port", "-1",
			"--stats-port", "-1", "--metrics-port", "-1", "--drain-quiet-period", "10ms")...)
		// Port 0: the sidecar binds a free port itself and logs it, so
		// none is probed free and let go of for it to take.
		cmd.Env = []string{"QUEUE_SERVING_PORT=0", "USER_PORT=" + strconv.Itoa(ul.Addr().(*net.TCPAddr).Port),
			"SERVING_REVISION=hello-00001"}
		var stderr syncbuf.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		m, err := stderr.Await(ctx, queueServing)
		cancel()
		var resp *http.Response
		if err == nil {
			resp, err = http.Get("http://" + m[1] + "/")
		}
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("args %q: through the sidecar: %v\n%s", args, err, stderr.String())
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hi" {
			t.Errorf("args %q: through the sidecar: %d %q", args, resp.StatusCode, b)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("args %q: after SIGTERM: %v\n%s", args, err, stderr.String())
		}
		if !strings.Contains(stderr.String(), `"revision":"hello-00001"`) {
			t.Errorf("args %q: no start-up log line naming the revision:\n%s", args, stderr.String())
		}
	}
}

// queueServing finds the queue-proxy's HTTP address in its log.
var queueServing = regexp.MustCompile(`"msg":"queue-proxy serving".*"http":"([^"]+)"`)
