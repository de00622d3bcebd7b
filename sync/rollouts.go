package sync

import (
	"context"
	"time"
)

// NextRolloutCheck is when a canary of d next needs a pass (a step, a
// check, a progress deadline), given figures known since since; the zero
// time when none does.
func (d *Desired) NextRolloutCheck(since, now time.Time) time.Time {
	if d == nil || d.Tree == nil {
		return time.Time{}
	}
	return d.Tree.NextRolloutCheck(d.Ledgers, since, now)
}

// KickRollouts asks for a pass (kick) whenever a canary of the state
// planned returns is due, looking every tick, until ctx ends: analysed
// canaries step and are judged between the repository's changes. A pass
// that finds too few requests moves the next check on, so kicks do not
// repeat faster than a check can change something.
func KickRollouts(ctx context.Context, planned func() *Desired, since time.Time, now func() time.Time, tick time.Duration, kick func()) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at := now()
		if due := planned().NextRolloutCheck(since, at); !due.IsZero() && !at.Before(due) {
			kick()
		}
	}
}
