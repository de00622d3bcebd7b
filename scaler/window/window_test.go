package window

import (
	"fmt"
	"math"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestLinearKnativeVectors(t *testing.T) {
	// Knative's TestTimedFloat64BucketsWindowAverage, window 5 s.
	l := NewLinear(5*time.Second, time.Second)
	for i := range 5 {
		l.Record(at(float64(i)), float64(i+1))
	}
	checks := []struct {
		at   float64
		want float64
	}{
		{4, 3},
		{4.9, 3},
		{6, 4}, // short trailing hole: (15 − 1 − 2) / 3
		{10, 0},
	}
	for _, c := range checks {
		if got := l.Average(at(c.at)); got != c.want {
			t.Errorf("Average at t%v = %v, want %v", c.at, got, c.want)
		}
	}
	l.Record(at(6), 91)
	if got := l.Average(at(6)); got != 20.6 {
		t.Errorf("after 91 at t6: %v, want 20.6", got)
	}
}

func TestLinearRules(t *testing.T) {
	tests := []struct {
		name    string
		records [][2]float64 // second, value
		read    float64
		want    float64
	}{
		{"one value", [][2]float64{{0, 7}}, 0, 7},
		{"same second adds up", [][2]float64{{0, 3}, {0.5, 4}}, 0, 7},
		{"gap counts as zero", [][2]float64{{0, 6}, {3, 6}}, 3, 3},
		{"partial window from first write", [][2]float64{{10, 2}, {11, 4}}, 11, 3},
		{"full window caps the count", [][2]float64{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7, 1}}, 7, 1},
		{"old write ignored", [][2]float64{{10, 5}, {4, 100}}, 10, 5},
		{"late write within window counts", [][2]float64{{10, 5}, {8, 1}}, 10, 2},
		{"reset after a whole window", [][2]float64{{0, 100}, {5, 1}}, 5, 1},
		{"exactly a window after last write", [][2]float64{{0, 9}}, 5, 0},
		{"rounded to 6 decimals", [][2]float64{{0, 1}, {1, 1}, {2, 0}}, 2, 0.666667},
		{"nothing recorded", nil, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLinear(5*time.Second, time.Second)
			for _, r := range tt.records {
				l.Record(at(r[0]), r[1])
			}
			if got := l.Average(at(tt.read)); got != tt.want {
				t.Errorf("Average = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsEmpty(t *testing.T) {
	l := NewLinear(5*time.Second, time.Second)
	if !l.IsEmpty(t0) {
		t.Error("new window not empty")
	}
	l.Record(t0, 1)
	for s, want := range map[float64]bool{0: false, 5: false, 5.9: false, 6: true} {
		if got := l.IsEmpty(at(s)); got != want {
			t.Errorf("IsEmpty(t%v) = %v, want %v", s, got, want)
		}
	}
}

func TestSmoothingCoefficient(t *testing.T) {
	for n, want := range map[int]float64{6: 0.78456, 40: 0.20567, 60: 0.2, 100: 0.2} {
		if got := SmoothingCoefficient(n); math.Abs(got-want) > 5e-6 {
			t.Errorf("SmoothingCoefficient(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestWeightedExample(t *testing.T) {
	// Data [10, 10, 5, 5], newest last, α = 0.6 → 5.544.
	w := NewWeighted(4*time.Second, time.Second)
	w.alpha = 0.6
	for i, v := range []float64{10, 10, 5, 5} {
		w.Record(at(float64(i)), v)
	}
	if got := w.Average(at(3)); math.Abs(got-5.544) > 1e-9 {
		t.Errorf("Average = %v, want 5.544", got)
	}
	// One empty second shifts every weight by (1 − α); the oldest bucket
	// leaves the window.
	if got, want := w.Average(at(4)), 0.4*(5*0.6+5*0.6*0.4+10*0.6*0.16); math.Abs(got-want) > 1e-9 {
		t.Errorf("Average one second later = %v, want %v", got, want)
	}
	if got := w.Average(at(8)); got != 0 {
		t.Errorf("Average after the window = %v, want 0", got)
	}
}

func TestWeightedConstantLoad(t *testing.T) {
	// A constant load over a whole 60-bucket window averages to about the
	// load (the weights sum to 1 − (1−α)^60).
	w := NewWeighted(60*time.Second, time.Second)
	for i := range 120 {
		w.Record(at(float64(i)), 10)
	}
	want := 10 * (1 - math.Pow(0.8, 60))
	if got := w.Average(at(119)); math.Abs(got-want) > 1e-9 {
		t.Errorf("Average = %v, want %v", got, want)
	}
}

func TestResize(t *testing.T) {
	l := NewLinear(5*time.Second, time.Second)
	for i := range 5 {
		l.Record(at(float64(i)), float64(i+1))
	}
	l.Resize(3*time.Second, at(4))
	if got := l.Average(at(4)); got != 4 {
		t.Errorf("after shrinking to 3 s: %v, want 4 (3+4+5)/3", got)
	}
	l.Resize(10*time.Second, at(4))
	if got := l.Average(at(4)); got != 4 {
		t.Errorf("after growing to 10 s: %v, want 4", got)
	}
	l.Resize(5*time.Second, at(30))
	if got := l.Average(at(30)); got != 0 {
		t.Errorf("resized long after the last write: %v, want 0", got)
	}
	w := NewWeighted(60*time.Second, time.Second)
	w.Resize(6*time.Second, t0)
	if math.Abs(w.alpha-0.78456) > 5e-6 {
		t.Errorf("alpha after resize = %v", w.alpha)
	}
}

func BenchmarkRecord(b *testing.B) {
	for _, n := range []int{6, 60, 3600} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l := NewLinear(time.Duration(n)*time.Second, time.Second)
			for i := 0; b.Loop(); i++ {
				l.Record(t0.Add(time.Duration(i/4)*time.Second), 1)
			}
		})
	}
}

func BenchmarkAverage(b *testing.B) {
	for _, n := range []int{6, 60, 3600} {
		for _, kind := range []string{"linear", "weighted"} {
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
				var a Averager = NewLinear(time.Duration(n)*time.Second, time.Second)
				if kind == "weighted" {
					a = NewWeighted(time.Duration(n)*time.Second, time.Second)
				}
				for i := range 2 * n {
					a.Record(at(float64(i)), float64(i%7))
				}
				// Read with a short trailing hole, the common case between
				// scrapes and ticks.
				now := at(float64(2*n + 1))
				for b.Loop() {
					a.Average(now)
				}
			})
		}
	}
}
