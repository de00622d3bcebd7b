package window

import (
	"math"
	"time"
)

// Averager is a sliding window of time buckets that yields an average.
type Averager interface {
	// Record adds v to the bucket of now.
	Record(now time.Time, v float64)
	// Average returns the window's average as of now.
	Average(now time.Time) float64
	// IsEmpty reports that nothing was recorded within a window of now.
	IsEmpty(now time.Time) bool
	// Resize changes the window length, keeping the newest buckets.
	Resize(window time.Duration, now time.Time)
}

// precision is the number of decimals a linear average is rounded to.
const precision = 6

// Linear is a window of fixed-width buckets whose average is the mean of
// the buckets between the first and the last write.
//
// Rules (Knative's TimedFloat64Buckets):
//   - Records in the same bucket add up. A record older than one window
//     before the last write is dropped; one that comes after a whole
//     window without writes starts the series afresh.
//   - The average covers the buckets from the first write (or one window
//     back) to the last write. Gaps between writes count as 0; buckets
//     after the last write (a trailing hole, shorter than a window) are
//     left out of both the sum and the count.
//   - More than a window after the last write, the average is 0.
//   - The result is rounded to 6 decimals.
//
// A Linear is not safe for concurrent use.
type Linear struct {
	buckets     []float64
	firstWrite  time.Time
	lastWrite   time.Time
	granularity time.Duration
	window      time.Duration
	total       float64 // sum of buckets
}

var _ Averager = (*Linear)(nil)

// NewLinear returns a window of ceil(window/granularity) buckets.
// granularity must be a whole number of seconds.
func NewLinear(window, granularity time.Duration) *Linear {
	return &Linear{
		buckets:     make([]float64, bucketCount(window, granularity)),
		granularity: granularity,
		window:      window,
	}
}

func bucketCount(window, granularity time.Duration) int {
	return int(math.Ceil(float64(window) / float64(granularity)))
}

// index maps a time to an absolute bucket number.
func (l *Linear) index(t time.Time) int {
	return int(t.Unix()) / int(l.granularity.Seconds())
}

// IsEmpty reports whether more than a window passed since the last write.
func (l *Linear) IsEmpty(now time.Time) bool {
	return now.Truncate(l.granularity).Sub(l.lastWrite) > l.window
}

// Record adds v to the bucket of now.
func (l *Linear) Record(now time.Time, v float64) {
	bucket := now.Truncate(l.granularity)
	at := l.index(now)
	if l.lastWrite != bucket {
		if !bucket.Add(l.window).After(l.lastWrite) {
			// Older than a window before the last write.
			return
		}
		if l.firstWrite.IsZero() || l.firstWrite.After(bucket) {
			l.firstWrite = bucket
		}
		if bucket.After(l.lastWrite) {
			if bucket.Sub(l.lastWrite) >= l.window {
				// A whole window without data: start afresh.
				l.firstWrite = bucket
				clear(l.buckets)
				l.total = 0
			} else {
				// Zero the buckets skipped since the last write; they
				// hold values from a window ago.
				for i := l.index(l.lastWrite) + 1; i <= at; i++ {
					k := i % len(l.buckets)
					l.total -= l.buckets[k]
					l.buckets[k] = 0
				}
			}
			l.lastWrite = bucket
		}
	}
	l.buckets[at%len(l.buckets)] += v
	l.total += v
}

// Average returns the linear average as of now.
func (l *Linear) Average(now time.Time) float64 {
	now = now.Truncate(l.granularity)
	written := float64(l.lastWrite.Sub(l.firstWrite)/l.granularity) + 1 // inclusive
	d := now.Sub(l.lastWrite)
	switch {
	case d <= 0:
		return roundTo(l.total/math.Min(written, float64(len(l.buckets))), precision)
	case d < l.window:
		// Leave out the trailing hole: the buckets after the last write
		// still hold values from a window ago.
		last, cur := l.index(l.lastWrite), l.index(now)
		sum := l.total
		for i := last + 1; i <= cur; i++ {
			sum -= l.buckets[i%len(l.buckets)]
		}
		return roundTo(sum/math.Min(written, float64(len(l.buckets)-(cur-last))), precision)
	default:
		return 0
	}
}

// Resize changes the window length, keeping the newest buckets when the
// window still holds data at now.
func (l *Linear) Resize(window time.Duration, now time.Time) {
	if window == l.window {
		return
	}
	n := bucketCount(window, l.granularity)
	buckets := make([]float64, n)
	total := 0.0
	if now.Truncate(l.granularity).Sub(l.lastWrite) <= l.window {
		old := len(l.buckets)
		i := l.index(l.lastWrite)
		for range min(n, old) {
			buckets[i%n] = l.buckets[i%old]
			total += l.buckets[i%old]
			i--
		}
		l.firstWrite = l.lastWrite.Add(-time.Duration(old-1) * l.granularity)
	} else {
		l.firstWrite = time.Time{}
	}
	l.window = window
	l.buckets = buckets
	l.total = total
}

func roundTo(f float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(f*p) / p
}
