package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ebb-dev/ebb/examples/grpc/greeter"
	"github.com/ebb-dev/ebb/examples/websocket/echo"
	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// protocolExamples are the examples whose protocol every hop must carry:
// gRPC (HTTP/2 without TLS) and WebSocket (an upgraded HTTP/1.1
// connection). connect returns a call of the example's own client through
// the gateway at addr, nil when the app answered in full.
var protocolExamples = []struct {
	name    string
	connect func(t *testing.T, addr string) func(context.Context) error
}{
	{"grpc", connectGreeter},
	{"websocket", connectEcho},
}

// connectGreeter opens one gRPC client connection to the gateway, kept
// for every call (and across a scale to zero), as a gRPC client does.
func connectGreeter(t *testing.T, addr string) func(context.Context) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithAuthority("grpc.default.svc.cluster.local"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := greeter.NewClient(conn)
	return func(ctx context.Context) error {
		got, err := c.CallAll(ctx, "ebb")
		if err != nil {
			return err
		}
		if d := cmp.Diff([]string{"Hello ebb!", "Count: 1 2 3", "Echo: one two three"}, got); d != "" {
			return fmt.Errorf("gRPC answers (-want +got):\n%s", d)
		}
		return nil
	}
}

// connectEcho opens a new WebSocket for every call.
func connectEcho(_ *testing.T, addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		msgs := []string{"one", "two", "three"}
		got, err := echo.Call(ctx, addr, "websocket.default.svc.cluster.local", msgs)
		if err != nil {
			return err
		}
		if d := cmp.Diff(msgs, got); d != "" {
			return fmt.Errorf("WebSocket echoes (-want +got):\n%s", d)
		}
		return nil
	}
}

// callWithin makes one call, bounded by limit.
func callWithin(call func(context.Context) error, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return call(ctx)
}

// TestUpProtocols: a grpc-go client and a WebSocket client reach their
// example through `ebb up`'s gateway, warm (the revision's pod running)
// and from zero (the first call after a scale to zero, held by the
// activator until a pod is ready).
func TestUpProtocols(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	for _, ex := range protocolExamples {
		t.Run(ex.name, func(t *testing.T) {
			u := startUp(t, copyExample(t, ex.name, map[string]string{"config-autoscaler.yaml": fastScaleToZero}))
			call := ex.connect(t, u.gateway)
			// The first calls wait for the app to build and start.
			eventually(t, "a first answer", 2*time.Minute, func() string {
				if err := callWithin(call, time.Minute); err != nil {
					return err.Error()
				}
				return ""
			})
			for i := range 3 {
				if err := callWithin(call, time.Minute); err != nil {
					t.Fatalf("warm call %d: %v", i, err)
				}
			}
			u.waitScaledToZero(t)
			if err := callWithin(call, 2*time.Minute); err != nil {
				t.Fatalf("from zero: %v", err)
			}
			if err := callWithin(call, time.Minute); err != nil {
				t.Fatalf("warm again: %v", err)
			}
		})
	}
}

// waitScaledToZero waits until every revision has scaled to zero and no
// app process is left.
func (u *upProcess) waitScaledToZero(t *testing.T) {
	t.Helper()
	eventually(t, "scale to zero", 2*time.Minute, func() string {
		for name, r := range u.revisions(t) {
			if r.Actual != 0 || r.Desired != 0 {
				return fmt.Sprintf("%s at %d/%d", name, r.Desired, r.Actual)
			}
		}
		if p := appProcesses(u); len(p) != 0 {
			return fmt.Sprintf("app processes %v", p)
		}
		return ""
	})
}

// TestGatewayProtocols: the same clients through `ebb gateway` serving
// the example's rendered route table, with the example's app behind an
// `ebb queue` (each a process of its own, as in a pod): from zero, the
// gateway's activator holds the first call until the pod starts; then warm
// through the activator (--mode proxy) and straight to the pod (--mode
// serve).
func TestGatewayProtocols(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb gateway")
	}
	for _, ex := range protocolExamples {
		t.Run(ex.name, func(t *testing.T) {
			dir := t.TempDir()
			pod := renderExample(t, ex.name, dir)
			app := filepath.Join(dir, "app")
			build := exec.Command("go", "build", "-o", app, "./examples/"+ex.name+"/app")
			build.Dir = repoRoot
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("build the %s app: %v\n%s", ex.name, err, out)
			}

			// The autoscaler the activator reports to: the first stat of
			// the revision says a request is held.
			held := make(chan struct{}, 1)
			sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var msgs []metric.Message
				if r.URL.Path == metric.PushPath && json.NewDecoder(r.Body).Decode(&msgs) == nil {
					for _, m := range msgs {
						if m.Revision == pod.revision && m.Stat.AverageConcurrentRequests > 0 {
							select {
							case held <- struct{}{}:
							default:
							}
						}
					}
				}
			}))
			defer sink.Close()

			queuePort, releaseQueue := heldPort(t)
			appPort, releaseApp := heldPort(t)
			backend := "--backend=" + pod.namespace + "/" + pod.revision + "=127.0.0.1:" + strconv.Itoa(queuePort)
			out := startProcess(t, "ebb gateway --mode proxy", nil, ebbBin, "gateway", "--listen", "127.0.0.1:0", "--routes", pod.routes,
				"--mode", "proxy", "--drain", "0s", "--autoscaler", sink.URL, backend)
			proxyGW := servingAddr(t, out)
			call := ex.connect(t, proxyGW)

			fromZero := make(chan error, 1)
			go func() { fromZero <- callWithin(call, 2*time.Minute) }()
			select {
			case <-held:
			case err := <-fromZero:
				t.Fatalf("the call from zero ended before a pod ran: %v", err)
			case <-time.After(time.Minute):
				t.Fatal("the activator reported no held request within a minute")
			}
			releaseQueue()
			startProcess(t, "ebb queue", pod.queueEnv(appPort), ebbBin, "queue", "--host", "127.0.0.1",
				"--http-port", strconv.Itoa(queuePort), "--h2c-port", "-1", "--admin-port", "-1", "--stats-port", "-1",
				"--metrics-port", "-1", "--drain-quiet-period", "10ms")
			releaseApp()
			startProcess(t, ex.name+" app", pod.appEnv(appPort), app)
			if err := <-fromZero; err != nil {
				t.Fatalf("from zero: %v", err)
			}
			if err := callWithin(call, time.Minute); err != nil {
				t.Fatalf("warm, through the activator: %v", err)
			}

			out = startProcess(t, "ebb gateway --mode serve", nil, ebbBin, "gateway", "--listen", "127.0.0.1:0", "--routes", pod.routes,
				"--mode", "serve", "--drain", "0s", backend)
			serveGW := servingAddr(t, out)
			if err := callWithin(ex.connect(t, serveGW), time.Minute); err != nil {
				t.Fatalf("warm, straight to the pod: %v", err)
			}
		})
	}
}

