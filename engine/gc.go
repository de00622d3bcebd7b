package engine

import (
	"context"
	"sync"
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

// GC is the one driver of garbage collection, in `ebb up DIR`, `ebb up
// URL` and the controller alike: it fires on the config-gc schedule of
// the last planned state, follows a new schedule from the pass that
// planned it (Note), and collects over that state with Writer.
type GC struct {
	// State is the last state planned (nil while there is none).
	State func() *Desired
	// Writer stores what a collection removed: the loop, which commits
	// it, or the directory's ledger writer.
	Writer LedgerWriter
	// Report is told of every collection that removed revisions or
	// failed (res is nil then).
	Report func(res *gc.Result, err error)

	mu      sync.Mutex
	key     string // the schedule in force: "" before Note, "disabled"
	changed chan struct{}
}

// Note tells g that a pass planned d: when d's config-gc schedule is not
// the one in force, Run follows d's from now on.
func (g *GC) Note(d *Desired) {
	if d == nil || d.Tree == nil || d.Tree.Config == nil {
		return
	}
	key := "disabled"
	if c := d.Tree.Config.GC; !c.Disabled() {
		key = c.Schedule
	}
	g.mu.Lock()
	changed := key != g.key
	g.key = key
	ch := g.wake()
	g.mu.Unlock()
	if changed {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// wake is the channel Note signals a new schedule on; g.mu is held.
func (g *GC) wake() chan struct{} {
	if g.changed == nil {
		g.changed = make(chan struct{}, 1)
	}
	return g.changed
}

// schedule is config-gc's schedule in State, nil while there is none or
// collection is disabled.
func (g *GC) schedule() cron.Schedule {
	d := g.State()
	if d == nil || d.Tree == nil || d.Tree.Config == nil || d.Tree.Config.GC.Disabled() {
		return nil
	}
	return d.Tree.Config.GC.Cron
}

// Run fires at every time the schedule names until ctx ends, reading
// the clock there, and hands the time to fire, which calls Collect where
// its ledger write cannot interleave with a pass's.
func (g *GC) Run(ctx context.Context, fire func(now time.Time)) {
	g.mu.Lock()
	changed := g.wake()
	g.mu.Unlock()
	for {
		var at <-chan time.Time
		if s := g.schedule(); s != nil {
			now := time.Now()
			at = time.After(s.Next(now).Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case now := <-at:
			fire(now)
		}
	}
}

// Collect runs one garbage collection at now over State with Writer,
// reports it, and says whether it removed revisions (then a pass applies
// their removal).
func (g *GC) Collect(ctx context.Context, now time.Time) bool {
	d := g.State()
	if d == nil {
		return false
	}
	res, err := CollectGarbage(ctx, d, g.Writer, now)
	if err != nil || !res.Empty() {
		g.Report(res, err)
	}
	return err == nil && !res.Empty()
}
