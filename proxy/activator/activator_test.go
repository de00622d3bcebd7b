package activator

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/internal/testenv"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/metric"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type revs map[[2]string]route.Revision

func (r revs) Revision(ns, name string) (route.Revision, bool) {
	v, ok := r[[2]string{ns, name}]
	return v, ok
}

type sink struct {
	mu   sync.Mutex
	msgs []metric.Message
}

func (s *sink) Send(_ context.Context, m []metric.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m...)
	return nil
}

type poker chan string

func (p poker) Poke(ns, rev string) { p <- ns + "/" + rev }

// startQueue runs a test app behind an in-process queue-proxy and returns
// the queue-proxy's address.
func startQueue(t *testing.T, name string, cc int) string {
	t.Helper()
	app := testenv.StartApp(t, "-name", name)
	s, err := queue.New(queue.Config{UserAddr: app, ContainerConcurrency: cc, DrainQuietPeriod: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := testenv.Listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, queue.Listeners{HTTP: l}); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return l.Addr().String()
}

type fixture struct {
	a        *Activator
	url      string
	backends *backend.Static
	sink     *sink
	pokes    poker
}

func startActivator(t *testing.T, rv revs, depth int) *fixture {
	t.Helper()
	f := &fixture{backends: backend.NewStatic(), sink: &sink{}, pokes: make(poker, 10)}
	a, err := New(Config{Backends: f.backends, Revisions: rv, Stats: f.sink, Poker: f.pokes, QueueDepth: depth,
		ProbePeriod: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	l := testenv.Listen(t)
	srv := &http.Server{Handler: a}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); a.Close() })
	f.url = "http://" + l.Addr().String()
	return f
}

func send(t *testing.T, url string, hdr map[string]string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var helloHdr = map[string]string{"Knative-Serving-Revision": "hello-00001", "Knative-Serving-Namespace": "default"}

func TestHeldRequestReleasedWhenBackendAppears(t *testing.T) {
	rv := revs{{"default", "hello-00001"}: {Namespace: "default", Name: "hello-00001", TimeoutSeconds: 60}}
	f := startActivator(t, rv, 0)
	type result struct {
		code int
		body string
	}
	res := make(chan result, 1)
	go func() {
		c, b := send(t, f.url+"/name", helloHdr)
		res <- result{c, b}
	}()
	if got := <-f.pokes; got != "default/hello-00001" {
		t.Errorf("poked %q", got)
	}
	f.backends.Set("default", "hello-00001", []string{startQueue(t, "pod-a", 0)})
	if r := <-res; r.code != 200 || r.body != "pod-a" {
		t.Errorf("held request = %d %q, want 200 pod-a", r.code, r.body)
	}
	f.sink.mu.Lock()
	first := f.sink.msgs
	f.sink.mu.Unlock()
	want := metric.Message{Namespace: "default", Revision: "hello-00001", Stat: metric.Stat{PodName: "activator", AverageConcurrentRequests: 1, RequestCount: 1}}
	if len(first) == 0 || !cmp.Equal(first[0], want) {
		// The immediate stat is sent asynchronously; give it a bounded wait.
		for n := 0; n < 1000 && len(first) == 0; n++ {
			time.Sleep(time.Millisecond)
			f.sink.mu.Lock()
			first = f.sink.msgs
			f.sink.mu.Unlock()
		}
		if len(first) == 0 || !cmp.Equal(first[0], want) {
			t.Errorf("first stat = %+v, want %+v", first, want)
		}
	}
}

func TestActivatorErrors(t *testing.T) {
	rv := revs{
		{"default", "hello-00001"}: {Namespace: "default", Name: "hello-00001", TimeoutSeconds: 1},
	}
	f := startActivator(t, rv, 1)

	code, body := send(t, f.url+"/", map[string]string{"Knative-Serving-Revision": "nope", "Knative-Serving-Namespace": "default"})
	if code != 404 || !strings.Contains(body, "Error getting active endpoint") {
		t.Errorf("unknown revision = %d %q", code, body)
	}
	code, body = send(t, f.url+"/", map[string]string{"K-Network-Probe": "activator"})
	if code != 200 || body != "activator" {
		t.Errorf("activator probe = %d %q", code, body)
	}
	code, _ = send(t, f.url+"/", map[string]string{"K-Network-Probe": "nope"})
	if code != 400 {
		t.Errorf("bad probe = %d, want 400", code)
	}

	// One request is held (queue depth 1); the next is rejected at once;
	// the held one times out.
	res := make(chan string, 1)
	go func() {
		c, b := send(t, f.url+"/", map[string]string{"Host": "hello-00001.default.svc.cluster.local"})
		res <- strings.TrimSpace(b) + " " + http.StatusText(c)
	}()
	<-f.pokes
	code, body = send(t, f.url+"/", helloHdr)
	if code != 503 || strings.TrimSpace(body) != "pending request queue full" {
		t.Errorf("overflow = %d %q, want 503 pending request queue full", code, body)
	}
	if got := <-res; got != "activator request timeout Gateway Timeout" {
		t.Errorf("held request = %q, want a 504 activator request timeout", got)
	}
}

func TestLoadBalancesTwoPods(t *testing.T) {
	rv := revs{{"default", "hello-00001"}: {Namespace: "default", Name: "hello-00001", ContainerConcurrency: 10}}
	f := startActivator(t, rv, 0)
	f.backends.Set("default", "hello-00001", []string{startQueue(t, "pod-a", 10), startQueue(t, "pod-b", 10)})
	send(t, f.url+"/name", helloHdr)
	v, _ := f.a.revs.Load(revKey{"default", "hello-00001"})
	rev := v.(*revision)
	for n := 0; ; n++ {
		if pods, _ := rev.thr.snapshot(); len(pods) == 2 {
			break
		}
		if n > 10000 {
			t.Fatal("pods never passed their probes")
		}
		time.Sleep(time.Millisecond)
	}
	counts := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, b := send(t, f.url+"/name", helloHdr)
				mu.Lock()
				counts[b]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Round robin: at most 5% imbalance.
	if counts["pod-a"]+counts["pod-b"] != 400 || counts["pod-a"] < 190 || counts["pod-b"] < 190 {
		t.Errorf("counts = %v, want 200 each within 5%%", counts)
	}
}
