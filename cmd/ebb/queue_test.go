package main

import (
	"context"
	"io"
	"net"
	"net/http"
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

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
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
	port := freePort(t)
	envVars := map[string]string{"USER_PORT": strconv.Itoa(ul.Addr().(*net.TCPAddr).Port), "CONTAINER_CONCURRENCY": "2"}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"queue", "--host", "127.0.0.1", "--http-port", strconv.Itoa(port), "--h2c-port", "-1",
			"--admin-port", "-1", "--stats-port", "-1", "--metrics-port", "-1", "--drain-quiet-period", "10ms"},
			&env{stdout: io.Discard, stderr: &stderr, getenv: func(k string) string { return envVars[k] }})
	}()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	var resp *http.Response
	for n := 0; ; n++ {
		if resp, err = http.Get(url); err == nil {
			break
		}
		if n > 2000 {
			t.Fatalf("ebb queue never listened: %v\n%s", err, stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hi 127.0.0.1:"+strconv.Itoa(port) {
		t.Errorf("through ebb queue: %d %q", resp.StatusCode, b)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit code %d\n%s", code, stderr.String())
	}
}
