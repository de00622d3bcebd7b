package scaler

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// fakeRuntime is a runtime whose pods become ready the moment they are
// asked for.
type fakeRuntime struct {
	mu       sync.Mutex
	replicas map[RevisionKey]int32
	scales   []scaleCall
	modes    []modeCall
}

type scaleCall struct {
	At time.Time
	N  int32
}

type modeCall struct {
	At         time.Time
	Mode       route.Mode
	Activators int32
}

func newFakeRuntime() *fakeRuntime { return &fakeRuntime{replicas: map[RevisionKey]int32{}} }

func (f *fakeRuntime) ReadyPods(_ context.Context, rev RevisionKey) (int, int32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.replicas[rev]
	return int(n), n, nil
}

func (f *fakeRuntime) SetScale(_ context.Context, rev RevisionKey, n int32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replicas[rev] = n
	f.scales = append(f.scales, scaleCall{At: time.Now(), N: n})
	return nil
}

func (f *fakeRuntime) SetMode(_ context.Context, _ RevisionKey, m route.Mode, activators int32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.modes = append(f.modes, modeCall{At: time.Now(), Mode: m, Activators: activators})
	return nil
}

func (f *fakeRuntime) calls() ([]scaleCall, []modeCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]scaleCall(nil), f.scales...), append([]modeCall(nil), f.modes...)
}

var hello = RevisionKey{Namespace: "default", Name: "hello-00001"}

func startAutoscaler(t *testing.T, opts Options) (*Autoscaler, context.CancelFunc) {
	t.Helper()
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	return a, func() { cancel(); <-done }
}

// TestLoopScaleToZeroAndBack: an idle revision with one pod goes inactive
// after the stable window and loses its pod at once (the activator has
// been in the path all along); a request's stat then wakes it without
// waiting for the next tick.
func TestLoopScaleToZeroAndBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 1
		start := time.Now()
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt})
		defer stop()
		a.Upsert(Revision{Key: hello, Reachable: true})

		time.Sleep(67 * time.Second)
		synctest.Wait()
		scales, modes := rt.calls()
		// Active from the first tick (2 s) for a stable window: inactive
		// at 62 s; the activator has been in the path since the start, so
		// the pod goes at the next tick.
		want := []scaleCall{{At: start.Add(64 * time.Second), N: 0}}
		if diff := cmp.Diff(want, scales); diff != "" {
			t.Fatalf("scale calls (-want +got):\n%s", diff)
		}
		// Proxy throughout (EBC = 100 − 211 < 0); 3 activators once the pod
		// has gone (ceil(211/100)), 4 before (ceil(311/100)).
		if diff := cmp.Diff([]modeCall{{At: start.Add(2 * time.Second), Mode: route.Proxy, Activators: 4}, {At: start.Add(66 * time.Second), Mode: route.Proxy, Activators: 3}}, modes); diff != "" {
			t.Errorf("mode calls (-want +got):\n%s", diff)
		}
		st, _ := a.Status(hello)
		if st.State.Activity != Inactive || st.DesiredScale != 0 {
			t.Fatalf("status %+v", st)
		}

		// A request arrives at the activator, between two ticks.
		time.Sleep(700 * time.Millisecond)
		pokeAt := time.Now()
		a.Record([]metric.Message{{Namespace: hello.Namespace, Revision: hello.Name, Stat: metric.Stat{PodName: "activator", AverageConcurrentRequests: 1, RequestCount: 1}}})
		synctest.Wait()
		scales, _ = rt.calls()
		if got := scales[len(scales)-1]; got != (scaleCall{At: pokeAt, N: 1}) {
			t.Errorf("after the poke: %+v, want 1 pod at %v", got, pokeAt.Sub(start))
		}
	})
}

// TestLoopPokesARevisionCreatedAtZero: a revision that starts with no pod
// (initial-scale 0) and has had no decision yet scales up on its first
// request, not at the next tick.
func TestLoopPokesARevisionCreatedAtZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 0
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt})
		defer stop()
		a.Upsert(Revision{Key: hello, Reachable: true, Annotations: map[string]string{"autoscaling.knative.dev/initial-scale": "0"}})
		time.Sleep(300 * time.Millisecond)
		pokeAt := time.Now()
		a.Record([]metric.Message{{Namespace: hello.Namespace, Revision: hello.Name, Stat: metric.Stat{PodName: "activator", AverageConcurrentRequests: 1, RequestCount: 1}}})
		synctest.Wait()
		scales, _ := rt.calls()
		if diff := cmp.Diff([]scaleCall{{At: pokeAt, N: 1}}, scales); diff != "" {
			t.Errorf("scale calls (-want +got):\n%s", diff)
		}
	})
}

