package scaler

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// TestLoopUnreachable: a revision held at min-scale 3 loses that floor
// when routing stops sending it traffic, and goes to zero through the
// usual sequence.
func TestLoopUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 1
		start := time.Now()
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt})
		defer stop()
		ann := map[string]string{autoscaling.MinScaleAnnotationKey: "3"}
		a.Upsert(Revision{Key: hello, Reachable: true, Annotations: ann})
		time.Sleep(3 * time.Second)
		a.Upsert(Revision{Key: hello, Reachable: false, Annotations: ann})
		time.Sleep(70 * time.Second)
		synctest.Wait()
		scales, _ := rt.calls()
		want := []scaleCall{
			// min-scale, while activating (1 of 3 pods ready).
			{At: start.Add(2 * time.Second), N: 3},
			// 4 s: unreachable, so no floor and no scale-down limit: the
			// decision is 0, but an activating revision holds its pods; it
			// becomes active with its 3 pods. 6 s: active for less than a
			// stable window, so one pod stays.
			{At: start.Add(6 * time.Second), N: 1},
			// Inactive a stable window after it became active (64 s); the
			// activator was in the path all along: zero at the next tick.
			{At: start.Add(66 * time.Second), N: 0},
		}
		if diff := cmp.Diff(want, scales); diff != "" {
			t.Errorf("scale calls (-want +got):\n%s", diff)
		}
	})
}

// TestLoopSetConfig: a new configuration changes the target of running
// revisions, and their windows keep the data recorded so far.
func TestLoopSetConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 2
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt})
		defer stop()
		a.Upsert(Revision{Key: hello, Reachable: true})
		for range 4 {
			time.Sleep(time.Second)
			a.Record([]metric.Message{{Namespace: hello.Namespace, Revision: hello.Name, Stat: metric.Stat{AverageConcurrentRequests: 100}}})
		}
		synctest.Wait()
		if st, _ := a.Status(hello); st.DesiredScale != 2 {
			t.Fatalf("before: desired %d, want 2 (100/70)", st.DesiredScale)
		}
		u := autoscaling.NewUpdater(nil)
		cfg, err := u.Update(map[string]string{"container-concurrency-target-default": "10"})
		if err != nil {
			t.Fatal(err)
		}
		a.SetConfig(cfg)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		// 100/7 → 15 pods; 15/2 ≥ 2 puts the revision in panic mode.
		if st, _ := a.Status(hello); st.DesiredScale != 15 || st.Stable != 100 {
			t.Errorf("after: desired %d at stable %v, want 15 at 100", st.DesiredScale, st.Stable)
		}
	})
}

// TestLoopRunsAgain: a second Run, after the first returned (a controller
// leading again), drives the revisions it was told, each from a fresh
// start: its mode is set again at its first tick, and an idle revision
// goes to zero a stable window after the second Run began, not the first.
func TestLoopRunsAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 1
		start := time.Now()
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt})
		a.Upsert(Revision{Key: hello, Reachable: true})
		time.Sleep(3 * time.Second)
		stop()
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if scales, modes := rt.calls(); len(scales) != 0 || len(modes) != 1 {
			t.Fatalf("first run: scales %+v, modes %+v; want one mode", scales, modes)
		}

		again := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		time.Sleep(67 * time.Second)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("second Run: %v", err)
		}
		scales, modes := rt.calls()
		if diff := cmp.Diff([]scaleCall{{At: again.Add(64 * time.Second), N: 0}}, scales); diff != "" {
			t.Errorf("scale calls (-want +got):\n%s", diff)
		}
		want := []modeCall{{At: start.Add(2 * time.Second), Mode: route.Proxy, Activators: 4},
			{At: again.Add(2 * time.Second), Mode: route.Proxy, Activators: 4}, {At: again.Add(66 * time.Second), Mode: route.Proxy, Activators: 3}}
		if diff := cmp.Diff(want, modes); diff != "" {
			t.Errorf("mode calls (-want +got):\n%s", diff)
		}
	})
}

// TestLoopPrompt: a revision prompted before its first tick (its first
// pod ready) has its mode set at once, and keeps its tick schedule; a
// prompt after the first tick, or of a revision not told, does nothing.
func TestLoopPrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 1
		start := time.Now()
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt})
		defer stop()
		a.Prompt(hello) // not told yet
		a.Upsert(Revision{Key: hello, Reachable: true})
		time.Sleep(500 * time.Millisecond)
		promptAt := time.Now()
		a.Prompt(hello)
		synctest.Wait()
		time.Sleep(time.Second)
		a.Prompt(hello) // its first tick has run: nothing
		time.Sleep(3 * time.Second)
		synctest.Wait()
		_, modes := rt.calls()
		want := []modeCall{{At: promptAt, Mode: route.Proxy, Activators: 4}}
		if diff := cmp.Diff(want, modes); diff != "" {
			t.Errorf("mode calls (-want +got):\n%s", diff)
		}
		if st, _ := a.Status(hello); st.Ticks != 3 {
			t.Errorf("%d ticks by %v, want 3 (the prompt's, at 2 s and 4 s)", st.Ticks, time.Since(start))
		}
	})
}
