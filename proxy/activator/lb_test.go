package activator

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pods(inflight ...int) []*pod {
	var ps []*pod
	for i, n := range inflight {
		ps = append(ps, &pod{addr: fmt.Sprintf("10.0.0.%d:8012", i+1), inflight: n})
	}
	return ps
}

func TestPolicies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pol    policy
		pods   []*pod
		cc, rr int
		want   string // "" = none
		wantRR int
	}{
		{"first available skips full", firstAvailable, pods(1, 0, 0), 1, 0, "10.0.0.2:8012", 0},
		{"first available none", firstAvailable, pods(2, 2), 2, 0, "", 0},
		{"first available empty", firstAvailable, nil, 1, 0, "", 0},
		{"round robin from position", roundRobin, pods(0, 0, 0), 5, 1, "10.0.0.2:8012", 2},
		{"round robin skips full", roundRobin, pods(0, 5, 0), 5, 1, "10.0.0.3:8012", 0},
		{"round robin wraps", roundRobin, pods(0, 5, 5), 5, 1, "10.0.0.1:8012", 1},
		{"round robin none", roundRobin, pods(5, 5), 5, 0, "", 0},
		{"power of two single", powerOfTwo, pods(7), 0, 0, "10.0.0.1:8012", 0},
		{"power of two takes the idler", powerOfTwo, pods(9, 0), 0, 0, "10.0.0.2:8012", 0},
		{"power of two empty", powerOfTwo, nil, 0, 0, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := tc.rr
			p, release := tc.pol(tc.pods, tc.cc, &rr)
			got := ""
			if p != nil {
				got = p.addr
				before := p.inflight
				release()
				if p.inflight != before-1 {
					t.Errorf("release left inflight %d, want %d", p.inflight, before-1)
				}
			}
			if got != tc.want || rr != tc.wantRR {
				t.Errorf("picked %q rr=%d, want %q rr=%d", got, rr, tc.want, tc.wantRR)
			}
		})
	}
}

func TestPowerOfTwoBalances(t *testing.T) {
	ps := pods(0, 0, 0, 0)
	counts := map[string]int{}
	var releases []func()
	for range 4000 {
		p, rel := powerOfTwo(ps, 0, nil)
		counts[p.addr]++
		releases = append(releases, rel)
		if len(releases) == 8 {
			for _, r := range releases {
				r()
			}
			releases = releases[:0]
		}
	}
	for a, n := range counts {
		if n < 900 || n > 1100 {
			t.Errorf("pod %s got %d of 4000, want about 1000 (%v)", a, n, counts)
		}
	}
}

func TestThrottlerRemovedPodNeverChosenAgain(t *testing.T) {
	th := newThrottler(10, 10, nil)
	th.setPods([]string{"a:1", "b:1"})
	ctx := context.Background()
	addr, release, err := th.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The pod in flight disappears; the other stays.
	other := map[string]string{"a:1": "b:1", "b:1": "a:1"}[addr]
	th.setPods([]string{other})
	for range 20 {
		got, rel, err := th.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != other {
			t.Fatalf("chose %s after it was removed", got)
		}
		rel()
	}
	release() // releasing on a removed pod is harmless
	got, _ := th.snapshot()
	if diff := cmp.Diff([]string{other}, got); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
}

func TestThrottlerHoldsAndReleases(t *testing.T) {
	held := 0
	th := newThrottler(1, 2, func() { held++ })
	ctx := context.Background()
	got := make(chan string, 2)
	for range 2 {
		go func() {
			addr, rel, err := th.acquire(ctx)
			if err != nil {
				got <- err.Error()
				return
			}
			got <- addr
			rel()
		}()
	}
	for n := 0; ; n++ {
		if _, w := th.snapshot(); w == 2 {
			break
		}
		if n > 1e6 {
			t.Fatal("requests never queued")
		}
		runtime.Gosched()
	}
	if _, _, err := th.acquire(ctx); err != errQueueFull {
		t.Errorf("third request = %v, want queue full", err)
	}
	th.setPods([]string{"p:1"})
	for range 2 {
		if a := <-got; a != "p:1" {
			t.Errorf("held request got %q", a)
		}
	}
	if held != 1 {
		t.Errorf("onHold called %d times, want 1", held)
	}
}

func TestThrottlerCancelledWaiterLeaves(t *testing.T) {
	th := newThrottler(1, 5, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := th.acquire(ctx); err != context.Canceled {
		t.Fatalf("acquire = %v, want context.Canceled", err)
	}
	if _, w := th.snapshot(); w != 0 {
		t.Errorf("%d waiters left", w)
	}
}
