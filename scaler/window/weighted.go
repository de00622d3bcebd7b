package window

import (
	"math"
	"time"
)

// Smoothing constants of the weighted-exponential average.
const (
	minSmoothing    = 0.2
	weightPrecision = 0.9999
)

// SmoothingCoefficient returns α for a window of n buckets:
// max(0.2, 1 − 0.0001^(1/n)), so that the window's buckets carry 99.99 %
// of the weight (6 buckets → 0.78456, 40 → 0.20567, 60 → 0.2).
func SmoothingCoefficient(n int) float64 {
	return math.Max(1-math.Pow(1-weightPrecision, 1/float64(n)), minSmoothing)
}

// Weighted is a window of buckets averaged with exponentially decaying
// weights: Σ value_i·α·(1−α)^i over the buckets, newest first. Seconds
// without data since the last write count as empty newest buckets (they
// shift the exponent). It records like Linear and is not safe for
// concurrent use.
type Weighted struct {
	Linear
	alpha float64
}

var _ Averager = (*Weighted)(nil)

// NewWeighted returns a weighted-exponential window.
func NewWeighted(window, granularity time.Duration) *Weighted {
	return &Weighted{
		Linear: *NewLinear(window, granularity),
		alpha:  SmoothingCoefficient(bucketCount(window, granularity)),
	}
}

// Average returns the weighted-exponential average as of now.
func (w *Weighted) Average(now time.Time) float64 {
	now = now.Truncate(w.granularity)
	if w.IsEmpty(now) {
		return 0
	}
	n := len(w.buckets)
	count := n
	weight := w.alpha
	if now.After(w.lastWrite) {
		holes := now.Sub(w.lastWrite) / w.granularity
		weight *= math.Pow(1-w.alpha, float64(holes))
		count -= int(holes)
	}
	start := w.index(w.lastWrite) + n // keeps the modulo non-negative
	sum := 0.0
	for i := range count {
		sum += w.buckets[(start-i)%n] * weight
		weight *= 1 - w.alpha
	}
	return sum
}

// Resize changes the window length and recomputes α.
func (w *Weighted) Resize(window time.Duration, now time.Time) {
	w.Linear.Resize(window, now)
	w.alpha = SmoothingCoefficient(bucketCount(window, w.granularity))
}