// TestLoopTicksEveryTwoSeconds: no pokes while load arrives for a
// revision that is not at zero.
func TestLoopTicksEveryTwoSeconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 2
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt})
		defer stop()
		a.Upsert(Revision{Key: hello, Reachable: true})
		for range 10 {
			time.Sleep(time.Second)
			a.Record([]metric.Message{{Namespace: hello.Namespace, Revision: hello.Name, Stat: metric.Stat{AverageConcurrentRequests: 100}}})
		}
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		st, _ := a.Status(hello)
		if st.Ticks != 5 {
			t.Errorf("%d ticks in 10.5 s, want 5", st.Ticks)
		}
		// 100 concurrent at target 70 → 2 pods.
		if st.DesiredScale != 2 || st.Stable != 100 {
			t.Errorf("status %+v, want desired 2 at stable 100", st)
		}
	})
}

// slowPods answers Pods only after a while, as a scrape held up by the
// network would.
type slowPods struct {
	delay time.Duration
	calls atomic.Int32
}

func (p *slowPods) Pods(ctx context.Context, _ RevisionKey) ([]Pod, error) {
	p.calls.Add(1)
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
	}
	return nil, nil
}

// TestLoopSlowScrapeDoesNotHoldTicks: a scrape that takes 5 s neither
// delays the 2 s ticks nor piles up: while one runs, the next is skipped.
func TestLoopSlowScrapeDoesNotHoldTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 1
		pods := &slowPods{delay: 5 * time.Second}
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt, Pods: pods})
		defer stop()
		a.Upsert(Revision{Key: hello, Reachable: true})
		time.Sleep(10500 * time.Millisecond)
		synctest.Wait()
		st, _ := a.Status(hello)
		if st.Ticks != 5 {
			t.Errorf("%d ticks in 10.5 s with 5 s scrapes, want 5", st.Ticks)
		}
		// Scrapes are due every second; each takes 5 s: at most one every
		// 5 s runs (at 1 s, then at the first due time after it ends: 7 s).
		if n := pods.calls.Load(); n != 2 {
			t.Errorf("%d scrapes started in 10.5 s, want 2", n)
		}
	})
}

// TestLoopStepLoad: the seed scenario through the loop — containerConcurrency
// 10, 70 % utilization, 100 concurrent requests reported by the activator:
// 15 pods at the first tick after the first stat.
func TestLoopStepLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 1
		start := time.Now()
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt})
		defer stop()
		a.Upsert(Revision{Key: hello, Reachable: true, ContainerConcurrency: 10})
		time.Sleep(2500 * time.Millisecond)
		a.Record([]metric.Message{{Namespace: hello.Namespace, Revision: hello.Name, Stat: metric.Stat{AverageConcurrentRequests: 100}}})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		scales, _ := rt.calls()
		// Idle until then, so the last decision was 0 and the stat pokes
		// a tick at once.
		if diff := cmp.Diff([]scaleCall{{At: start.Add(2500 * time.Millisecond), N: 15}}, scales); diff != "" {
			t.Errorf("scale calls (-want +got):\n%s", diff)
		}
	})
}

func TestLoopMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 3
		reg := prometheus.NewRegistry()
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt, Registry: reg})
		defer stop()
		a.Upsert(Revision{Key: hello, Reachable: true})
		time.Sleep(time.Second)
		a.Record([]metric.Message{{Namespace: hello.Namespace, Revision: hello.Name, Stat: metric.Stat{AverageConcurrentRequests: 140}}})
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		got := map[string]float64{}
		for _, name := range []string{"ebb_revision_capacity_excess", "ebb_revision_panic_mode", "ebb_revision_pods_actual", "ebb_revision_pods_desired", "ebb_revision_stable_value", "ebb_revision_target_value"} {
			got[name] = gaugeValue(t, reg, name)
		}
		want := map[string]float64{
			// 3 pods × 100 − 211 − 140.
			"ebb_revision_capacity_excess": -51,
			// A new decider with 3 ready pods starts in panic mode.
			"ebb_revision_panic_mode":   1,
			"ebb_revision_pods_actual":  3,
			"ebb_revision_pods_desired": 3,
			"ebb_revision_stable_value": 140,
			"ebb_revision_target_value": 70,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("metrics (-want +got):\n%s", diff)
		}
		a.Remove(hello)
		if n := seriesCount(t, reg, "ebb_revision_pods_desired"); n != 0 {
			t.Errorf("after Remove: %d series", n)
		}
	})
}

