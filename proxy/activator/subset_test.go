package activator

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestActivatorIndex(t *testing.T) {
	const self = "10.10.10.3"
	for _, tc := range []struct {
		name      string
		acts      []string
		self      string
		wantIndex int
		wantN     int
	}{
		{"none", nil, self, -1, 0},
		{"not listed", []string{"11.11.11.11", "11.11.11.12"}, self, -1, 2},
		{"first", []string{"10.10.10.3", "11.11.11.11"}, self, 0, 2},
		{"middle", []string{"10.10.10.1", "10.10.10.2", "10.10.10.3", "11.11.11.11"}, self, 2, 4},
		{"last", []string{"10.10.10.1", "10.10.10.2", "10.10.10.3"}, self, 2, 3},
		{"unsorted input", []string{"11.11.11.11", "10.10.10.3", "10.10.10.1"}, self, 1, 3},
		{"duplicates count once", []string{"10.10.10.1", "10.10.10.3", "10.10.10.1"}, self, 1, 2},
		{"self unknown", []string{"", "10.10.10.1"}, "", -1, 2},
		{"loopback host:port", []string{"127.0.0.1:40001", "127.0.0.1:39999"}, "127.0.0.1:40001", 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.acts)
			i, n := activatorIndex(tc.acts, tc.self)
			if i != tc.wantIndex || n != tc.wantN {
				t.Errorf("activatorIndex = %d of %d, want %d of %d", i, n, tc.wantIndex, tc.wantN)
			}
			if d := cmp.Diff(in, tc.acts); d != "" {
				t.Errorf("input changed (-before +after):\n%s", d)
			}
		})
	}
}

// podList is ["p0", "p1", …]: pods sorted by address.
func podList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("p%02d", i)
	}
	return out
}

func span(from, to int) []string { return podList(to)[from:to] }

func TestAssignPods(t *testing.T) {
	for _, tc := range []struct {
		name              string
		pods, index, acts int
		want              []string
	}{
		// Knative's pickIndices and assignSlice cases.
		{"no pods", 0, 0, 1, []string{}},
		{"one activator takes all", 3, 1, 1, span(0, 3)},
		{"not among the activators takes all", 3, -1, 1, span(0, 3)},
		{"3 pods, 3 activators, this is 1", 3, 1, 3, []string{"p01"}},
		{"one pod is everyone's", 1, 1, 3, []string{"p00"}},
		{"3 pods, 2 activators, this is 1", 3, 1, 2, []string{"p01"}},
		{"1 pod, 2 activators, this is 1", 1, 1, 2, []string{"p00"}},
		{"2 pods, 3 activators, this is 1", 2, 1, 3, []string{"p01"}},
		{"2 pods, 3 activators, this is 2", 2, 2, 3, []string{"p00"}},
		{"3 pods, 3 activators, this is 2", 3, 2, 3, []string{"p02"}},
		{"10 pods, 3 activators, this is 0 (+ a tail pod)", 10, 0, 3, append(span(0, 3), "p09")},
		{"10 pods, 3 activators, this is 1", 10, 1, 3, span(3, 6)},
		{"10 pods, 3 activators, this is 2", 10, 2, 3, span(6, 9)},
		{"150 pods, 5 activators, this is 0", 150, 0, 5, span(0, 30)},
		{"150 pods, 5 activators, this is 1", 150, 1, 5, span(30, 60)},
		{"150 pods, 5 activators, this is 4", 150, 4, 5, span(120, 150)},
		// 20 pods over 3 activators leave 2 tail pods, for activators 0
		// and 1; 24 over 5 leave 4, for activators 0..3.
		{"20 pods, 3 activators, this is 1", 20, 1, 3, append(span(6, 12), "p19")},
		{"20 pods, 3 activators, this is 2", 20, 2, 3, span(12, 18)},
		{"24 pods, 5 activators, this is 3", 24, 3, 5, append(span(12, 16), "p23")},
		{"24 pods, 5 activators, this is 4", 24, 4, 5, span(16, 20)},
		{"index past the activators takes all", 3, 3, 3, span(0, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pods := podList(tc.pods)
			got := assignPods(pods, tc.index, tc.acts)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("assignPods(%d pods, %d, %d) (-want +got):\n%s", tc.pods, tc.index, tc.acts, d)
			}
			if d := cmp.Diff(podList(tc.pods), pods); d != "" {
				t.Errorf("pods changed (-before +after):\n%s", d)
			}
		})
	}
}

