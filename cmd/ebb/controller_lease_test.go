//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	gosync "sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/internal/syncbuf"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/runtime/cluster"
)

// TestControllerLeadsAgainAfterAnOutage: the apiserver is away for longer
// than the Lease's renew deadline, so the leading controller loses the
// Lease; it stops leading, stays up (run does not return), campaigns
// again and, once the apiserver is back, leads again: a commit pushed then
// is applied, and the autoscaler of the new term writes the new
// revision's public EndpointSlice. Short Lease timings keep the waits to
// seconds.
func TestControllerLeadsAgainAfterAnOutage(t *testing.T) {
	c, cs := installedCluster(t)
	repo := gitRepo(t)
	out, done := startController(t, c.Kubeconfig, repo, readOnly("--leader-elect-lease-duration", "2s",
		"--leader-elect-renew-deadline", "1500ms", "--leader-elect-retry-period", "200ms")...)
	running := func() string {
		select {
		case code := <-done:
			done <- code
			return fmt.Sprintf("the controller exited %d", code)
		default:
			return ""
		}
	}
	deployment := func(name string) string {
		if _, err := cs.AppsV1().Deployments("default").Get(t.Context(), name, metav1.GetOptions{}); err != nil {
			return err.Error()
		}
		return ""
	}
	waitFor(t, "the repository applied", func() string { return deployment("hello-00001-deployment") })

	c.StopAPIServer()
	waitFor(t, "the lead lost while the apiserver is away", func() string {
		if s := running(); s != "" {
			t.Fatal(s)
		}
		if !strings.Contains(out.String(), "stopped leading") || !strings.Contains(out.String(), "lost the lead") {
			return "still leading"
		}
		return ""
	})
	if err := c.StartAPIServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leading again", func() string {
		if n := strings.Count(out.String(), "msg=leading"); n != 2 {
			return fmt.Sprintf("led %d times", n)
		}
		return running()
	})

	pushEdit(t, repo, "again", func(svc string) string { return strings.Replace(svc, "value: World", "value: again", 1) })
	waitFor(t, "the commit pushed after the outage applied and scaled", func() string {
		if s := deployment("hello-00002-deployment"); s != "" {
			return s
		}
		es, err := cs.DiscoveryV1().EndpointSlices("default").Get(t.Context(), "hello-00002", metav1.GetOptions{})
		if err != nil {
			return "public EndpointSlice: " + err.Error()
		}
		if es.Labels[proxykube.ModeLabel] == "" {
			return fmt.Sprintf("public EndpointSlice without a mode: %v", es.Labels)
		}
		return running()
	})
	if n := strings.Count(out.String(), "msg=leading"); n != 2 {
		t.Errorf("led %d times, want 2", n)
	}
}

// TestControllerLostLeaseWritesNothing: the leading controller's status
// write for a new commit is held in flight (by a proxy in front of the
// real apiserver) when it loses the Lease (the proxy refuses the Lease's
// renewals). The write is cancelled with the term: once the controller has
// stopped leading, no status or Event write of that term (the Events and
// status queued behind the held write) has reached the proxy. Once the
// Lease can be renewed again it leads again and writes the status, and
// still no Event of the old term has been written.
func TestControllerLostLeaseWritesNothing(t *testing.T) {
	c, cs := installedCluster(t)
	p := newHoldingProxy(t, c.Host, c.Kubeconfig)
	repo := gitRepo(t)
	out, _ := startController(t, p.kubeconfig(t, c.Kubeconfig), repo, readOnly("--leader-elect-lease-duration", "2s",
		"--leader-elect-renew-deadline", "1500ms", "--leader-elect-retry-period", "200ms")...)
	status := readyAt(t, cs)
	work := pushHeld(t, p, out, repo, status)
	p.refuseLeases(true)
	p.takeReports()
	waitFor(t, "the lead lost", func() string {
		if !strings.Contains(out.String(), "stopped leading") || !strings.Contains(out.String(), "lost the lead") {
			return "still leading"
		}
		return ""
	})
	if got := p.takeReports(); len(got) > 0 {
		t.Errorf("after the term ended, it wrote:\n%s", strings.Join(got, "\n"))
	}
	p.refuseLeases(false)
	head := gittest.Run(t, work, "rev-parse", "HEAD")
	waitFor(t, "leading again, the status written", func() string {
		if n := strings.Count(out.String(), "msg=leading"); n != 2 {
			return fmt.Sprintf("led %d times", n)
		}
		return status(head)
	})
	// The new term finds the objects applied (no Event of its own), and the
	// old term's Events, were they written late, would have come before
	// the status written above: the reports run in order.
	for _, r := range p.takeReports() {
		if strings.HasSuffix(r, "/events") {
			t.Errorf("after the term ended: %s", r)
		}
	}
}

