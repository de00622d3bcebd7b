package activator

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/internal/testenv"
)

// failures is a Failures a test sets; set notifies through the backends,
// as a runtime does.
type failures struct {
	mu       sync.Mutex
	reasons  map[string]string
	backends *backend.Static
}

func (f *failures) Failure(ns, rev string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.reasons[ns+"/"+rev]
	return r, ok
}

func (f *failures) set(ns, rev, reason string) {
	f.mu.Lock()
	if reason == "" {
		delete(f.reasons, ns+"/"+rev)
	} else {
		f.reasons[ns+"/"+rev] = reason
	}
	f.mu.Unlock()
	f.backends.Set(ns, rev, f.backends.Addresses(ns, rev))
}

// TestFailedRevisionAnswers503: requests held for a revision with no pod
// are answered 503 with the reason as soon as the revision is known to
// have failed, new ones at once; once it has a pod again they are served.
func TestFailedRevisionAnswers503(t *testing.T) {
	rv := revs{{"default", "hello-00001"}: {Namespace: "default", Name: "hello-00001", TimeoutSeconds: 300}}
	bs := backend.NewStatic()
	fl := &failures{reasons: map[string]string{}, backends: bs}
	a, err := New(Config{Backends: bs, Revisions: rv, Failures: fl, ProbePeriod: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := testenv.Listen(t)
	srv := &http.Server{Handler: a}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); a.Close() })
	f := "http://" + l.Addr().String()
	type result struct {
		code int
		body string
		took time.Duration
	}
	held := make(chan result, 3)
	for range 3 {
		go func() {
			start := time.Now()
			c, b := send(t, f+"/", helloHdr)
			held <- result{c, strings.TrimSpace(b), time.Since(start)}
		}()
	}
	// Let the requests be held, then fail the revision.
	deadline := time.Now().Add(10 * time.Second)
	for heldCount(a) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := heldCount(a); n != 3 {
		t.Fatalf("%d requests held, want 3", n)
	}
	const reason = "ExitCode1: Container failed with: boom"
	const want = "revision default/hello-00001 cannot serve: " + reason
	fl.set("default", "hello-00001", reason)
	for range 3 {
		if r := <-held; r.code != http.StatusServiceUnavailable || r.body != want {
			t.Errorf("held request = %d %q, want 503 %q", r.code, r.body, want)
		}
	}
	if code, body := send(t, f+"/", helloHdr); code != http.StatusServiceUnavailable || strings.TrimSpace(body) != want {
		t.Errorf("new request = %d %q, want 503 %q", code, body, want)
	}
	// Fixed: a pod appears, and requests are served.
	fl.set("default", "hello-00001", "")
	bs.Set("default", "hello-00001", []string{startQueue(t, "pod-a", 0)})
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, body := send(t, f+"/name", helloHdr)
		if code == 200 && body == "pod-a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the fix: %d %q", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// heldCount is how many requests wait in a's throttler of hello-00001.
func heldCount(a *Activator) int {
	v, ok := a.revs.Load(revKey{"default", "hello-00001"})
	if !ok {
		return 0
	}
	_, held := v.(*revision).thr.snapshot()
	return held
}
