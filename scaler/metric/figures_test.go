package metric

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBucket(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0},
		{ms, 0},
		{ms + 1, 1},
		{1500 * time.Microsecond, 1},
		{7 * ms, 7},
		{8 * ms, 7},
		{12 * ms, 9},
		{250 * ms, 19},
		{time.Second, 24},
		{60 * time.Second, 38},
		{60*time.Second + 1, 39},
		{time.Hour, 39},
	} {
		if got := Bucket(tc.d); got != tc.want {
			t.Errorf("Bucket(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	for i := 1; i < len(LatencyBounds); i++ {
		lo, hi := LatencyBounds[i-1], LatencyBounds[i]
		if hi <= lo || float64(hi) > 1.5*float64(lo) {
			t.Errorf("bounds %v, %v: want increasing, at most 1.5 times apart", lo, hi)
		}
	}
}

// hist returns a histogram with n latencies in the bucket of each d.
func hist(pairs ...any) [Buckets]int64 {
	var h [Buckets]int64
	for i := 0; i < len(pairs); i += 2 {
		h[Bucket(pairs[i].(time.Duration))] += int64(pairs[i+1].(int))
	}
	return h
}

func TestQuantile(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		h    [Buckets]int64
		q    float64
		want time.Duration
	}{
		{"empty", [Buckets]int64{}, 0.99, 0},
		// 100 in (4ms, 5ms]: rank 99 of 100 → 4ms + 0.99·1ms.
		{"one bucket", hist(5*ms, 100), 0.99, 4*ms + 990*time.Microsecond},
		// 99 fast, 1 in (200ms, 300ms]: rank 99 is the last fast one.
		{"tail below rank", hist(ms, 99, 250*ms, 1), 0.99, ms},
		// 98 fast, 2 slow: rank 99 is the first of the 2 in (200, 300] → 250ms.
		{"tail at rank", hist(ms, 98, 250*ms, 2), 0.99, 250 * ms},
		{"first bucket from zero", hist(ms, 10), 0.5, 500 * time.Microsecond},
		{"over 60s", hist(2*time.Minute, 5), 0.99, 60 * time.Second},
		{"median", hist(10*ms, 50, 100*ms, 50), 0.5, 10 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := Tally{Latency: tc.h}
			if got := tl.Quantile(tc.q); got != tc.want {
				t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func TestTally(t *testing.T) {
	var tl Tally
	tl.Add(Stat{Responses: 10, Failures: 1, Latency: []uint32{0, 0, 0, 0, 0, 10}})
	tl.Add(Stat{Responses: 90, Failures: 4, Latency: []uint32{0, 0, 0, 0, 0, 89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}})
	tl.Add(Stat{RequestCount: 3}) // an older peer: no answers
	got := tl.Figures()
	want := Figures{Requests: 100, Failures: 5, P99: 5 * time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Figures (-want +got):\n%s", diff)
	}
	if got, want := got.SuccessRate(), 95.0; got != want {
		t.Errorf("SuccessRate = %v, want %v", got, want)
	}
	if got := (Figures{}).SuccessRate(); got != 100 {
		t.Errorf("SuccessRate with no requests = %v, want 100", got)
	}
	// A histogram longer than this package's (a newer peer) is cut.
	long := make([]uint32, Buckets+3)
	long[Buckets+2] = 7
	tl.Add(Stat{Latency: long})
}

// TestWireFigures pins the names of the answers' fields.
func TestWireFigures(t *testing.T) {
	st := Stat{PodName: "p", Timestamp: 5, Responses: 3, Failures: 1, Latency: []uint32{2, 0, 1}}
	got, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"podName":"p","averageConcurrentRequests":0,"averageProxiedConcurrentRequests":0,"requestCount":0,"proxiedRequestCount":0,"processUptime":0,"timestamp":5,"responses":3,"failures":1,"latency":[2,0,1]}`
	if string(got) != want {
		t.Errorf("encoding:\n got %s\nwant %s", got, want)
	}
}
