package activator

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/internal/testenv"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// statsPod is a test app behind a queue-proxy with its stats port open.
type statsPod struct{ serve, stats string }

func startStatsPod(t *testing.T, name string) statsPod {
	t.Helper()
	app := testenv.StartApp(t, "-name", name)
	s, err := queue.New(queue.Config{UserAddr: app, Pod: name, DrainQuietPeriod: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l, ls := testenv.Listen(t), testenv.Listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, queue.Listeners{HTTP: l, Stats: ls}); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return statsPod{l.Addr().String(), ls.Addr().String()}
}

// figPods lists fixed pods per revision; the runtime that would start
// and scale them is not under test, so scaling and modes do nothing.
type figPods map[scaler.RevisionKey][]scaler.Pod

func (p figPods) Pods(_ context.Context, k scaler.RevisionKey) ([]scaler.Pod, error) {
	return p[k], nil
}
func (p figPods) ReadyPods(_ context.Context, k scaler.RevisionKey) (int, int32, error) {
	return len(p[k]), int32(len(p[k])), nil
}
func (figPods) SetScale(context.Context, scaler.RevisionKey, int32) error { return nil }
func (figPods) SetMode(context.Context, scaler.RevisionKey, route.Mode, int32) error {
	return nil
}

// TestFiguresArrive: a revision's answers reach the autoscaler's Figures
// by both of ebb's paths, with real processes and real HTTP: revision
// "direct" is served by two queue-proxies that the autoscaler scrapes;
// revision "held" is served through the activator, which pushes its
// stats, to a queue-proxy that is scraped too but leaves the requests
// that came through the activator to it, so each is counted once. The
// apps answer 500 to every fifth request and sleep 250 ms on some; two
// requests through the activator outlast the revision's 1 s timeout and
// are answered 504 by the activator.
func TestFiguresArrive(t *testing.T) {
	direct := scaler.RevisionKey{Namespace: "default", Name: "direct"}
	held := scaler.RevisionKey{Namespace: "default", Name: "held"}
	podA, podB, podC := startStatsPod(t, "pod-a"), startStatsPod(t, "pod-b"), startStatsPod(t, "pod-c")
	old := time.Now().Add(-time.Hour) // older than the stable window: always sampled
	pods := figPods{
		direct: {{Name: "pod-a", Address: podA.stats, StartTime: old}, {Name: "pod-b", Address: podB.stats, StartTime: old}},
		held:   {{Name: "pod-c", Address: podC.stats, StartTime: old}},
	}
	as, err := scaler.New(scaler.Options{Scaler: pods, Modes: pods, Pods: pods})
	if err != nil {
		t.Fatal(err)
	}
	for k := range pods {
		as.Upsert(scaler.Revision{Key: k, Reachable: true})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() { as.Run(ctx) })

	mux := http.NewServeMux()
	mux.Handle(metric.PushPath, as.Handler())
	ls := testenv.Listen(t)
	push := &http.Server{Handler: mux}
	go push.Serve(ls)
	t.Cleanup(func() { push.Close() })

	backends := backend.NewStatic()
	backends.Set("default", "held", []string{podC.serve})
	act, err := New(Config{Backends: backends, PodName: "activator-1", Stats: &HTTPStats{URL: "http://" + ls.Addr().String()},
		Revisions: revs{{"default", "held"}: {Namespace: "default", Name: "held", TimeoutSeconds: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	la := testenv.Listen(t)
	srv := &http.Server{Handler: act}
	go srv.Serve(la)
	t.Cleanup(func() { srv.Close(); act.Close() })
	wg.Go(func() { act.Run(ctx) })
	activator := "http://" + la.Addr().String()

	start := time.Now()
	type req struct{ url, path string }
	var reqs []req
	// 200 straight to the pods of "direct": 40 fail, 10 take 250 ms.
	for i := range 200 {
		reqs = append(reqs, req{"http://" + []string{podA.serve, podB.serve}[i%2], appPath(i)})
	}
	// 100 through the activator to "held": 20 fail, 5 take 250 ms; and 2
	// time out.
	for i := range 100 {
		reqs = append(reqs, req{activator, appPath(i)})
	}
	reqs = append(reqs, req{activator, "/status?ms=3000"}, req{activator, "/status?ms=3000"})
	work := make(chan req)
	var clients sync.WaitGroup
	for range 8 {
		clients.Go(func() {
			for r := range work {
				send(t, r.url+r.path, helloHdr2)
			}
		})
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	clients.Wait()

	want := map[string]metric.Figures{"direct": {Requests: 200, Failures: 40}, "held": {Requests: 102, Failures: 22}}
	read := func() map[string]metric.Figures {
		return map[string]metric.Figures{
			"direct": as.Figures(direct, start.Add(-time.Second), time.Now().Add(time.Second)),
			"held":   as.Figures(held, start.Add(-time.Second), time.Now().Add(time.Second)),
		}
	}
	got := read()
	// Stats arrive within a scrape or a report (about a second); allow 10.
	for n := 0; n < 100 && (got["direct"].Requests < 200 || got["held"].Requests < 102); n++ {
		time.Sleep(100 * time.Millisecond)
		got = read()
	}
	// Two more seconds of scrapes and reports: nothing is counted twice.
	time.Sleep(2 * time.Second)
	got = read()
	p99 := map[string][2]time.Duration{"direct": {200 * time.Millisecond, 300 * time.Millisecond}, "held": {time.Second, 1500 * time.Millisecond}}
	for name, g := range got {
		if lo, hi := p99[name][0], p99[name][1]; g.P99 <= lo || g.P99 > hi {
			t.Errorf("%s: p99 %v, want in its bucket (%v, %v]", name, g.P99, lo, hi)
		}
		g.P99 = 0
		got[name] = g
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("figures (-want +got):\n%s", diff)
	}
}

// helloHdr2 routes a request through the activator to revision "held";
// the pods ignore it.
var helloHdr2 = map[string]string{"Knative-Serving-Revision": "held", "Knative-Serving-Namespace": "default"}

// appPath is request i's path: every fifth (i%5 == 0) fails with 500,
// every twentieth from the second (i%20 == 1) sleeps 250 ms.
func appPath(i int) string {
	code, ms := 200, 0
	if i%5 == 0 {
		code = 500
	}
	if i%20 == 1 {
		ms = 250
	}
	return fmt.Sprintf("/status?code=%d&ms=%d", code, ms)
}
