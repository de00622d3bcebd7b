package activator

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/internal/testenv"
	"github.com/ebb-dev/ebb/proxy/queue"
)

var _ Peers = (*backend.Peers)(nil)

// startPod runs a test app behind an in-process queue-proxy that does not
// limit concurrency (CC 0), so that the app sees every request the
// activators send at once. It returns the queue-proxy's and the app's
// addresses.
func startPod(t *testing.T, name string) (queueAddr, appAddr string) {
	t.Helper()
	app := testenv.StartApp(t, "-name", name)
	s, err := queue.New(queue.Config{UserAddr: app, DrainQuietPeriod: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := testenv.Listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, queue.Listeners{HTTP: l}); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return l.Addr().String(), app
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestTwoActivatorsShareThePods: two activators in front of three pods of
// a revision with containerConcurrency 1 split the pods between them (the
// first takes pods 0 and 2, the second pod 1), so under concurrent load
// through both no app ever has more than one request in flight, and every
// request is answered.
func TestTwoActivatorsShareThePods(t *testing.T) {
	const ns, name = "default", "hello-00001"
	rv := revs{{ns, name}: {Namespace: ns, Name: name, ContainerConcurrency: 1, TimeoutSeconds: 120}}
	backends := backend.NewStatic()
	var queues, apps []string
	for i := range 3 {
		q, a := startPod(t, fmt.Sprintf("pod-%d", i))
		queues, apps = append(queues, q), append(apps, a)
	}

	// The activators' own addresses are their identities among peers.
	var lis []net.Listener
	var selves []string
	for range 2 {
		l := testenv.Listen(t)
		lis, selves = append(lis, l), append(selves, l.Addr().String())
	}
	var acts []*Activator
	var urls []string
	for i, l := range lis {
		peers := backend.NewPeers(selves[i])
		peers.Set(ns, name, selves)
		a, err := New(Config{Backends: backends, Revisions: rv, Peers: peers, ProbePeriod: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: a}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close(); a.Close() })
		acts, urls = append(acts, a), append(urls, "http://"+l.Addr().String())
	}
	backends.Set(ns, name, queues)

	// One request at a time until both activators have probed all three
	// pods: with fewer pods than activators they would share one.
	for i, a := range acts {
		req, _ := http.NewRequest(http.MethodGet, urls[i]+"/name", nil)
		req.Header.Set("Knative-Serving-Revision", name)
		req.Header.Set("Knative-Serving-Namespace", ns)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		v, _ := a.revs.Load(revKey{ns, name})
		th := v.(*revision).thr
		for n := 0; ; n++ {
			if pods, _ := th.snapshot(); len(pods) == 3 {
				break
			}
			if n > 60000 { // about a minute: probes run late on a loaded machine
				t.Fatal("pods never passed their probes")
			}
			time.Sleep(time.Millisecond)
		}
	}
	order := append([]string(nil), queues...)
	slices.Sort(order)
	// Activator 0 (by address) takes pods 0 and 2, activator 1 pod 1.
	want := [][]string{{order[0], order[2]}, {order[1]}}
	for i, a := range acts {
		index, _ := activatorIndex(selves, selves[i])
		v, _ := a.revs.Load(revKey{ns, name})
		if d := cmp.Diff(want[index], v.(*revision).thr.assigned()); d != "" {
			t.Errorf("activator %d's pods (-want +got):\n%s", index, d)
		}
	}
	for _, app := range apps {
		if _, _, err := get("http://" + app + "/peak"); err != nil { // resets the peak
			t.Fatal(err)
		}
	}

	const clients, each = 8, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				req, _ := http.NewRequest(http.MethodGet, urls[c%2]+"/sleep?ms=3", nil)
				req.Header.Set("Knative-Serving-Revision", name)
				req.Header.Set("Knative-Serving-Namespace", ns)
				code := 0
				if resp, err := http.DefaultClient.Do(req); err != nil {
					t.Error(err)
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if d := cmp.Diff(map[int]int{200: clients * each}, codes); d != "" {
		t.Errorf("status codes (-want +got):\n%s", d)
	}
	for i, app := range apps {
		_, body, err := get("http://" + app + "/peak")
		if err != nil {
			t.Fatal(err)
		}
		peak, _ := strconv.Atoi(body)
		if peak > 1 {
			t.Errorf("pod-%d (%s) had %d requests in flight at once, want at most 1", i, queues[i], peak)
		}
		if peak < 1 {
			t.Errorf("pod-%d (%s) served nothing", i, queues[i])
		}
	}
}
