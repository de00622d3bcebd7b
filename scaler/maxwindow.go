package scaler

import (
	"math"
	"time"
)

// MaxWindow is a sliding maximum over time buckets: Record puts a value in
// the bucket of its time (Unix seconds / granularity), and Current returns
// the largest value recorded in the last Buckets buckets, the newest
// included. Two records in one bucket keep the larger value.
//
// It is a value: Record returns the next window and leaves the receiver
// unchanged, so a decider state holding one can be copied and compared.
// It keeps a monotonic queue, so its size is bounded by Buckets and is
// usually a handful of entries.
type MaxWindow struct {
	// Buckets is the number of buckets the window spans.
	Buckets int
	// Granularity is the bucket width, a whole number of seconds.
	Granularity time.Duration
	// Entries is the monotonic queue, oldest (and largest) first.
	Entries []MaxEntry
}

// MaxEntry is one bucket of a MaxWindow.
type MaxEntry struct {
	Index int
	Value int32
}

// NewMaxWindow returns an empty window spanning ceil(d / granularity)
// buckets.
func NewMaxWindow(d, granularity time.Duration) MaxWindow {
	return MaxWindow{
		Buckets:     int(math.Ceil(float64(d) / float64(granularity))),
		Granularity: granularity,
	}
}

// Record returns the window with v recorded at now.
func (w MaxWindow) Record(now time.Time, v int32) MaxWindow {
	index := int(now.Unix()) / int(w.Granularity.Seconds())
	// Drop values that v dominates from the back. An entry of this very
	// bucket with a larger value stays and absorbs v below.
	n := len(w.Entries)
	for n > 0 && v >= w.Entries[n-1].Value {
		n--
	}
	// Drop buckets that left the window from the front.
	first := 0
	for first < n && index-w.Entries[first].Index >= w.Buckets {
		first++
	}
	kept := w.Entries[first:n]
	if k := len(kept); k > 0 && kept[k-1].Index == index {
		v = max(v, kept[k-1].Value)
		kept = kept[:k-1]
	}
	next := make([]MaxEntry, len(kept), len(kept)+1)
	copy(next, kept)
	w.Entries = append(next, MaxEntry{Index: index, Value: v})
	return w
}

// Current returns the maximum in the window, 0 when nothing was recorded.
func (w MaxWindow) Current() int32 {
	if len(w.Entries) == 0 {
		return 0
	}
	return w.Entries[0].Value
}
