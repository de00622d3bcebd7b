package queuecmd

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/scaler/metric"
)

func TestIdleRelease(t *testing.T) {
	idle := metric.Stat{}
	req := metric.Stat{RequestCount: 3, AverageConcurrentRequests: 0.2}
	long := metric.Stat{AverageConcurrentRequests: 1} // one request in flight all second
	for _, tc := range []struct {
		name  string
		stats []metric.Stat
		want  []bool
	}{
		{"idle from the start", []metric.Stat{idle, idle, idle}, []bool{false, false, false}},
		{"once after a burst", []metric.Stat{req, req, idle, idle, idle}, []bool{false, false, true, false, false}},
		{"again after the next burst", []metric.Stat{req, idle, idle, req, idle}, []bool{false, true, false, false, true}},
		{"not while a request runs", []metric.Stat{req, long, long, idle}, []bool{false, false, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r idleRelease
			var got []bool
			for _, st := range tc.stats {
				got = append(got, r.observe(st))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("release per second (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReleaseWhenIdle runs the loop on a fake clock: requests in seconds
// 0–2, then quiet; one release, in the first tick that sees a quiet second.
func TestReleaseWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		stat := func(now time.Time) metric.Stat {
			if now.Sub(start) <= 3*time.Second { // the seconds before hold requests
				return metric.Stat{RequestCount: 5}
			}
			return metric.Stat{}
		}
		var released []time.Duration
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			releaseWhenIdle(ctx, stat, func() { released = append(released, time.Since(start)) })
			close(done)
		}()
		time.Sleep(10*time.Second + time.Millisecond)
		cancel()
		<-done
		if diff := cmp.Diff([]time.Duration{4 * time.Second}, released); diff != "" {
			t.Errorf("releases after start (-want +got):\n%s", diff)
		}
	})
}
