package engine

import (
	"context"
	"time"
)

// NextRolloutCheck is when a canary of d next needs a pass (a step, a
// check, a progress deadline), given figures known since since, or a
// gradual rollout's split next changes after d was planned; the zero
// time when none does.
func (d *Desired) NextRolloutCheck(since time.Time) time.Time {
	if d == nil || d.Tree == nil {
		return time.Time{}
	}
	next := d.Tree.NextRolloutCheck(d.Ledgers, since)
	if !d.Now.IsZero() {
		if w := d.Programmed.GradualWake(d.Ledgers, d.Now); !w.IsZero() && (next.IsZero() || w.Before(next)) {
			next = w
		}
	}
	return next
}

// KickRollouts asks for a pass (kick) whenever a canary of the state
// planned returns is due, looking every tick, until ctx ends: analysed
// canaries step and are judged between the repository's changes. A check
// still due after its pass (the period had too few requests) is asked
// for again a tick later, then twice as long each time up to
// MaxRolloutRetry, so that a quiet canary does not make a pass (a fetch,
// in a Git source) every tick.
func KickRollouts(ctx context.Context, planned func() *Desired, since time.Time, now func() time.Time, tick time.Duration, kick func()) {
	due := func() time.Time { return planned().NextRolloutCheck(since) }
	kickRollouts(ctx, due, now, tick, kick)
}

// MaxRolloutRetry is the longest KickRollouts waits to ask again for a
// check that stays due.
const MaxRolloutRetry = 8 * time.Second

// kickRollouts is KickRollouts for the due times due returns.
func kickRollouts(ctx context.Context, due func() time.Time, now func() time.Time, tick time.Duration, kick func()) {
	retry := tick
	t := time.NewTicker(tick)
	defer t.Stop()
	var kickedFor, next time.Time
	wait := retry
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at, d := now(), due()
		switch {
		case d.IsZero() || at.Before(d):
			continue
		case !d.Equal(kickedFor):
			kickedFor, wait = d, retry
		case at.Before(next):
			continue
		default:
			wait = min(2*wait, MaxRolloutRetry)
		}
		next = at.Add(wait)
		kick()
	}
}
