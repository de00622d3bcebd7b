package metric

import (
	"math"
	"time"
)

// LatencyBounds are the upper bounds (inclusive) of the latency
// histogram's buckets, part of the wire format: 1, 1.5, 2, 3, 4, 5, 6 and
// 8 per decade from 1 ms to 8 s, then 10 s to 60 s. A bucket is at most
// 1.5 times as wide as the one below it. Bucket len(LatencyBounds) holds
// the latencies over 60 s.
var LatencyBounds = [...]time.Duration{
	1 * time.Millisecond, 1500 * time.Microsecond, 2 * time.Millisecond, 3 * time.Millisecond,
	4 * time.Millisecond, 5 * time.Millisecond, 6 * time.Millisecond, 8 * time.Millisecond,
	10 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond,
	40 * time.Millisecond, 50 * time.Millisecond, 60 * time.Millisecond, 80 * time.Millisecond,
	100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond,
	400 * time.Millisecond, 500 * time.Millisecond, 600 * time.Millisecond, 800 * time.Millisecond,
	1 * time.Second, 1500 * time.Millisecond, 2 * time.Second, 3 * time.Second,
	4 * time.Second, 5 * time.Second, 6 * time.Second, 8 * time.Second,
	10 * time.Second, 15 * time.Second, 20 * time.Second, 30 * time.Second,
	40 * time.Second, 50 * time.Second, 60 * time.Second,
}

// Buckets is the number of latency buckets, the one over 60 s included.
const Buckets = len(LatencyBounds) + 1

// Bucket returns the index of the bucket holding latency d.
func Bucket(d time.Duration) int {
	// A binary search over the 39 bounds: six comparisons, no allocation.
	lo, hi := 0, len(LatencyBounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if LatencyBounds[m] < d {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Figures is a revision's traffic over a period, as its pods and the
// activators reported it.
type Figures struct {
	// Requests is the number of requests answered in the period.
	Requests int64
	// Failures is the part of Requests answered with a 5xx status,
	// failed connections to the app included.
	Failures int64
	// P99 is the 99th percentile latency, interpolated within its
	// histogram bucket as Prometheus's histogram_quantile does; 0 with no
	// requests.
	P99 time.Duration
}

// SuccessRate is the percentage of requests that did not fail, 100 with
// no requests.
func (f Figures) SuccessRate() float64 {
	if f.Requests <= 0 {
		return 100
	}
	return 100 * float64(f.Requests-f.Failures) / float64(f.Requests)
}

// Tally adds up answers (from Stats, or one by one) into Figures.
type Tally struct {
	Requests, Failures int64
	Latency            [Buckets]int64
}

// Add adds a stat's answers.
func (t *Tally) Add(s Stat) {
	t.Requests += s.Responses
	t.Failures += s.Failures
	for i, n := range s.Latency[:min(len(s.Latency), Buckets)] {
		t.Latency[i] += int64(n)
	}
}

// Figures returns the tally's figures, its p99 from the histogram.
func (t *Tally) Figures() Figures {
	return Figures{Requests: t.Requests, Failures: t.Failures, P99: t.Quantile(0.99)}
}

// Quantile returns the q-quantile (0 < q ≤ 1) of the latencies, as
// Prometheus's histogram_quantile computes it: the bucket holding the
// q·count-th latency, linearly interpolated between its bounds (the first
// bucket starts at 0; the one over 60 s answers 60 s). 0 when the
// histogram is empty.
func (t *Tally) Quantile(q float64) time.Duration {
	var total int64
	for _, n := range t.Latency {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var below int64
	for i, n := range t.Latency {
		if n == 0 || float64(below+n) < rank {
			below += n
			continue
		}
		if i == len(LatencyBounds) {
			return LatencyBounds[i-1]
		}
		var lower time.Duration
		if i > 0 {
			lower = LatencyBounds[i-1]
		}
		frac := (rank - float64(below)) / float64(n)
		return lower + time.Duration(math.Round(frac*float64(LatencyBounds[i]-lower)))
	}
	return LatencyBounds[len(LatencyBounds)-1]
}
