package engine

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ebb-dev/ebb/serving/gc"
)

// CollectGarbage runs one garbage collection over the ledgers d planned,
// with d's config-gc at now, and stores the result with w as one change
// ("ebb gc: removed …"). The next reconcile pass renders without the
// collected revisions, which stops or prunes them. It returns what was
// collected; an empty result writes nothing.
func CollectGarbage(ctx context.Context, d *Desired, w LedgerWriter, now time.Time) (*gc.Result, error) {
	res := gc.Collect(d.Ledgers, d.Tree.Config.GC, now)
	if res.Empty() {
		return res, nil
	}
	if err := w.WriteLedgers(ctx, res.Ledgers, res.Deleted, res.Message()); err != nil {
		return nil, err
	}
	return res, nil
}

// Clock is what RunSchedule needs of time.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock reads the time package.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RunSchedule calls run at every time schedule names, until ctx ends.
// schedule is asked again after every run (and whenever changed fires),
// so that a new config-gc schedule is followed from then on; a nil
// schedule waits for changed.
func RunSchedule(ctx context.Context, clock Clock, schedule func() cron.Schedule, changed <-chan struct{}, run func(now time.Time)) {
	for {
		var fire <-chan time.Time
		if s := schedule(); s != nil {
			now := clock.Now()
			fire = clock.After(s.Next(now).Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case now := <-fire:
			run(now)
		}
	}
}
