package sync

import (
	"context"
	"time"
)

// NextRolloutCheck is when a canary of d next needs a pass (a step, a
// check, a progress deadline), given figures known since since; the zero
// time when none does.
func (d *Desired) NextRolloutCheck(since time.Time) time.Time {
	if d == nil || d.Tree == nil {
		return time.Time{}
	}
	return d.Tree.NextRolloutCheck(d.Ledgers, since)
}

// KickRollouts asks for a pass (kick) whenever a canary of the state
// planned returns is due, looking every tick, until ctx ends: analysed
// canaries step and are judged between the repository's changes. A check
// still due after its pass (the period had too few requests) is asked
// for again every retry.
func KickRollouts(ctx context.Context, planned func() *Desired, since time.Time, now func() time.Time, tick, retry time.Duration, kick func()) {
	t := time.NewTicker(tick)
	defer t.Stop()
	var kickedFor, kickedAt time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at := now()
		due := planned().NextRolloutCheck(since)
		if due.IsZero() || at.Before(due) || due.Equal(kickedFor) && at.Sub(kickedAt) < retry {
			continue
		}
		kickedFor, kickedAt = due, at
		kick()
	}
}
