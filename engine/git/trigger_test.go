package git

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestPollNext(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		p    Poll
		r    float64
		want time.Duration
	}{
		{Poll{Interval: time.Minute}, 0.7, time.Minute},
		{Poll{Interval: time.Minute, Jitter: 0.1}, 0, 54 * time.Second},
		{Poll{Interval: time.Minute, Jitter: 0.1}, 0.5, time.Minute},
		{Poll{Interval: time.Minute, Jitter: 0.1}, 0.75, 63 * time.Second},
		{Poll{Interval: time.Minute, Jitter: -1}, 0, time.Minute},
	} {
		if got := tc.p.Next(now, tc.r).Sub(now); got != tc.want {
			t.Errorf("%+v.Next(r=%v) = now+%v, want now+%v", tc.p, tc.r, got, tc.want)
		}
	}
}

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{URL: "/nowhere", Ref: Ref{Branch: "main"}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var mu sync.Mutex
		var calls []time.Duration
		got := func() []time.Duration {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(calls)
		}
		kicks := NewKicks()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			done <- s.Run(ctx, Poll{Interval: time.Minute, Jitter: 0.1}, kicks, func(context.Context) {
				mu.Lock()
				calls = append(calls, time.Since(start))
				mu.Unlock()
			})
		}()
		synctest.Wait()
		if calls := got(); len(calls) != 1 || calls[0] != 0 {
			t.Fatalf("calls after start = %v, want [0s]", calls)
		}
		next := s.Status().NextPoll.Sub(start)
		if next < 54*time.Second || next > 66*time.Second {
			t.Errorf("next poll at +%v, want within 54s..66s", next)
		}

		time.Sleep(10 * time.Second)
		// The first kick starts a sync; the two that come while it runs
		// make one more.
		kicks.Kick()
		kicks.Kick()
		kicks.Kick()
		synctest.Wait()
		if calls := got(); len(calls) != 3 || calls[1] != 10*time.Second || calls[2] != 10*time.Second {
			t.Fatalf("calls after kicks = %v, want [0s 10s 10s]", calls)
		}

		time.Sleep(70 * time.Second) // one poll, 54–66 s after the kicks
		synctest.Wait()
		if calls := got(); len(calls) != 4 || calls[3] < 64*time.Second || calls[3] > 76*time.Second {
			t.Fatalf("calls after polling = %v, want a fourth in 64s..76s", calls)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}
