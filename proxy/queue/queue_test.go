package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/proxy/internal/testenv"
	"github.com/ebb-dev/ebb/proxy/probe"
	"github.com/ebb-dev/ebb/proxy/timeout"
	"github.com/ebb-dev/ebb/scaler/metric"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type running struct {
	s       *Server
	base    string // main port
	admin   string
	stats   string
	metrics string
	cancel  context.CancelFunc
	done    chan error
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	if cfg.UserAddr == "" {
		cfg.UserAddr = testenv.StartApp(t)
	}
	if cfg.DrainQuietPeriod == 0 {
		cfg.DrainQuietPeriod = 50 * time.Millisecond
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := Listeners{HTTP: testenv.Listen(t), Admin: testenv.Listen(t), Stats: testenv.Listen(t), Metrics: testenv.Listen(t)}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, done: make(chan error, 1),
		base: "http://" + l.HTTP.Addr().String(), admin: "http://" + l.Admin.Addr().String(),
		stats: "http://" + l.Stats.Addr().String(), metrics: "http://" + l.Metrics.Addr().String()}
	go func() { r.done <- s.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func get(t *testing.T, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNeverMoreThanCC(t *testing.T) {
	for _, cc := range []int{1, 10} {
		t.Run(fmt.Sprint("cc=", cc), func(t *testing.T) {
			r := start(t, Config{ContainerConcurrency: cc})
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[string]int{}
			for range 200 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 3 {
						resp, err := http.Get(r.base + "/sleep?ms=5")
						if err != nil {
							t.Error(err)
							return
						}
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						mu.Lock()
						codes[fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			for k := range codes {
				if k != "200 slept" && k != "503 pending request queue full" {
					t.Errorf("unexpected response %q (all: %v)", k, codes)
				}
			}
			if codes["200 slept"] == 0 {
				t.Errorf("no request succeeded: %v", codes)
			}
			_, body := get(t, r.base+"/peak", nil)
			if peak, err := strconv.Atoi(body); err != nil || peak < 1 || peak > cc {
				t.Errorf("the app saw %s requests at once, want 1..%d", body, cc)
			}
		})
	}
}

// TestSingleConcurrency is Knative's conformance test: CC=1 with 5
// concurrent clients, every request is answered 200 (queued, not
// rejected) and the app never sees two at once.
func TestSingleConcurrency(t *testing.T) {
	r := start(t, Config{ContainerConcurrency: 1})
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				code, body := get(t, r.base+"/sleep?ms=2", nil)
				if code != 200 || body != "slept" {
					t.Errorf("got %d %q, want 200 slept", code, body)
				}
			}
		}()
	}
	wg.Wait()
	if _, peak := get(t, r.base+"/peak", nil); peak != "1" {
		t.Errorf("the app saw %s requests at once, want 1", peak)
	}
}

func TestOverflowIsRejectedAtOnce(t *testing.T) {
	r := start(t, Config{ContainerConcurrency: 1, QueueDepth: 2})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/sleep?ms=600000", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		// Wait (bounded) until the request holds a place.
		for n := 0; r.s.breaker.Pending() < i+1; n++ {
			if n > 5000 {
				t.Fatalf("request %d never reached the breaker", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	code, body := get(t, r.base+"/sleep?ms=1", nil)
	if code != http.StatusServiceUnavailable || strings.TrimSpace(body) != "pending request queue full" {
		t.Errorf("overflow = %d %q, want 503 pending request queue full", code, body)
	}
	// The fields are http.Error's.
	resp, err := http.Get(r.base + "/sleep?ms=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct, ns := resp.Header.Get("Content-Type"), resp.Header.Get("X-Content-Type-Options"); ct != "text/plain; charset=utf-8" || ns != "nosniff" {
		t.Errorf("overflow fields Content-Type %q, X-Content-Type-Options %q; want http.Error's", ct, ns)
	}
	cancel()
	wg.Wait()
}

func TestTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limits   timeout.Limits
		path     string
		wantCode int
		wantBody string // prefix
		cut      bool
	}{
		{"total before first byte", timeout.Limits{Total: 200 * time.Millisecond}, "/sleep?ms=5000", 504, "request timeout", false},
		{"total within", timeout.Limits{Total: 5 * time.Second}, "/sleep?ms=1", 200, "slept", false},
		{"total cuts a stream", timeout.Limits{Total: 300 * time.Millisecond}, "/stream?n=1000&every=20", 200, "line 0\n", true},
		{"response start", timeout.Limits{Total: 10 * time.Second, ResponseStart: 200 * time.Millisecond}, "/stream?first=5000&n=1", 504, "request timeout", false},
		{"response start met", timeout.Limits{Total: 10 * time.Second, ResponseStart: 2 * time.Second}, "/stream?n=3&every=1", 200, "line 0\nline 1\nline 2\n", false},
		{"idle before first byte", timeout.Limits{Total: 10 * time.Second, Idle: 200 * time.Millisecond}, "/stream?first=5000&n=1", 504, "request timeout", false},
		{"idle cuts a stream", timeout.Limits{Total: 10 * time.Second, Idle: 200 * time.Millisecond}, "/stream?n=3&every=5000", 200, "line 0\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, Config{Timeouts: tc.limits})
			resp, err := http.Get(r.base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || !strings.HasPrefix(string(b), tc.wantBody) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, b, tc.wantCode, tc.wantBody)
			}
			if tc.cut && rerr == nil {
				t.Errorf("stream ended cleanly after %q; want it cut", b)
			}
			if !tc.cut && rerr != nil {
				t.Errorf("read body: %v", rerr)
			}
		})
	}
}

func TestProbes(t *testing.T) {
	r := start(t, Config{})
	for _, tc := range []struct {
		hdr      map[string]string
		wantCode int
		wantBody string
	}{
		{map[string]string{"K-Network-Probe": "queue"}, 200, "queue"},
		{map[string]string{"K-Network-Probe": "queue", "User-Agent": "Knative-Activator-Probe"}, 200, "queue"},
		{map[string]string{"K-Network-Probe": "bogus"}, 400, "unexpected probe header value: bogus\n"},
		{map[string]string{"User-Agent": "kube-probe/1.34"}, 400, "unexpected probe header value: \n"},
		{map[string]string{"K-Network-Probe": "probe", "K-Network-Hash": "abc"}, 200, "abc"},
	} {
		code, body := get(t, r.base+"/", tc.hdr)
		if code != tc.wantCode || body != tc.wantBody {
			t.Errorf("probe %v = %d %q, want %d %q", tc.hdr, code, body, tc.wantCode, tc.wantBody)
		}
	}
}

func TestReady(t *testing.T) {
	r := start(t, Config{})
	if !r.s.Ready(context.Background()) {
		t.Error("Ready = false with the app running")
	}
	l := testenv.Listen(t)
	addr := l.Addr().String()
	l.Close()
	down, err := New(Config{UserAddr: addr, Readiness: []probe.Probe{{TCPSocket: &probe.TCPSocketAction{}, PeriodSeconds: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if down.Ready(context.Background()) {
		t.Error("Ready = true with nothing listening")
	}
}

func TestProbeFailsWhenUserContainerIsDown(t *testing.T) {
	l := testenv.Listen(t)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	// periodSeconds 1: one attempt, not the 10 s aggressive loop.
	r := start(t, Config{UserAddr: addr, Readiness: []probe.Probe{{TCPSocket: &probe.TCPSocketAction{}, PeriodSeconds: 1}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/", nil)
	req.Header.Set("K-Network-Probe", "queue")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("probe of a dead container = %d, want 503", resp.StatusCode)
	}
}

func TestHeadersToUserContainer(t *testing.T) {
	r := start(t, Config{})
	code, body := get(t, r.base+"/echo", map[string]string{
		"Host":                      "hello.default.svc",
		"K-Original-Host":           "hello.example.com",
		"Knative-Serving-Revision":  "hello-00001",
		"Knative-Serving-Namespace": "default",
		"K-Proxy-Request":           "activator",
		"X-Custom":                  "kept",
	})
	if code != 200 {
		t.Fatalf("echo = %d %s", code, body)
	}
	var got struct {
		Proto  string
		Host   string
		Header http.Header
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Host != "hello.example.com" {
		t.Errorf("Host = %q, want the K-Original-Host", got.Host)
	}
	for _, h := range []string{"Knative-Serving-Revision", "Knative-Serving-Namespace", "K-Original-Host", "K-Proxy-Request"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("%s reached the app: %q", h, v)
		}
	}
	if got.Header.Get("X-Custom") != "kept" {
		t.Errorf("X-Custom lost: %v", got.Header)
	}
	if f := got.Header.Get("Forwarded"); !strings.HasPrefix(f, "for=127.0.0.1") {
		t.Errorf("Forwarded = %q, want for=127.0.0.1…", f)
	}
	if got.Proto != "HTTP/1.1" {
		t.Errorf("proto = %q", got.Proto)
	}
}

func TestDrainFinishesInFlight(t *testing.T) {
	r := start(t, Config{DrainQuietPeriod: 200 * time.Millisecond})
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get(r.base + "/sleep?ms=1500")
		if err != nil {
			result <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- fmt.Sprint(resp.StatusCode, " ", string(b))
	}()
	for n := 0; r.s.tracker.InFlight() == 0; n++ {
		if n > 5000 {
			t.Fatal("request never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	drained := make(chan int, 1)
	go func() {
		code, _ := get(t, r.admin+"/wait-for-drain", nil)
		drained <- code
	}()
	r.cancel()
	// Probes fail once draining has started.
	code, body := get(t, r.base+"/", map[string]string{"K-Network-Probe": "queue"})
	for n := 0; code == 200 && n < 1000; n++ {
		time.Sleep(time.Millisecond)
		code, body = get(t, r.base+"/", map[string]string{"K-Network-Probe": "queue"})
	}
	if code != 503 || strings.TrimSpace(body) != "shutting down" {
		t.Errorf("probe while draining = %d %q, want 503 shutting down", code, body)
	}
	if got := <-result; got != "200 slept" {
		t.Errorf("in-flight request = %q, want 200 slept", got)
	}
	if err := <-r.done; err != nil {
		t.Errorf("Serve = %v", err)
	}
	r.done <- nil // for the cleanup
	if code := <-drained; code != 200 {
		t.Errorf("/wait-for-drain = %d", code)
	}
}

func TestStatsAndMetrics(t *testing.T) {
	r := start(t, Config{Namespace: "ns", Service: "svc", Configuration: "svc", Revision: "svc-00001", Pod: "pod-1", ContainerConcurrency: 5})
	for range 3 {
		get(t, r.base+"/sleep?ms=1", map[string]string{"K-Proxy-Request": "activator"})
	}
	code, body := get(t, r.stats+metric.StatPath, nil)
	var st metric.Stat
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
		t.Fatalf("stats = %d %q: %v", code, body, err)
	}
	if st.PodName != "pod-1" || st.ProcessUptime <= 0 {
		t.Errorf("stat = %+v", st)
	}
	_, prom := get(t, r.metrics+"/metrics", nil)
	for _, want := range []string{
		`revision_request_count{configuration_name="svc",container_name="queue-proxy",namespace_name="ns",pod_name="pod-1",response_code="200",response_code_class="2xx",revision_name="svc-00001",service_name="svc"} 3`,
		`revision_request_latencies_bucket{`,
		`revision_queue_depth{`,
	} {
		if !strings.Contains(prom, want) {
			t.Errorf("metrics lack %q:\n%s", want, prom)
		}
	}
}

// TestLeanPathSendsWhatTheReverseProxySends: a GET (transport.Forward)
// and a POST with a body (httputil.ReverseProxy) carrying the same fields
// reach the user container with the same Host and fields.
func TestLeanPathSendsWhatTheReverseProxySends(t *testing.T) {
	r := start(t, Config{})
	type seen struct {
		Host   string
		Header http.Header
	}
	send := func(method string, body io.Reader) seen {
		t.Helper()
		req, err := http.NewRequest(method, r.base+"/echo?a=1&b=%zz", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "hello.default.svc"
		for k, v := range map[string]string{
			"K-Original-Host": "hello.example.com", "Knative-Serving-Revision": "hello-00001",
			"K-Proxy-Request": "activator", "X-Custom": "kept", "Connection": "X-Hop", "X-Hop": "dropped",
			"X-Forwarded-For": "10.0.0.9", "X-Forwarded-Proto": "https", "Forwarded": "for=evil",
			"User-Agent": "test-client", "Te": "trailers",
		} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got seen
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		got.Header.Del("Content-Length")
		return got
	}
	lean := send(http.MethodGet, nil)
	proxied := send(http.MethodPost, strings.NewReader("x"))
	if diff := cmp.Diff(proxied, lean); diff != "" {
		t.Errorf("at the user container (-reverse proxy +lean path):\n%s", diff)
	}
	if lean.Host != "hello.example.com" || lean.Header.Get("X-Custom") != "kept" || lean.Header.Get("Te") != "trailers" {
		t.Errorf("lean path: Host %q, fields %v; want the K-Original-Host, X-Custom and Te: trailers", lean.Host, lean.Header)
	}
	if lean.Header.Get("X-Hop") != "" || lean.Header.Get("Forwarded") == "for=evil" {
		t.Errorf("hop-by-hop or client Forwarded field reached the app: %v", lean.Header)
	}
}