func TestLoopColdStartHistogram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		reg := prometheus.NewRegistry()
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt, Registry: reg})
		defer stop()
		a.Upsert(Revision{Key: hello, Reachable: true})
		// No pods at all: activating (initial scale 1 not reached) until
		// load asks for a pod.
		time.Sleep(3 * time.Second)
		a.Record([]metric.Message{{Namespace: hello.Namespace, Revision: hello.Name, Stat: metric.Stat{AverageConcurrentRequests: 5}}})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := histogramCount(t, reg, "ebb_revision_cold_start_seconds"); n != 1 {
			t.Fatalf("%d cold starts observed, want 1", n)
		}
		st, _ := a.Status(hello)
		if st.State.Activity != Active {
			t.Errorf("status %+v, want active", st.State)
		}
	})
}

func TestNewNeedsScalerAndModes(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without Scaler and Modes succeeded")
	}
	reg := prometheus.NewRegistry()
	rt := newFakeRuntime()
	if _, err := New(Options{Scaler: rt, Modes: rt, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Scaler: rt, Modes: rt, Registry: reg}); err == nil {
		t.Error("registering twice in one registry succeeded")
	}
}

func TestPushHandler(t *testing.T) {
	rt := newFakeRuntime()
	a, err := New(Options{Scaler: rt, Modes: rt})
	if err != nil {
		t.Fatal(err)
	}
	a.Upsert(Revision{Key: hello, Reachable: true})
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	post := func(body string) int {
		t.Helper()
		resp, err := http.Post(srv.URL+metric.PushPath, metric.ContentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	msgs, _ := json.Marshal([]metric.Message{
		{Namespace: hello.Namespace, Revision: hello.Name, Stat: metric.Stat{AverageConcurrentRequests: 9, AverageProxiedConcurrentRequests: 2, RequestCount: 5, ProxiedRequestCount: 1, Timestamp: 1_700_000_000}},
		{Namespace: hello.Namespace, Revision: hello.Name, Stat: metric.Stat{AverageConcurrentRequests: 3, RequestCount: 2, Timestamp: 1_700_000_000}},
		{Namespace: "other", Revision: "unknown", Stat: metric.Stat{AverageConcurrentRequests: 100}},
	})
	if code := post(string(msgs)); code != http.StatusNoContent {
		t.Errorf("POST stats: %d", code)
	}
	r := a.revisions[hello]
	now := time.Unix(1_700_000_000, 0)
	// Same second adds up; the proxied part is subtracted.
	if s, p, noData := r.series.StableAndPanic(autoscaling.Concurrency, now, true); s != 10 || p != 10 || noData {
		t.Errorf("concurrency = %v/%v/%v, want 10/10", s, p, noData)
	}
	if s, _, _ := r.series.StableAndPanic(autoscaling.RPS, now, true); s != 6 {
		t.Errorf("rps = %v, want 6", s)
	}
	for body, want := range map[string]int{"{": 400, `{"a":1}`: 400, "[] []": 400, "[]": 204} {
		if code := post(body); code != want {
			t.Errorf("POST %q: %d, want %d", body, code, want)
		}
	}
	resp, err := http.Get(srv.URL + metric.PushPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	big := bytes.Repeat([]byte(" "), maxPushBody+1)
	if code := post("[" + string(big) + "]"); code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d", code)
	}
}

func family(t *testing.T, reg *prometheus.Registry, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// gaugeValue returns the value of the single series of a gauge.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mf := family(t, reg, name)
	if mf == nil || len(mf.GetMetric()) != 1 {
		t.Fatalf("%s: want one series, got %v", name, mf)
	}
	return mf.GetMetric()[0].GetGauge().GetValue()
}

func seriesCount(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	return len(family(t, reg, name).GetMetric())
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mf := family(t, reg, name)
	if mf == nil || len(mf.GetMetric()) != 1 {
		t.Fatalf("%s: want one series, got %v", name, mf)
	}
	return mf.GetMetric()[0].GetHistogram().GetSampleCount()
}
