package activator

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/ebb-dev/ebb/scaler/metric"
)

// track starts reporting a revision the first time a request arrives while
// it is not tracked, sending {concurrency 1, count 1} at once.
func (a *Activator) track(rev *revision) {
	if rev.tracked.Load() {
		return
	}
	rev.mu.Lock()
	if rev.tracked.Load() {
		rev.mu.Unlock()
		return
	}
	rev.tracked.Store(true)
	rev.poked = true
	rev.mu.Unlock()
	if a.cfg.Stats == nil {
		return
	}
	msg := metric.Message{Namespace: rev.key.ns, Revision: rev.key.name, Stat: metric.Stat{
		PodName: a.cfg.PodName, AverageConcurrentRequests: 1, RequestCount: 1,
	}}
	go func() {
		ctx, cancel := context.WithTimeout(a.ctx, a.cfg.ReportPeriod)
		defer cancel()
		if err := a.cfg.Stats.Send(ctx, []metric.Message{msg}); err != nil {
			a.cfg.Logger.Warn("send first-request stat", "revision", rev.key.name, "err", err)
		}
	}()
}

// Report returns the stats of every tracked revision for the last full
// period before now, and stops tracking revisions that were idle the whole
// period and since. Run calls it every ReportPeriod.
func (a *Activator) Report(now time.Time) []metric.Message {
	var msgs []metric.Message
	a.revs.Range(func(_, v any) bool {
		rev := v.(*revision)
		rev.mu.Lock()
		if !rev.tracked.Load() {
			rev.mu.Unlock()
			return true
		}
		st := rev.tracker.Stat(now)
		if rev.poked {
			rev.poked = false
			st.AverageConcurrentRequests = max(0, st.AverageConcurrentRequests-1)
			st.RequestCount = max(0, st.RequestCount-1)
		}
		if st.AverageConcurrentRequests == 0 && rev.tracker.Quiet() {
			rev.tracked.Store(false)
		}
		rev.mu.Unlock()
		msgs = append(msgs, metric.Message{Namespace: rev.key.ns, Revision: rev.key.name, Stat: st})
		return true
	})
	slices.SortFunc(msgs, func(x, y metric.Message) int {
		return cmp.Or(cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Revision, y.Revision))
	})
	return msgs
}

// Run sends Report to the stats sink every ReportPeriod until ctx ends,
// the first half-way through the next wall-clock second: the stats are
// for whole wall-clock seconds, so a report sent up to half a second late
// still reports each of them once.
func (a *Activator) Run(ctx context.Context) error {
	now := time.Now()
	wait := time.NewTimer(now.Truncate(time.Second).Add(time.Second+time.Second/2).Sub(now) % time.Second)
	defer wait.Stop()
	var tick <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case now = <-wait.C:
			t := time.NewTicker(a.cfg.ReportPeriod)
			defer t.Stop()
			tick = t.C
		case now = <-tick:
		}
		msgs := a.Report(now)
		if len(msgs) == 0 || a.cfg.Stats == nil {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, a.cfg.ReportPeriod)
		if err := a.cfg.Stats.Send(sctx, msgs); err != nil {
			a.cfg.Logger.Warn("send stats", "err", err)
		}
		cancel()
	}
}

func sortedKeys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}