// TestAssignPodsPartitions: with at least as many pods as activators, the
// activators' shares are disjoint and cover every pod, and no two shares
// differ in size by more than one; with fewer pods, every activator has
// one pod and every pod is used.
func TestAssignPodsPartitions(t *testing.T) {
	for p := 0; p <= 24; p++ {
		for n := 1; n <= 7; n++ {
			pods := podList(p)
			owner := map[string]int{}
			sizes := []int{}
			for i := range n {
				share := assignPods(pods, i, n)
				sizes = append(sizes, len(share))
				for _, x := range share {
					if prev, ok := owner[x]; ok && p >= n {
						t.Errorf("P=%d A=%d: %s taken by activators %d and %d", p, n, x, prev, i)
					}
					owner[x] = i
				}
				if p > 0 && p < n && len(share) != 1 {
					t.Errorf("P=%d A=%d: activator %d takes %d pods, want 1", p, n, i, len(share))
				}
			}
			if len(owner) != p {
				t.Errorf("P=%d A=%d: %d pods used, want all", p, n, len(owner))
			}
			if p >= n && slices.Max(sizes)-slices.Min(sizes) > 1 {
				t.Errorf("P=%d A=%d: share sizes %v", p, n, sizes)
			}
		}
	}
}

// TestThrottlerShare: the throttler takes its share of the pods when it
// learns its place among the activators, again when pods or
// containerConcurrency change, and every pod when concurrency is
// unlimited or it is not among the activators.
func TestThrottlerShare(t *testing.T) {
	th := newThrottler(1, 10, nil)
	th.setPods([]string{"c:1", "a:1", "b:1"})
	if d := cmp.Diff([]string{"a:1", "b:1", "c:1"}, th.assigned()); d != "" {
		t.Errorf("alone (-want +got):\n%s", d)
	}
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"activator 1 of 2", func() { th.setActivators(1, 2) }, []string{"b:1"}},
		{"activator 0 of 2", func() { th.setActivators(0, 2) }, []string{"a:1", "c:1"}},
		{"a fourth pod", func() { th.setPods([]string{"a:1", "b:1", "c:1", "d:1"}) }, []string{"a:1", "b:1"}},
		{"activator 2 of 5", func() { th.setActivators(2, 5) }, []string{"c:1"}},
		{"unlimited concurrency", func() { th.setCC(0) }, []string{"a:1", "b:1", "c:1", "d:1"}},
		{"limited again", func() { th.setCC(4) }, []string{"c:1"}},
		{"not among the activators", func() { th.setActivators(-1, 5) }, []string{"a:1", "b:1", "c:1", "d:1"}},
	}
	for _, s := range steps {
		s.do()
		if d := cmp.Diff(s.want, th.assigned()); d != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, d)
		}
	}
	if th.setActivators(-1, 5) {
		t.Error("setActivators reported a change for the same place")
	}
}

// TestThrottlerShareReleasesHeld: a request held because this activator's
// share is full goes out when the share grows, and a pod keeps counting
// the requests in flight to it as it leaves and rejoins the share.
func TestThrottlerShareReleasesHeld(t *testing.T) {
	th := newThrottler(1, 10, nil)
	th.setPods([]string{"a:1", "b:1"})
	th.setActivators(1, 2) // takes b:1 only
	ctx := context.Background()
	addr, release, err := th.acquire(ctx)
	if err != nil || addr != "b:1" {
		t.Fatalf("first = %q %v, want b:1", addr, err)
	}
	got := make(chan string, 1)
	go func() {
		a, rel, err := th.acquire(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- a
		rel()
	}()
	for n := 0; ; n++ {
		if _, held := th.snapshot(); held == 1 {
			break
		}
		if n > 1e6 {
			t.Fatal("request never held")
		}
		runtime.Gosched()
	}
	th.setActivators(-1, 2) // every pod: a:1 is free, b:1 still busy
	if a := <-got; a != "a:1" {
		t.Errorf("held request went to %q, want a:1", a)
	}
	th.setActivators(1, 2)
	if _, _, err := th.acquireNow(); err == nil {
		t.Error("b:1 took a second request while one is in flight")
	}
	release()
	if a, rel, err := th.acquireNow(); err != nil || a != "b:1" {
		t.Errorf("after release = %q %v, want b:1", a, err)
	} else {
		rel()
	}
}

// acquireNow takes a slot without waiting.
func (t *throttler) acquireNow() (string, func(), error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g, ok := t.tryLocked(); ok {
		return g.addr, g.release, nil
	}
	return "", nil, errors.New("no free pod")
}
