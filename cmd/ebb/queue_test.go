package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/cmd/ebb/internal/queuecmd"
	"github.com/ebb-dev/ebb/internal/syncbuf"
)

// The exit codes of `ebb queue` are every subcommand's.
func TestQueueExitCodes(t *testing.T) {
	got := []int{queuecmd.ExitOK, queuecmd.ExitInvalid, queuecmd.ExitUsage}
	if diff := cmp.Diff([]int{exitOK, exitInvalid, exitUsage}, got); diff != "" {
		t.Errorf("queuecmd exit codes (-want +got):\n%s", diff)
	}
}

// The log lines that say where a command listens, which it binds itself
// on port 0: no port is probed free and let go of for it to take.
var (
	queueServing   = regexp.MustCompile(`"msg":"queue-proxy serving".*"http":"([^"]+)"`)
	gatewayServing = regexp.MustCompile(`"msg":"gateway serving","addr":"([^"]+)"`)
)

// servingAddr returns the address re's first group finds in out, waiting
// up to a minute for the command to print it.
func servingAddr(t *testing.T, out *syncbuf.Buffer, re *regexp.Regexp) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	m, err := out.Await(ctx, re)
	if err != nil {
		t.Fatalf("%v; the output:\n%s", err, out.String())
	}
	return m[1]
}

// TestRunQueue runs `ebb queue` in front of a real server and stops it the
// way a kubelet does.
func TestRunQueue(t *testing.T) {
	ul, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	user := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi "+r.Host) })}
	go user.Serve(ul)
	defer user.Close()
	envVars := map[string]string{"USER_PORT": strconv.Itoa(ul.Addr().(*net.TCPAddr).Port), "CONTAINER_CONCURRENCY": "2"}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"queue", "--host", "127.0.0.1", "--http-port", "0", "--h2c-port", "-1",
			"--admin-port", "-1", "--stats-port", "-1", "--metrics-port", "-1", "--drain-quiet-period", "10ms"},
			&env{stdout: io.Discard, stderr: &stderr, getenv: func(k string) string { return envVars[k] }})
	}()
	addr := servingAddr(t, &stderr, queueServing)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("through ebb queue: %v\n%s", err, stderr.String())
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hi "+addr {
		t.Errorf("through ebb queue: %d %q", resp.StatusCode, b)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit code %d\n%s", code, stderr.String())
	}
}