// renderedPod is what `ebb render` makes of an example with one revision:
// its route table (written to a file) and its pod's environment.
type renderedPod struct {
	namespace, revision string
	routes              string                       // the route table file
	env                 map[string]map[string]string // container name → env
}

// renderExample renders examples/<name> with the ebb binary into dir.
func renderExample(t *testing.T, name, dir string) renderedPod {
	t.Helper()
	out, err := exec.Command(ebbBin, "render", filepath.Join(repoRoot, "examples", name), "-o", "json").Output()
	if err != nil {
		t.Fatalf("ebb render: %v", err)
	}
	var list struct {
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Data map[string]string `json:"data"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Name string `json:"name"`
							Env  []struct{ Name, Value string }
						} `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	p := renderedPod{routes: filepath.Join(dir, "routes.json"), env: map[string]map[string]string{}}
	for _, it := range list.Items {
		switch {
		case it.Kind == "ConfigMap" && it.Metadata.Labels[route.LabelKey] == route.LabelValue:
			var tab route.Table
			if err := json.Unmarshal([]byte(it.Data[route.DataKey]), &tab); err != nil || len(tab.Revisions) != 1 {
				t.Fatalf("route table of %s: %v, %d revisions", name, err, len(tab.Revisions))
			}
			p.namespace, p.revision = tab.Revisions[0].Namespace, tab.Revisions[0].Name
			if err := os.WriteFile(p.routes, []byte(it.Data[route.DataKey]), 0o644); err != nil {
				t.Fatal(err)
			}
		case it.Kind == "Deployment":
			for _, c := range it.Spec.Template.Spec.Containers {
				p.env[c.Name] = map[string]string{}
				for _, e := range c.Env {
					p.env[c.Name][e.Name] = e.Value
				}
			}
		}
	}
	if p.revision == "" || p.env["user-container"] == nil || p.env["queue-proxy"] == nil {
		t.Fatalf("ebb render %s: no route table, or no user-container and queue-proxy", name)
	}
	return p
}

// appEnv is the user container's rendered environment, on appPort.
func (p renderedPod) appEnv(appPort int) []string {
	return environ(p.env["user-container"], map[string]string{"PORT": strconv.Itoa(appPort)})
}

// queueEnv is the queue-proxy's rendered environment, in front of the
// app on appPort; its readiness probe, rendered for the container's port,
// is the default one: a TCP connection to the app.
func (p renderedPod) queueEnv(appPort int) []string {
	return environ(p.env["queue-proxy"], map[string]string{"USER_PORT": strconv.Itoa(appPort), "SERVING_READINESS_PROBE": ""})
}

func environ(env, override map[string]string) []string {
	var out []string
	for k, v := range env {
		if o, ok := override[k]; ok {
			v = o
		}
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	for k, v := range override {
		if _, ok := env[k]; !ok && v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// startProcess runs bin with args and env (nil: this process's) until
// the test ends, then stops it with SIGTERM (SIGKILL after 30 s); its
// output is logged if the test failed.
func startProcess(t *testing.T, what string, env []string, bin string, args ...string) *syncbuf.Buffer {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", what, out.String())
		}
	})
	return &out
}

// gatewayServing finds the address `ebb gateway` bound in its log.
var gatewayServing = regexp.MustCompile(`"msg":"gateway serving","addr":"([^"]+)"`)

// servingAddr returns the address a gateway started on port 0 logs.
func servingAddr(t *testing.T, out *syncbuf.Buffer) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	m, err := out.Await(ctx, gatewayServing)
	if err != nil {
		t.Fatalf("%v; the output:\n%s", err, out.String())
	}
	return m[1]
}

// heldPort returns a free loopback port, held by a listener until release
// is called (or the test ends). It is for a process that binds its port
// itself and whose port must be known before it starts: the gateway names
// the queue-proxy as its backend before the queue-proxy runs, and the app
// binds PORT as a user container does; neither takes a listener handed
// over. Release it just before starting the process: only that moment is
// open to another bind.
func heldPort(t *testing.T) (int, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := sync.OnceFunc(func() { l.Close() })
	t.Cleanup(release)
	return l.Addr().(*net.TCPAddr).Port, release
}
