package git

import (
	"context"
	"math/rand/v2"
	"time"
)

// Poll is how often a source is read when nothing else asks: every
// Interval, moved by up to ±Jitter·Interval so that many sources (or
// replicas) do not hit one server in step.
type Poll struct {
	Interval time.Duration
	Jitter   float64 // 0 ≤ Jitter < 1
}

// Next is the poll time after now for r, a uniform draw in [0, 1).
func (p Poll) Next(now time.Time, r float64) time.Time {
	j := min(max(p.Jitter, 0), 0.99)
	return now.Add(time.Duration(float64(p.Interval) * (1 + j*(2*r-1))))
}

// Kicks asks for a sync now (a webhook, a command). Kicks coalesce: any
// number of them while a sync runs cause one more sync.
type Kicks chan struct{}

// NewKicks makes a Kicks.
func NewKicks() Kicks { return make(Kicks, 1) }

// Kick asks for a sync without blocking.
func (k Kicks) Kick() {
	select {
	case k <- struct{}{}:
	default:
	}
}

// Run calls sync at once, then after every kick and at every poll time,
// until ctx ends; it keeps Status.NextPoll up to date. sync is the
// caller's loop body: Fetch, and when the commit changed, plan, write back
// and apply.
func (s *Source) Run(ctx context.Context, p Poll, kicks <-chan struct{}, sync func(context.Context)) error {
	if p.Interval <= 0 {
		p.Interval = time.Minute
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-kicks:
		}
		sync(ctx)
		// The schedule's edge: the next poll counts from when this sync
		// ended.
		now := time.Now()
		next := p.Next(now, rand.Float64())
		s.record(func(st *Status) { st.NextPoll = next }, nil)
		timer.Reset(next.Sub(now))
	}
}
