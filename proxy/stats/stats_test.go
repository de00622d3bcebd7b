package stats

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ebb-dev/ebb/scaler/metric"
)

func TestTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tr := New("pod-a", t0)

	// Second 0: one request for the whole second, one proxied for half.
	tr.In(at(0), false)
	tr.In(at(500), true)
	tr.Out(at(1000), true)
	got := tr.Stat(at(1000))
	want := metric.Stat{PodName: "pod-a", AverageConcurrentRequests: 1.5, AverageProxiedConcurrentRequests: 0.5,
		RequestCount: 2, ProxiedRequestCount: 1, ProcessUptime: 1, Timestamp: 1001}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("second 0 (-want +got):\n%s", diff)
	}

	// Second 1 still open: Stat keeps returning second 0.
	if got := tr.Stat(at(1999)); got.RequestCount != 2 {
		t.Errorf("open second leaked: %+v", got)
	}

	// Seconds 1..3 pass with one request in flight and no events.
	got = tr.Stat(at(4200))
	want = metric.Stat{PodName: "pod-a", AverageConcurrentRequests: 1, ProcessUptime: 4.2, Timestamp: 1004}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("idle seconds (-want +got):\n%s", diff)
	}

	tr.Out(at(4600), false)
	got = tr.Stat(at(5000))
	want = metric.Stat{PodName: "pod-a", AverageConcurrentRequests: 0.6, ProcessUptime: 5, Timestamp: 1005}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("second 4 (-want +got):\n%s", diff)
	}
	if n := tr.InFlight(); n != 0 {
		t.Errorf("InFlight = %d, want 0", n)
	}
}

func BenchmarkTrackerInOut(b *testing.B) {
	tr := New("p", time.Now())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			tr.In(now, false)
			tr.Out(now, false)
		}
	})
}

// TestPassIsInThenOut: Pass counts like In and Out at the same instant.
func TestPassIsInThenOut(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	pass, inOut := New("p", t0), New("p", t0)
	for _, e := range []struct {
		ms      int
		proxied bool
	}{{100, false}, {300, true}, {1200, true}, {1250, false}} {
		pass.Pass(at(e.ms), e.proxied)
		inOut.In(at(e.ms), e.proxied)
		inOut.Out(at(e.ms), e.proxied)
	}
	inOut.In(at(1500), false)
	pass.In(at(1500), false)
	for _, ms := range []int{1000, 2000, 3000} {
		if diff := cmp.Diff(inOut.Stat(at(ms)), pass.Stat(at(ms))); diff != "" {
			t.Errorf("Stat at %d ms (-In/Out +Pass):\n%s", ms, diff)
		}
	}
}
