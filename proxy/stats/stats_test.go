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
	tr.Out(at(1000), true, 200, 500*time.Millisecond)
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

	tr.Out(at(4600), false, 200, 4600*time.Millisecond)
	got = tr.Stat(at(5000))
	want = metric.Stat{PodName: "pod-a", AverageConcurrentRequests: 0.6, ProcessUptime: 5, Timestamp: 1005,
		Responses: 1, Latency: latency(4600 * time.Millisecond)}
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
			tr.Out(now, false, 200, time.Millisecond)
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
		pass.Pass(at(e.ms), e.proxied, 503)
		inOut.In(at(e.ms), e.proxied)
		inOut.Out(at(e.ms), e.proxied, 503, 0)
	}
	inOut.In(at(1500), false)
	pass.In(at(1500), false)
	for _, ms := range []int{1000, 2000, 3000} {
		if diff := cmp.Diff(inOut.Stat(at(ms)), pass.Stat(at(ms))); diff != "" {
			t.Errorf("Stat at %d ms (-In/Out +Pass):\n%s", ms, diff)
		}
	}
}

// latency returns a wire histogram holding the latencies ds.
func latency(ds ...time.Duration) []uint32 {
	var h []uint32
	for _, d := range ds {
		b := metric.Bucket(d)
		for len(h) <= b {
			h = append(h, 0)
		}
		h[b]++
	}
	return h
}

// TestAnswers: the answers of a second, by class and latency; proxied
// requests and upgraded connections are not counted.
func TestAnswers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		out  func(tr *Tracker)
		want metric.Stat
	}{
		{"none", func(tr *Tracker) {}, metric.Stat{}},
		{"classes and latencies", func(tr *Tracker) {
			for i, code := range []int{200, 204, 301, 404, 500, 502, 503, 504} {
				tr.In(at(10*i), false)
				tr.Out(at(10*i+5), false, code, time.Duration(i+1)*10*ms)
			}
		}, metric.Stat{Responses: 8, Failures: 4, Latency: latency(10*ms, 20*ms, 30*ms, 40*ms, 50*ms, 60*ms, 70*ms, 80*ms)}},
		{"proxied left to the activator", func(tr *Tracker) {
			tr.In(at(0), true)
			tr.Out(at(1), true, 500, ms)
			tr.Pass(at(2), true, 503)
		}, metric.Stat{}},
		{"rejections", func(tr *Tracker) {
			tr.Pass(at(0), false, 503)
			tr.Pass(at(1), false, 503)
		}, metric.Stat{Responses: 2, Failures: 2, Latency: []uint32{2}}},
		{"upgrades and no status", func(tr *Tracker) {
			tr.In(at(0), false)
			tr.Out(at(1), false, 101, 900*ms)
			tr.In(at(2), false)
			tr.Out(at(3), false, 0, ms)
		}, metric.Stat{}},
		{"next second not counted", func(tr *Tracker) {
			tr.In(at(900), false)
			tr.Out(at(1000), false, 500, 100*ms)
		}, metric.Stat{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New("p", t0)
			tc.out(tr)
			got := tr.Stat(at(1500))
			got = metric.Stat{Responses: got.Responses, Failures: got.Failures, Latency: got.Latency}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
		})
	}
	// The answers of one second do not leak into the next.
	tr := New("p", t0)
	tr.Pass(at(0), false, 200)
	tr.Stat(at(1000))
	if got := tr.Stat(at(2000)); got.Responses != 0 || got.Latency != nil {
		t.Errorf("second 1 = %+v, want no answers", got)
	}
}

// TestWallClockSeconds: buckets are the wall-clock seconds whenever the
// tracker starts, so every reporter's second is the same second.
func TestWallClockSeconds(t *testing.T) {
	t0 := time.Unix(1000, 300e6) // 1000.3
	tr := New("p", t0)
	tr.Pass(t0.Add(600*time.Millisecond), false, 200) // 1000.9: second (1000, 1001]
	tr.Pass(t0.Add(800*time.Millisecond), false, 200) // 1001.1: second (1001, 1002]
	got := tr.Stat(time.Unix(1001, 500e6))
	if got.Timestamp != 1001 || got.Responses != 1 {
		t.Errorf("at 1001.5: second %d with %d answers, want 1001 with 1", got.Timestamp, got.Responses)
	}
	got = tr.Stat(time.Unix(1002, 0))
	if got.Timestamp != 1002 || got.Responses != 1 {
		t.Errorf("at 1002: second %d with %d answers, want 1002 with 1", got.Timestamp, got.Responses)
	}
}
