package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ebb-dev/ebb/proxy/probe"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/timeout"
)

func TestQueueConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"QUEUE_SERVING_PORT":                      "8013",
		"USER_PORT":                               "8801",
		"CONTAINER_CONCURRENCY":                   "10",
		"REVISION_TIMEOUT_SECONDS":                "600",
		"REVISION_RESPONSE_START_TIMEOUT_SECONDS": "20",
		"REVISION_IDLE_TIMEOUT_SECONDS":           "5",
		"SERVING_READINESS_PROBE":                 `{"tcpSocket":{"port":8801,"host":"127.0.0.1"},"successThreshold":1}`,
		"SERVING_NAMESPACE":                       "default",
		"SERVING_SERVICE":                         "hello",
		"SERVING_CONFIGURATION":                   "hello",
		"SERVING_REVISION":                        "hello-00001",
		"SERVING_POD":                             "hello-00001-deployment-abc",
		"ENABLE_HTTP_FULL_DUPLEX":                 "true",
	}
	cfg, ports, err := queueConfig(func(k string) string { return env[k] }, []string{"--drain-quiet-period", "2s"})
	if err != nil {
		t.Fatal(err)
	}
	want := queue.Config{
		Namespace: "default", Service: "hello", Configuration: "hello", Revision: "hello-00001", Pod: "hello-00001-deployment-abc",
		UserAddr: "127.0.0.1:8801", ContainerConcurrency: 10, FullDuplex: true,
		Timeouts:         timeout.Limits{Total: 600 * time.Second, ResponseStart: 20 * time.Second, Idle: 5 * time.Second},
		Readiness:        []probe.Probe{{TCPSocket: &probe.TCPSocketAction{Port: probe.Port{Number: 8801}, Host: "127.0.0.1"}, SuccessThreshold: 1}},
		DrainQuietPeriod: 2 * time.Second,
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreFields(queue.Config{}, "Logger")); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(queuePorts{http: 8013, h2c: -1, admin: 8022, stats: 9090, metrics: 9091}, ports, cmp.AllowUnexported(queuePorts{})); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}

func TestQueueConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
	}{
		{map[string]string{"CONTAINER_CONCURRENCY": "lots"}, nil},
		{map[string]string{"USER_PORT": "-3"}, nil},
		{map[string]string{"SERVING_READINESS_PROBE": "{"}, nil},
		{nil, []string{"--nope"}},
		{nil, []string{"extra"}},
	} {
		if _, _, err := queueConfig(func(k string) string { return tc.env[k] }, tc.args); err == nil {
			t.Errorf("queueConfig(%v, %v) = nil error", tc.env, tc.args)
		}
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
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"queue", "--host", "127.0.0.1", "--http-port", strconv.Itoa(port), "--h2c-port", "-1",
			"--admin-port", "-1", "--stats-port", "-1", "--metrics-port", "-1", "--drain-quiet-period", "10ms"},
			&env{stdout: io.Discard, stderr: &lockedWriter{w: &stderr}, getenv: func(k string) string { return envVars[k] }})
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