// TestControllerWritesItsReportsBeforeStopping: a controller that stops
// while leading first writes what its last pass reported. The status write
// of a new commit is held (by a proxy in front of the real apiserver)
// when the controller is told to stop, and let go after: the Events of
// the commit and its status (Ready at the commit) are written before the
// controller exits.
func TestControllerWritesItsReportsBeforeStopping(t *testing.T) {
	c, cs := installedCluster(t)
	p := newHoldingProxy(t, c.Host, c.Kubeconfig)
	repo := gitRepo(t)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	out, done := startControllerUntil(t, ctx, p.kubeconfig(t, c.Kubeconfig), repo, readOnly()...)
	status := readyAt(t, cs)
	work := pushHeld(t, p, out, repo, status)
	p.takeReports()
	stop()
	p.releaseHeld()
	if code := <-done; code != exitOK {
		t.Errorf("the controller exited %d", code)
	}
	done <- exitOK
	if s := status(gittest.Run(t, work, "rev-parse", "HEAD")); s != "" {
		t.Errorf("after the controller stopped: %s", s)
	}
	events := 0
	for _, r := range p.takeReports() {
		if strings.HasSuffix(r, "/events") {
			events++
		}
	}
	if events == 0 {
		t.Error("the Events of the last pass were not written before the controller stopped")
	}
}

// readyAt returns what keeps source main's status from being Ready at a
// commit whose name starts with commit ("" when it is).
func readyAt(t *testing.T, cs *kubernetes.Clientset) func(commit string) string {
	return func(commit string) string {
		doc, err := cluster.ReadStatus(t.Context(), cs, "ebb-system", "main")
		if err != nil || doc.Condition != cluster.Ready || !strings.HasPrefix(doc.Commit, commit) {
			return fmt.Sprintf("status %s %q at %s, %v", doc.Condition, doc.Message, doc.Commit, err)
		}
		return ""
	}
}

// pushHeld waits for the controller writing out to have applied repo,
// pushes an edit whose first status write p holds, and waits until the
// edit is applied and that write held. It returns the clone pushed from.
func pushHeld(t *testing.T, p *holdingProxy, out *syncbuf.Buffer, repo string, status func(string) string) string {
	t.Helper()
	waitFor(t, "the repository applied", func() string { return status("") })
	applied := strings.Count(out.String(), "msg=applied")
	p.holdNextStatusWrite()
	work := pushEdit(t, repo, "held", func(svc string) string { return strings.Replace(svc, "value: World", "value: held", 1) })
	waitFor(t, "the new commit applied, its status write held", func() string {
		if !p.holding() {
			return "no status write held"
		}
		if strings.Count(out.String(), "msg=applied") == applied {
			return "not applied"
		}
		return ""
	})
	return work
}

// holdingProxy forwards requests to the apiserver, and can hold a status
// write until its client gives up (or the test releases it), refuse the Lease's requests, and
// record the status and Event writes it receives.
type holdingProxy struct {
	srv     *httptest.Server
	closing chan struct{} // the test is over: let a held request go
	release chan struct{} // closed: forward the held request

	mu      gosync.Mutex
	hold    bool // the next status write is held
	held    bool // one is (or was) held
	refuse  bool
	reports []string
}

func newHoldingProxy(t *testing.T, host, kubeconfig string) *holdingProxy {
	t.Helper()
	target, err := url.Parse(host)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	token := regexp.MustCompile(`token: (\S+)`).FindSubmatch(b)
	if token == nil {
		t.Fatalf("no token in %s", kubeconfig)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	direct := rp.Director
	rp.Director = func(r *http.Request) {
		direct(r)
		r.Header.Set("Authorization", "Bearer "+string(token[1]))
	}
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	rp.FlushInterval = -1 // watches stream
	p := &holdingProxy{closing: make(chan struct{}), release: make(chan struct{})}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.intercept(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(p.closing)
		p.srv.Close()
	})
	return p
}

// intercept answers r itself (true) when it refuses or holds it, and
// records the status and Event writes.
func (p *holdingProxy) intercept(w http.ResponseWriter, r *http.Request) bool {
	lease := strings.Contains(r.URL.Path, "/leases/")
	statusWrite := r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/configmaps/"+cluster.ConfigMapName("main"))
	event := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events")
	p.mu.Lock()
	refuse := lease && p.refuse
	hold := statusWrite && p.hold
	if hold {
		p.hold, p.held = false, true
	}
	if statusWrite || event {
		p.reports = append(p.reports, r.Method+" "+r.URL.Path)
	}
	p.mu.Unlock()
	switch {
	case refuse:
		http.Error(w, "the Lease is refused by the test", http.StatusServiceUnavailable)
		return true
	case hold:
		// The server notices a client that hangs up once the body is read.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return true
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-p.release:
			return false // forwarded now
		case <-r.Context().Done(): // the client gave up
		case <-p.closing:
		}
		return true
	}
	return false
}

func (p *holdingProxy) holdNextStatusWrite() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = true
}

// releaseHeld forwards the held status write, and any held later.
func (p *holdingProxy) releaseHeld() { close(p.release) }

func (p *holdingProxy) holding() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

func (p *holdingProxy) refuseLeases(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = v
}

// takeReports returns the status and Event writes received so far, and
// starts afresh.
func (p *holdingProxy) takeReports() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.reports
	p.reports = nil
	return out
}

// kubeconfig writes a copy of the apiserver's kubeconfig that goes
// through the proxy.
func (p *holdingProxy) kubeconfig(t *testing.T, kubeconfig string) string {
	t.Helper()
	b, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "proxy.kubeconfig")
	cfg := regexp.MustCompile(`server: \S+`).ReplaceAll(b, []byte("server: "+p.srv.URL))
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
