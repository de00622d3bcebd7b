package gateway

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/proxy/activator"
	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/internal/testenv"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/proxy/transport"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// stack is a gateway with an in-process activator on a real listener.
type stack struct {
	g        *Gateway
	act      *activator.Activator
	backends *backend.Static
	addr     string
}

func startStack(t *testing.T, tab route.Table, mode route.Mode) *stack {
	t.Helper()
	s := &stack{backends: backend.NewStatic()}
	var err error
	var gw *Gateway
	revs := revisionsFunc(func(ns, name string) (route.Revision, bool) { return gw.Revision(ns, name) })
	s.act, err = activator.New(activator.Config{Backends: s.backends, Revisions: revs, ProbePeriod: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	gw, err = New(Config{Backends: s.backends, Activator: s.act, DefaultMode: mode})
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	s.g = gw
	l := testenv.Listen(t)
	srv := &http.Server{Handler: gw, Protocols: transport.ServerProtocols()}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); s.act.Close() })
	s.addr = l.Addr().String()
	return s
}

type revisionsFunc func(ns, name string) (route.Revision, bool)

func (f revisionsFunc) Revision(ns, name string) (route.Revision, bool) { return f(ns, name) }

func startQueue(t *testing.T, name string) string {
	t.Helper()
	app := testenv.StartApp(t, "-name", name)
	q, err := queue.New(queue.Config{UserAddr: app, DrainQuietPeriod: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := testenv.Listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Serve(ctx, queue.Listeners{HTTP: l}); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return l.Addr().String()
}

func do(t *testing.T, c *http.Client, url, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		t.Errorf("GET %s (host %s): %v", url, host, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestUnknownHostAndHealth(t *testing.T) {
	s := startStack(t, helloTable(), route.Proxy)
	code, body := do(t, http.DefaultClient, "http://"+s.addr+"/", "other.example.com")
	if code != 404 || strings.TrimSpace(body) != `no route for host "other.example.com"` {
		t.Errorf("unknown host = %d %q", code, body)
	}
	code, body = do(t, http.DefaultClient, "http://"+s.addr+"/healthz", "other.example.com")
	if code != 200 || body != "ok" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	s.g.Drain()
	code, body = do(t, http.DefaultClient, "http://"+s.addr+"/healthz", "other.example.com")
	if code != 503 || strings.TrimSpace(body) != "shutting down" {
		t.Errorf("/healthz while draining = %d %q", code, body)
	}
}

func TestHeldThenServedThroughTheWholePath(t *testing.T) {
	s := startStack(t, helloTable(), route.Proxy)
	type result struct {
		code int
		body string
	}
	res := make(chan result, 1)
	go func() {
		c, b := do(t, http.DefaultClient, "http://"+s.addr+"/echo", "Canary-Hello.Default.Example.com:80")
		res <- result{c, b}
	}()
	// The request is held: no pod exists yet. Bounded wait until the
	// activator holds it, then a pod appears.
	select {
	case r := <-res:
		t.Fatalf("answered before a pod existed: %d %s", r.code, r.body)
	case <-time.After(50 * time.Millisecond):
	}
	s.backends.Set("default", "hello-00002", []string{startQueue(t, "pod-a")})
	r := <-res
	if r.code != 200 {
		t.Fatalf("held request = %d %s", r.code, r.body)
	}
	var got struct {
		Proto  string
		Host   string
		Header http.Header
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Host != "Canary-Hello.Default.Example.com:80" {
		t.Errorf("app saw Host %q, want the client's", got.Host)
	}
	for _, h := range []string{"Knative-Serving-Revision", "Knative-Serving-Namespace", "K-Original-Host", "K-Proxy-Request", "Knative-Serving-Default-Route"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("%s reached the app: %q", h, v)
		}
	}
	if f := got.Header.Get("Forwarded"); !strings.HasPrefix(f, "for=127.0.0.1") {
		t.Errorf("Forwarded = %q", f)
	}
}

func TestWebSocketThroughTheWholePath(t *testing.T) {
	s := startStack(t, helloTable(), route.Proxy)
	s.backends.Set("default", "hello-00002", []string{startQueue(t, "pod-a")})
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: canary-hello.default.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(h[:]) {
		t.Fatalf("upgrade = %d %v", resp.StatusCode, resp.Header)
	}
	for _, msg := range []string{"hello", "again"} {
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo = %q, %v; want %q", buf, err, msg)
		}
	}
}

func TestH2CStreamingThroughTheWholePath(t *testing.T) {
	s := startStack(t, helloTable(), route.Proxy)
	s.backends.Set("default", "hello-00002", []string{startQueue(t, "pod-a")})
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/duplex", pr)
	req.Host = "canary-hello.default.example.com"
	req.Header.Set("Content-Type", "application/grpc")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.Header.Get("X-Proto") != "HTTP/2.0" {
		t.Errorf("client %s, app %q; want HTTP/2 on both ends", resp.Proto, resp.Header.Get("X-Proto"))
	}
	// Each message comes back before the next is sent: full duplex through
	// gateway, activator and queue-proxy.
	for i := range 3 {
		msg := fmt.Sprintf("message %d;", i)
		if _, err := pw.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %d = %q, %v", i, buf, err)
		}
	}
	pw.Close()
	if rest, _ := io.ReadAll(resp.Body); len(rest) != 0 {
		t.Errorf("trailing bytes %q", rest)
	}
}

func TestSplitAccuracyOverHTTP(t *testing.T) {
	s := startStack(t, helloTable(), route.Serve)
	s.backends.Set("default", "hello-00001", []string{testenv.StartApp(t, "-name", "one")})
	s.backends.Set("default", "hello-00002", []string{testenv.StartApp(t, "-name", "two")})
	const total = 20000
	counts := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range total / 8 {
				_, b := do(t, c, "http://"+s.addr+"/name", "hello.default.example.com")
				mu.Lock()
				counts[b]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n := counts["one"] + counts["two"]; n != total {
		t.Fatalf("%d of %d requests answered: %v", n, total, counts)
	}
	pct := 100 * float64(counts["two"]) / total
	if pct < 9 || pct > 11 {
		t.Errorf("10%% revision got %.2f%%, want within 1 pp", pct)
	}
}

func TestRouteSwapUnderLoad(t *testing.T) {
	big := thousandHosts()
	withHello := route.Merge(big, helloTable())
	s := startStack(t, withHello, route.Serve)
	s.backends.Set("default", "hello-00001", []string{testenv.StartApp(t, "-name", "one")})
	s.backends.Set("default", "hello-00002", []string{testenv.StartApp(t, "-name", "two")})
	// The second table moves hello to 100% hello-00002.
	moved := helloTable()
	moved.Routes[0].Rules[0].Paths[2].Splits = moved.Routes[0].Rules[0].Paths[2].Splits[1:]
	moved.Routes[0].Rules[0].Paths[2].Splits[0].Percent = 100
	other := route.Merge(big, moved)

	var stop atomic.Bool
	var failed, ok atomic.Int64
	var wg sync.WaitGroup
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000 && !stop.Load(); i++ {
				req, _ := http.NewRequest(http.MethodGet, "http://"+s.addr+"/name", nil)
				req.Host = "hello.default.example.com"
				resp, err := c.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || (string(b) != "one" && string(b) != "two") {
					failed.Add(1)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	for i := range 100 {
		tab := withHello
		if i%2 == 0 {
			tab = other
		}
		if err := s.g.SetTable(tab); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Errorf("%d requests failed, %d succeeded during 100 swaps of %d hosts", failed.Load(), ok.Load(), 2002)
	}
}

// TestH2CRevisionSeesHTTP2 is Knative's TestProtocols: a revision whose
// port is named h2c sees HTTP/2.0 even when the client speaks HTTP/1.1.
func TestH2CRevisionSeesHTTP2(t *testing.T) {
	for _, mode := range []route.Mode{route.Proxy, route.Serve} {
		t.Run(mode.String(), func(t *testing.T) {
			tab := helloTable()
			tab.Revisions[1].Protocol = route.ProtocolH2C
			s := startStack(t, tab, mode)
			s.backends.Set("default", "hello-00002", []string{startQueue(t, "pod-a")})
			code, body := do(t, http.DefaultClient, "http://"+s.addr+"/echo", "canary-hello.default.example.com")
			var got struct{ Proto string }
			if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil {
				t.Fatalf("echo = %d %q: %v", code, body, err)
			}
			if got.Proto != "HTTP/2.0" {
				t.Errorf("app saw %s, want HTTP/2.0", got.Proto)
			}
		})
	}
}

// TestGRPCUnaryThroughTheWholePath sends a gRPC health check (h2c, a
// length-prefixed message, trailers) through gateway, activator and
// queue-proxy.
func TestGRPCUnaryThroughTheWholePath(t *testing.T) {
	s := startStack(t, helloTable(), route.Proxy)
	s.backends.Set("default", "hello-00002", []string{startQueue(t, "pod-a")})
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/grpc.health.v1.Health/Check", strings.NewReader("\x00\x00\x00\x00\x00"))
	req.Host = "canary-hello.default.example.com"
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(body) != "\x00\x00\x00\x00\x02\x08\x01" || resp.Trailer.Get("Grpc-Status") != "0" {
		t.Errorf("got %d body %q trailer %v; want 200, SERVING, grpc-status 0", resp.StatusCode, body, resp.Trailer)
	}
}
