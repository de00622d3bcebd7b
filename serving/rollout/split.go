package rollout

import (
	"slices"
	"time"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// MinStep is the shortest step of every rollout ebb plans: Knative's
// minStep, the time the first 1 % took to be programmed, rounded up to
// whole seconds and at least 1 s. Knative measures it by waiting for its
// ingress to report ready; ebb plans the whole rollout in one ledger
// commit when it starts, so it takes the floor, 1 s, which is what
// Knative measures whenever programming a route takes under a second:
// ebb's gateway swaps its route table in milliseconds (B10 in
// docs/benchmarks.md: 1000 routes in 2.4 ms at p50), and in a cluster a
// push is applied in 0.4 s at p50 (B9).
const MinStep = time.Second

// SplitAt is the state r, recorded as a plan, at now: every configuration
// with known step parameters advanced by the steps due by now. The k-th
// step is due at NextStepTime + (k−1)·StepDuration, so the answer is a
// function of the plan and now alone, and equals Step applied at each
// step time in turn (where Knative steps late by the reconcile's delay and
// schedules the next step from then, the plan's times stand). Each step
// moves StepSize percent to the newest revision as stepRevisions does;
// SplitAt moves all the due steps' points at once. r is not modified.
func SplitAt(r Rollout, now time.Time) Rollout {
	r = r.DeepCopy()
	for i := range r.Configurations {
		c := &r.Configurations[i]
		p := c.StepParams
		if c.Done() || p.StepSize <= 0 || p.StepDuration.Duration <= 0 || now.Before(p.NextStepTime) {
			continue
		}
		due := int64(now.Sub(p.NextStepTime)/p.StepDuration.Duration) + 1
		// Every step moves at least 1 % of at most 100 %: more steps
		// than that change nothing.
		due = min(due, 101)
		move := traffic.Percent(due) * p.StepSize
		n := len(c.Revisions)
		newest := c.Revisions[n-1]
		newest.Percent = min(newest.Percent+move, c.Percent)
		older := c.Revisions[:n-1]
		for len(older) > 0 && move > 0 {
			last := &older[len(older)-1]
			if last.Percent > move {
				last.Percent -= move
				break
			}
			move -= last.Percent
			older = older[:len(older)-1]
		}
		c.Revisions = append(older, newest)
		if len(c.Revisions) > 1 {
			c.StepParams.NextStepTime = p.NextStepTime.Add(time.Duration(due) * p.StepDuration.Duration)
		} else {
			c.StepParams = Params{}
		}
	}
	return r
}

// WakeAt is when the split of the plan r next changes after now: the
// earliest step time still to come, zero when no step is.
func WakeAt(r Rollout, now time.Time) time.Time {
	var wake time.Time
	for _, c := range SplitAt(r, now).Configurations {
		p := c.StepParams
		if c.Done() || p.StepSize <= 0 || p.NextStepTime.IsZero() {
			continue
		}
		if wake.IsZero() || p.NextStepTime.Before(wake) {
			wake = p.NextStepTime
		}
	}
	return wake
}

// EndTime is when the configuration's rollout takes its last step (the
// newest revision then holds all of Percent), zero when it is done or its
// steps are not known.
func (c *ConfigurationRollout) EndTime() time.Time {
	p := c.StepParams
	if c.Done() || p.StepSize <= 0 || p.NextStepTime.IsZero() {
		return time.Time{}
	}
	var older traffic.Percent
	for _, r := range c.Revisions[:len(c.Revisions)-1] {
		older += r.Percent
	}
	steps := (older + p.StepSize - 1) / p.StepSize
	return p.NextStepTime.Add(time.Duration(steps-1) * p.StepDuration.Duration)
}

// Plan is one planning pass, at now, of a route whose latestRevision
// traffic rolls out over duration (Knative's rollout-duration; ≤ 0 is
// off). prev is the recorded plan, or, when none is recorded, the shape
// of the traffic before this pass (Desired of the previous latest routed
// revision); desired is the shape the traffic asks for now. A recorded
// plan that fails Validate is to be replaced by that shape first.
//
// The plan is Knative's: Step from prev as it stands at now (SplitAt), then
// ObserveReady MinStep later, so that a rollout starting now has all its
// step parameters at once. A Done next records as nothing: no rollout is
// in progress. changed reports whether what is recorded changes: a
// rollout starts, a new revision joins one in progress, a percent
// changes, or the last step has been taken. When it does not, next is
// prev, and the split at any time is SplitAt(prev, time).
func Plan(prev, desired Rollout, now time.Time, duration time.Duration) (next Rollout, changed bool) {
	now = now.UTC().Round(0)
	at := SplitAt(prev, now)
	if duration <= 0 {
		next = desired.DeepCopy()
		sortConfigurations(&next)
	} else {
		next, _ = Step(desired, at, now)
		next = next.ObserveReady(now.Add(MinStep), duration)
	}
	switch {
	case next.Done():
		return next, !prev.Done()
	case !prev.Done() && Equal(next, at):
		return prev.DeepCopy(), false
	}
	return next, true
}

// Equal reports whether a and b are the same state (times compared as
// instants).
func Equal(a, b Rollout) bool {
	return slices.EqualFunc(a.Configurations, b.Configurations, func(x, y ConfigurationRollout) bool {
		return x.ConfigurationName == y.ConfigurationName && x.Tag == y.Tag && x.Percent == y.Percent &&
			slices.Equal(x.Revisions, y.Revisions) &&
			x.StepParams.StartTime.Equal(y.StepParams.StartTime) &&
			x.StepParams.NextStepTime.Equal(y.StepParams.NextStepTime) &&
			x.StepParams.StepDuration == y.StepParams.StepDuration &&
			x.StepParams.StepSize == y.StepParams.StepSize
	})
}
