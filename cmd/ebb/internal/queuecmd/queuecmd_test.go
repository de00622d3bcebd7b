package queuecmd

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/proxy/probe"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/timeout"
)

func TestConfigFromEnv(t *testing.T) {
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
	cfg, ports, err := Config(func(k string) string { return env[k] }, []string{"--drain-quiet-period", "2s"})
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
	if diff := cmp.Diff(Ports{HTTP: 8013, H2C: -1, Admin: 8022, Stats: 9090, Metrics: 9091}, ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}

func TestConfigDefaultsAndFlags(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		wantPorts Ports
		wantCC    int
		wantUser  string
		wantTotal time.Duration
	}{
		{"defaults", nil, Ports{HTTP: 8012, H2C: 8013, Admin: 8022, Stats: 9090, Metrics: 9091}, 0, "127.0.0.1:8080", 300 * time.Second},
		{"flags override", []string{"--host", "127.0.0.1", "--http-port", "9000", "--h2c-port", "-1", "--admin-port", "-1",
			"--stats-port", "9001", "--metrics-port", "-1", "--user-port", "7000", "--container-concurrency", "3", "--timeout-seconds", "7"},
			Ports{Host: "127.0.0.1", HTTP: 9000, H2C: -1, Admin: -1, Stats: 9001, Metrics: -1}, 3, "127.0.0.1:7000", 7 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ports, err := Config(func(string) string { return "" }, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantPorts, ports); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
			got := []any{cfg.ContainerConcurrency, cfg.UserAddr, cfg.Timeouts.Total, cfg.DrainQuietPeriod}
			want := []any{tc.wantCC, tc.wantUser, tc.wantTotal, queue.DefaultDrainQuietPeriod}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CC, user, timeout, drain (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"CONTAINER_CONCURRENCY": "lots"}, nil, `env CONTAINER_CONCURRENCY="lots": want a non-negative integer`},
		{map[string]string{"USER_PORT": "-3"}, nil, `env USER_PORT="-3": want a non-negative integer`},
		{map[string]string{"USER_PORT": "70000"}, nil, "user port 70000 out of range"},
		{map[string]string{"SERVING_READINESS_PROBE": "{"}, nil, "env SERVING_READINESS_PROBE: "},
		{nil, []string{"--nope"}, "ebb queue: flag provided but not defined: -nope"},
		{nil, []string{"extra"}, `ebb queue: unexpected argument "extra"`},
	} {
		_, _, err := Config(func(k string) string { return tc.env[k] }, tc.args)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Config(%v, %v) = %v, want an error starting %q", tc.env, tc.args, err, tc.want)
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"help", nil, []string{"-h"}, ExitOK},
		{"bad env", map[string]string{"CONTAINER_CONCURRENCY": "x"}, nil, ExitUsage},
		{"bad flag", nil, []string{"--nope"}, ExitUsage},
		{"port in use", nil, []string{"--host", "127.0.0.1", "--http-port", busyPort, "--h2c-port", "-1", "--admin-port", "-1",
			"--stats-port", "-1", "--metrics-port", "-1"}, ExitInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr syncbuf.Buffer
			got := Run(context.Background(), &stderr, func(k string) string { return tc.env[k] }, tc.args)
			if got != tc.want {
				t.Errorf("exit code %d, want %d\n%s", got, tc.want, stderr.String())
			}
		})
	}
}

// TestRun runs the queue-proxy in front of a real server, reads its stats
// port, and stops it the way a kubelet does.
func TestRun(t *testing.T) {
	ul, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	user := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi "+r.Host) })}
	go user.Serve(ul)
	defer user.Close()
	// The listeners are handed over, bound: the queue-proxy answers on
	// them from the start, with no port to find free or wait for.
	l := queue.Listeners{HTTP: listen(t), Stats: listen(t)}
	addr, stats := l.HTTP.Addr().String(), l.Stats.Addr().String()
	env := map[string]string{"USER_PORT": strconv.Itoa(ul.Addr().(*net.TCPAddr).Port), "CONTAINER_CONCURRENCY": "2",
		"SERVING_POD": "hello-pod", "SERVING_LOGGING_LEVEL": "error"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &stderr, func(k string) string { return env[k] }, []string{"--host", "127.0.0.1",
			"--h2c-port", "-1", "--admin-port", "-1", "--metrics-port", "-1", "--drain-quiet-period", "10ms"}, l)
	}()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("through the queue-proxy: %v\n%s", err, stderr.String())
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hi "+addr {
		t.Errorf("through the queue-proxy: %d %q", resp.StatusCode, b)
	}
	resp, err = http.Get("http://" + stats + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"podName":"hello-pod"`) {
		t.Errorf("stats: %d %s", resp.StatusCode, b)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("exit code %d\n%s", code, stderr.String())
	}
	if s := stderr.String(); s != "" {
		t.Errorf("at level error the queue-proxy logged:\n%s", s)
	}
}

// listen returns a listener on a free loopback port, closed when the test
// ends.
func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
