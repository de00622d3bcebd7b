package serving

import (
	"slices"
	"time"

	"github.com/ebb-dev/ebb/serving/rollout"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// Gradual rollouts (Knative's rollout-duration, package rollout) in
// planning: a Service whose rollout duration is not zero, and that does
// not roll out analysed, moves the untagged latestRevision share of its
// traffic to a new latest revision over that duration. The plan is
// recorded in the ledger (Gradual) when the rollout starts, and cleared
// when it ends: two ledger changes. Between them the split at any moment
// is rollout.SplitAt(plan, now): RoutedAt gives the ledgers as they route
// then, without a change to the ledger.

// gradualDuration is the Service's rollout duration, 0 when it rolls out
// analysed or at once.
func (p *planner) gradualDuration() time.Duration {
	if _, analysed := p.analysis(); analysed {
		return 0
	}
	return p.svc.RolloutDuration(p.config().Network)
}

// latestShare is the share of the Service's main route that the untagged
// latestRevision entries of targets hold, and the newest revision they
// route to ("" when they hold none).
func latestShare(targets []Target) (revision string, percent traffic.Percent) {
	for _, t := range targets {
		if t.LatestRevision && t.Tag == "" && t.Percent > 0 {
			revision, percent = t.RevisionName, percent+t.Percent
		}
	}
	return revision, percent
}

// planGradual starts, adjusts and ends the Service's gradual rollout,
// before planTraffic resolves the traffic (l.Traffic is still the
// previous one). A recorded plan that does not validate, or names a
// revision the ledger does not hold, is discarded, as Knative discards a
// bad rollout annotation: the traffic moves as if none were recorded.
func (p *planner) planGradual() {
	l := p.next
	var prev rollout.Rollout
	discarded := false
	if g := l.Gradual; g != nil && g.Validate() == nil && p.knows(*g) {
		prev = *g
	} else {
		discarded = g != nil
		rev, percent := latestShare(l.Traffic)
		prev = rollout.Desired(l.Service, rev, percent)
	}
	var percent traffic.Percent
	for _, t := range DefaultTraffic(p.svc.Spec.Traffic) {
		if *t.LatestRevision && t.Tag == "" {
			percent += *t.Percent
		}
	}
	desired := rollout.Desired(l.Service, l.LatestRouted(), percent)
	now := p.seen.now(p.at)
	next, changed := rollout.Plan(prev, desired, now, p.gradualDuration())
	if !changed && !discarded {
		return
	}
	if held := p.seen.Programmed.gradualAt(l, prev, now); held.Before(now) && !discarded {
		// The edge has not programmed the share before the last step:
		// unless the traffic asks for something else, the plan stays.
		if _, moved := rollout.Plan(prev, desired, held, p.gradualDuration()); !moved {
			return
		}
	}
	c := next.Find("", l.Service)
	if next.Done() {
		if l.Gradual != nil {
			l.Gradual = nil
			msg := "rollout done"
			switch {
			case discarded:
				msg = "rollout plan discarded (not valid, or names a revision the ledger lacks)"
			case c != nil:
				msg = c.Describe()
			}
			p.change(ChangeGradual, l.LatestRouted(), "%s", msg)
		}
		return
	}
	l.Gradual = &next
	p.change(ChangeGradual, l.LatestRouted(), "%s", c.Describe())
}

// knows reports whether every revision a plan names is in the ledger.
func (p *planner) knows(r rollout.Rollout) bool {
	for _, c := range r.Configurations {
		for _, rr := range c.Revisions {
			if p.find(rr.RevisionName) == nil {
				return false
			}
		}
	}
	return true
}

// gradualSplit returns how a resolved traffic target is split while a
// gradual rollout is in progress: the first untagged latestRevision
// target with a share gives way to the plan's revisions, as recorded at
// its start (their shares add up to those of all such targets), and the
// others to nothing; pinned targets and tags do not move.
func (p *planner) gradualSplit() func(Target) []Target {
	g := p.next.Gradual
	if g == nil {
		return func(t Target) []Target { return []Target{t} }
	}
	return splitLatest(*g, p.next.Service)
}

func splitLatest(g rollout.Rollout, service string) func(Target) []Target {
	var revs []rollout.RevisionRollout
	if c := g.Find("", service); c != nil {
		revs = c.Revisions
	}
	done := false
	return func(t Target) []Target {
		if !t.LatestRevision || t.Tag != "" || t.Percent == 0 {
			return []Target{t}
		}
		if done {
			return nil
		}
		done = true
		out := make([]Target, len(revs))
		for i, r := range revs {
			out[i] = Target{RevisionName: r.RevisionName, LatestRevision: true, Percent: r.Percent}
		}
		return out
	}
}

// RoutedAt returns the ledgers as they route at now: one with a gradual
// rollout in progress is copied with its untagged latestRevision traffic
// split as the plan stands at now (rollout.SplitAt); the others are
// returned as they are. The ledgers are not modified.
func RoutedAt(ledgers []*Ledger, now time.Time) []*Ledger {
	return Programmed(nil).RoutedAt(ledgers, now)
}

// routedWith is RoutedAt with the split of each gradual rollout's plan
// given by split.
func routedWith(ledgers []*Ledger, split func(*Ledger) rollout.Rollout) []*Ledger {
	var out []*Ledger
	for i, l := range ledgers {
		if l.Gradual == nil || l.Removed != nil {
			continue
		}
		if out == nil {
			out = slices.Clone(ledgers)
		}
		routed := *l
		routed.Traffic = nil
		latest := splitLatest(split(l), l.Service)
		for _, t := range mergeLatest(l.Traffic) {
			routed.Traffic = append(routed.Traffic, latest(t)...)
		}
		out[i] = &routed
	}
	if out == nil {
		return ledgers
	}
	return out
}

// mergeLatest folds the untagged latestRevision targets with a share
// into the first of them, as planTraffic recorded them.
func mergeLatest(targets []Target) []Target {
	var out []Target
	first := -1
	for _, t := range targets {
		if t.LatestRevision && t.Tag == "" && t.Percent > 0 {
			if first >= 0 {
				out[first].Percent += t.Percent
				continue
			}
			first = len(out)
		}
		out = append(out, t)
	}
	return out
}

// GradualWake is when the split of ledgers' gradual rollouts next changes
// after after: a step, or the end of a rollout whose last step was taken
// but not yet recorded (then after itself). Zero when none will.
func GradualWake(ledgers []*Ledger, after time.Time) time.Time {
	return Programmed(nil).GradualWake(ledgers, after)
}

// gradualEnded reports whether l's gradual rollout has taken its last step
// at o.Now, its edge allowing, and the ledger does not say so yet.
func (o Observed) gradualEnded(l *Ledger) bool {
	return l.Gradual != nil && !o.Now.IsZero() && rollout.SplitAt(*l.Gradual, o.Programmed.gradualAt(l, *l.Gradual, o.Now)).Done()
}
