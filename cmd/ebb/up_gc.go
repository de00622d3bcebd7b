package main

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ebb-dev/ebb/engine"
)

// gcLoop fires garbage collection on config-gc's schedule; the runs are
// handed to the pass loop (runs), so that collection and reconcile passes
// never interleave their ledger writes.
func (u *up) gcLoop(ctx context.Context, runs chan<- time.Time) {
	engine.RunSchedule(ctx, engine.RealClock{}, u.gcSchedule, u.gcChanged, func(now time.Time) {
		select {
		case runs <- now:
		case <-ctx.Done():
		}
	})
}

// gcSchedule is the schedule of the last good state's config-gc; nil while
// there is none or collection is disabled.
func (u *up) gcSchedule() cron.Schedule {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.desired == nil || u.desired.Tree.Config.GC.Disabled() {
		return nil
	}
	return u.desired.Tree.Config.GC.Cron
}

// noteGCSchedule tells gcLoop when a pass changed the schedule.
func (u *up) noteGCSchedule(d *engine.Desired) {
	key := "disabled"
	if g := d.Tree.Config.GC; !g.Disabled() {
		key = g.Schedule
	}
	u.mu.Lock()
	changed := key != u.gcKey
	u.gcKey = key
	u.mu.Unlock()
	if changed {
		select {
		case u.gcChanged <- struct{}{}:
		default:
		}
	}
}

// collect runs one garbage collection over the last good state and
// reports whether it changed the ledger.
func (u *up) collect(ctx context.Context, now time.Time) bool {
	u.mu.Lock()
	d := u.desired
	u.mu.Unlock()
	if d == nil {
		return false
	}
	res, err := engine.CollectGarbage(ctx, d, u.rec.Writer, now)
	if err != nil {
		fmt.Fprintf(u.e.stderr, "ebb: garbage collection: %v\n", err)
		return false
	}
	if res.Empty() {
		return false
	}
	fmt.Fprintf(u.e.stdout, "%s\n", res.Message())
	return true
}
