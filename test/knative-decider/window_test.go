package knativedecider

import (
	"math/rand/v2"
	"testing"
	"time"

	"knative.dev/serving/pkg/autoscaler/aggregation"

	"github.com/ebb-dev/ebb/scaler/window"
)

// knWindow is the part of Knative's bucket types both windows share.
type knWindow interface {
	Record(time.Time, float64)
	WindowAverage(time.Time) float64
	IsEmpty(time.Time) bool
}

// TestWindowsAgree records the same randomized samples (sub-second
// times, several per second, late and very late writes, gaps longer than
// a window) into ebb's and Knative's linear and weighted windows and
// requires bit-identical averages at every read.
func TestWindowsAgree(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	var reads, nonZero int
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 0x77))
		w := time.Duration(1+r.IntN(90)) * time.Second
		weighted := seed%2 == 1
		var ours window.Averager
		var theirs knWindow
		if weighted {
			ours, theirs = window.NewWeighted(w, time.Second), aggregation.NewWeightedFloat64Buckets(w, time.Second)
		} else {
			ours, theirs = window.NewLinear(w, time.Second), aggregation.NewTimedFloat64Buckets(w, time.Second)
		}
		now := base.Add(time.Duration(r.IntN(1000)) * time.Millisecond)
		for i := range 2000 {
			switch r.IntN(40) {
			case 0: // a gap, sometimes longer than the window
				now = now.Add(time.Duration(r.Int64N(int64(2 * w))))
			default:
				now = now.Add(time.Duration(r.IntN(1300)) * time.Millisecond)
			}
			at := now
			if r.IntN(10) == 0 { // a late write, sometimes too late
				at = now.Add(-time.Duration(r.Int64N(int64(w + 3*time.Second))))
			}
			v := r.Float64() * 300
			if r.IntN(5) == 0 {
				v = float64(r.IntN(4))
			}
			ours.Record(at, v)
			theirs.Record(at, v)

			read := now.Add(time.Duration(r.IntN(4000)-1000) * time.Millisecond)
			got, want := ours.Average(read), theirs.WindowAverage(read)
			reads++
			if want != 0 {
				nonZero++
			}
			if got != want || ours.IsEmpty(read) != theirs.IsEmpty(read) {
				t.Fatalf("seed %d (window %v, weighted %v) step %d: average %v empty %v, knative %v empty %v",
					seed, w, weighted, i, got, ours.IsEmpty(read), want, theirs.IsEmpty(read))
			}
		}
	}
	t.Logf("%d reads compared, %d non-zero", reads, nonZero)
}
