package local

import (
	"context"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/scaler"
)

// stubborn ignores SIGTERM; its children (each sleep) do not.
const stubborn = `trap "" TERM; while :; do sleep 1; done`

// runningPods applies objs and waits, boundedly, until every revision
// runs a process.
func runningPods(t *testing.T, r *Runtime, objs []*unstructured.Unstructured) map[string]int {
	t.Helper()
	if err := r.Apply(objs); err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		pids := map[string]int{}
		for _, st := range r.Status() {
			if len(st.Pods) == 1 && st.Pods[0].PID > 0 {
				pids[st.Key.Name] = st.Pods[0].PID
			}
		}
		if len(pids) == len(objs) {
			return pids
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("not every revision runs: %+v", r.Status())
	return nil
}

// TestShutdownGivesEachPodItsGracePeriod: every pod gets SIGTERM at once;
// one that exits is not waited for, one that ignores it is killed when its
// revision's grace period is over, and the caller hears of each.
func TestShutdownGivesEachPodItsGracePeriod(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	r := newTestRuntime(t, nil)
	pids := runningPods(t, r, []*unstructured.Unstructured{
		shDeployment(t, "polite-00001", "exec sleep 600", 30),
		shDeployment(t, "stubborn-00001", stubborn, 2),
		shDeployment(t, "stubborn-00002", stubborn, 2),
	})

	var mu gosync.Mutex
	var told []Stopping
	// When the last pod is told of, the stubborn ones still run: the
	// stops began together.
	allAlive := true
	began := time.Now()
	r.Shutdown(context.Background(), func(s Stopping) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, s)
		if len(told) == len(pids) {
			allAlive = alive(pids["stubborn-00001"]) && alive(pids["stubborn-00002"])
		}
	})
	took := time.Since(began)

	byName := map[string]Stopping{}
	for _, s := range told {
		byName[s.Revision] = s
	}
	want := map[string]Stopping{
		"polite-00001":   {Namespace: "default", Revision: "polite-00001", Pod: "polite-00001-1", PID: pids["polite-00001"], Grace: 30 * time.Second},
		"stubborn-00001": {Namespace: "default", Revision: "stubborn-00001", Pod: "stubborn-00001-1", PID: pids["stubborn-00001"], Grace: 2 * time.Second},
		"stubborn-00002": {Namespace: "default", Revision: "stubborn-00002", Pod: "stubborn-00002-1", PID: pids["stubborn-00002"], Grace: 2 * time.Second},
	}
	if diff := cmp.Diff(want, byName); diff != "" {
		t.Errorf("told of (-want +got):\n%s", diff)
	}
	if !allAlive {
		t.Error("a pod was gone before the last one's stop began: the stops were not parallel")
	}
	if took < 2*time.Second || took > 20*time.Second {
		t.Errorf("Shutdown took %v: want the stubborn pods' grace (2s), not the polite one's (30s)", took)
	}
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) outlived Shutdown", name, pid)
		}
	}
	if err := r.Apply(nil); err == nil {
		t.Error("Apply after Shutdown accepted")
	}
}

// TestShutdownKillsAtOnceWhenItsContextEnds: asked again, Shutdown does
// not wait for the grace period.
func TestShutdownKillsAtOnceWhenItsContextEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	r := newTestRuntime(t, nil)
	pids := runningPods(t, r, []*unstructured.Unstructured{shDeployment(t, "stubborn-00001", stubborn, 30)})
	ctx, now := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Shutdown(ctx, func(Stopping) { now() })
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Shutdown still waits 20s after its context ended, for a grace period of 30s")
	}
	if pid := pids["stubborn-00001"]; alive(pid) {
		t.Errorf("pid %d outlived Shutdown", pid)
	}
}

// TestShutdownWaitsForPodsAlreadyStopping: a pod that a scale-down is
// stopping is stopped by Shutdown too, not left behind.
func TestShutdownWaitsForPodsAlreadyStopping(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	r := newTestRuntime(t, nil)
	pids := runningPods(t, r, []*unstructured.Unstructured{shDeployment(t, "stubborn-00001", stubborn, 30)})
	scaled := make(chan error, 1)
	go func() {
		scaled <- r.SetScale(context.Background(), scaler.RevisionKey{Namespace: "default", Name: "stubborn-00001"}, 0)
	}()
	for i := 0; ; i++ {
		r.mu.Lock()
		n := len(r.stopping)
		r.mu.Unlock()
		if n == 1 {
			break
		}
		if i == 1000 {
			t.Fatal("the scale-down never began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, now := context.WithCancel(context.Background())
	var told []int
	r.Shutdown(ctx, func(s Stopping) {
		told = append(told, s.PID)
		now()
	})
	if diff := cmp.Diff([]int{pids["stubborn-00001"]}, told); diff != "" {
		t.Errorf("told of (-want +got):\n%s", diff)
	}
	if pid := pids["stubborn-00001"]; alive(pid) {
		t.Errorf("pid %d outlived Shutdown", pid)
	}
	if err := <-scaled; err != nil {
		t.Errorf("SetScale: %v", err)
	}
}

// TestGracePeriod: a revision's terminationGracePeriodSeconds, at most
// 30 s (Knative renders timeoutSeconds there, 300 s by default).
func TestGracePeriod(t *testing.T) {
	for _, tc := range []struct {
		seconds any // nil: not set
		want    time.Duration
	}{
		{nil, 30 * time.Second},
		{int64(2), 2 * time.Second},
		{int64(0), 0},
		{int64(300), 30 * time.Second},
	} {
		d := deployment(t, "a-00001", "registry.example/unused", []string{"true"})
		unstructured.RemoveNestedField(d.Object, "spec", "template", "spec", "terminationGracePeriodSeconds")
		if tc.seconds != nil {
			if err := unstructured.SetNestedField(d.Object, tc.seconds, "spec", "template", "spec", "terminationGracePeriodSeconds"); err != nil {
				t.Fatal(err)
			}
		}
		s, err := parseDeployment(d, indexObjects(nil), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.grace != tc.want {
			t.Errorf("terminationGracePeriodSeconds %v: grace %v, want %v", tc.seconds, s.grace, tc.want)
		}
	}
}
