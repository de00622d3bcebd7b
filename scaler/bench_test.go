package scaler

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/scaler/metric"
)

func BenchmarkDecide(b *testing.B) {
	for _, delay := range []time.Duration{0, 5 * time.Minute} {
		b.Run(fmt.Sprintf("delay=%v", delay), func(b *testing.B) {
			spec := testSpec(func(s *autoscaling.DeciderSpec) { s.ScaleDownDelay = delay })
			state := NewDeciderState(spec, 3, t0)
			now := t0
			for i := 0; b.Loop(); i++ {
				now = now.Add(2 * time.Second)
				v := float64((i * 37) % 900)
				_, state = Decide(spec, Observation{Stable: v, Panic: v * 1.5, ReadyPods: 3 + i%10}, state, now)
			}
		})
	}
}

func BenchmarkReconcile(b *testing.B) {
	spec := scaleSpec(nil)
	state := NewScaleState(t0)
	now := t0
	for i := 0; b.Loop(); i++ {
		now = now.Add(2 * time.Second)
		var act ScaleAction
		act, state = Reconcile(spec, ScaleInput{Desired: int32(i % 5), EBC: int32(i%7 - 3), Ready: i % 5, Replicas: int32(i % 5)}, state, now)
		_ = act
	}
}

func BenchmarkSeriesRecord(b *testing.B) {
	s := NewSeries(WindowSpec{StableWindow: time.Minute, PanicWindow: 6 * time.Second})
	st := metric.Stat{AverageConcurrentRequests: 10, RequestCount: 20}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Record(t0.Add(time.Duration(i/8)*time.Second), st)
			i++
		}
	})
}

// BenchmarkScrape scrapes N queue-proxy stand-ins on 127.0.0.1 (sample
// size per SampleSize).
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var pods []Pod
			for i := range n {
				s := newStatServer(b, metric.Stat{AverageConcurrentRequests: 1}, http.StatusOK)
				pods = append(pods, Pod{Name: fmt.Sprint(i), Address: s.addr()})
			}
			sc := &Scraper{}
			for b.Loop() {
				if _, _, err := sc.Scrape(context.Background(), pods, time.Minute, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
