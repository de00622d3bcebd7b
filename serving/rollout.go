package serving

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving/canary"
	"github.com/ebb-dev/ebb/serving/config"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// Analysed canaries (package canary) in planning: a Service that rolls out
// analysed gives a new revision none of its latestRevision share until the
// revision is ready, then moves the share step by step while the
// revision's figures pass, and promotes or rolls it back. Each step is a
// ledger change; the state between steps is the ledger's Rollout.

// configOrDefault is cfg, or the default configuration for nil.
func configOrDefault(cfg *config.Config) *config.Config {
	if cfg == nil {
		return config.Default()
	}
	return cfg
}

// config is the configuration the planner plans with.
func (p *planner) config() *config.Config { return configOrDefault(p.cfg) }

// analysis is the Service's, and whether it rolls out analysed.
func (p *planner) analysis() (canary.Analysis, bool) {
	return p.config().Rollout.AnalysisOf(p.svc.Annotations)
}

// now is the runtime's clock, or the stamp's when planning without one.
func (o Observed) now(at Stamp) time.Time {
	if !o.Now.IsZero() {
		return o.Now
	}
	return at.Time.Time
}

// figures are a revision's over [from, to).
func (o Observed) figures(namespace, revision string, from, to time.Time) metric.Figures {
	if o.Figures == nil {
		return metric.Figures{}
	}
	return o.Figures(namespace, revision, from, to)
}

// rolloutDue reports whether l's canary has a check due at o.Now, or its
// progress deadline passed. Without a clock nothing is due. A canary
// waiting to be ready is due when it is (see Pending).
func (o Observed) rolloutDue(l *Ledger) bool {
	r := l.Rollout
	if o.Now.IsZero() || r == nil || r.Phase != canary.Progressing {
		return false
	}
	if r.Weight == 0 {
		return o.ready(l.Namespace, r.Canary) || !o.Now.Before(r.ReadyBy.Time)
	}
	return r.NextCheck != nil && !o.Now.Before(r.NextCheck.Time)
}

// NextRolloutCheck is when a pass is next due for the canaries of ledgers,
// planned from t: a step, a check (not before a whole interval of figures
// from since on), a progress deadline; the zero time when none is. A check
// that found too few requests stays due: it is judged again at the next
// pass.
func (t *Tree) NextRolloutCheck(ledgers []*Ledger, since time.Time) time.Time {
	cfg := configOrDefault(t.Config)
	annotations := map[string]map[string]string{}
	for _, s := range t.Services {
		annotations[s.Namespace+"/"+s.Name] = s.Annotations
	}
	var next time.Time
	earliest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, l := range ledgers {
		r := l.Rollout
		if l.Removed != nil || r == nil || r.Phase != canary.Progressing {
			continue
		}
		if r.Weight == 0 || r.NextCheck == nil {
			earliest(r.ReadyBy.Time)
			continue
		}
		a, _ := cfg.Rollout.AnalysisOf(annotations[l.Namespace+"/"+l.Service])
		due := r.NextCheck.Time
		if d := since.Add(a.Interval); d.After(due) {
			due = d
		}
		earliest(due)
	}
	return next
}

// revert is a push whose template is the stable revision's while a canary
// rolls out (a revert of the change): the stable revision is latest again
// and takes its share back at once, with no analysis.
func (p *planner) revert() bool {
	l, r := p.next, p.next.Rollout
	if r == nil || r.Phase != canary.Progressing || r.Canary != l.Latest {
		return false
	}
	stable := p.find(r.Stable)
	if stable == nil || stable.Hash != p.revisionHash() || (p.svc.Spec.Template.Name != "" && p.svc.Spec.Template.Name != stable.Name) {
		return false
	}
	l.Generation++
	l.Latest, l.LatestReady = stable.Name, stable.Name
	p.rollBack("template reverted to " + stable.Name + "'s")
	return true
}

// rollBack ends the Service's rollout (see Ledger.rollBack).
func (p *planner) rollBack(reason string) {
	r := p.next.Rollout
	weight := p.next.rollBack(reason, p.at)
	p.change(ChangeRolledBack, r.Canary, "rollback %s at %d%%: %s; %s back to its full share", r.Canary, weight, reason, r.Stable)
}

// rollBack ends l's rollout with reason: its canary is failed at at and
// never routed by latestRevision again, the stable revision has its share
// back. It returns the canary's weight before.
func (l *Ledger) rollBack(reason string, at Stamp) traffic.Percent {
	r := l.Rollout
	weight := r.Weight
	r.Phase, r.Weight, r.NextCheck, r.Reason = canary.RolledBack, 0, nil, reason
	for i := range l.Revisions {
		if l.Revisions[i].Name == r.Canary {
			l.Revisions[i].Failed = at.DeepCopy()
		}
	}
	return weight
}

// planRollout starts, steps, judges and ends the Service's canary. stable
// is the ready revision latestRevision traffic went to before this plan,
// or "".
func (p *planner) planRollout(stable string) {
	l := p.next
	a, analysed := p.analysis()
	if !analysed {
		if l.Rollout != nil {
			l.Rollout = nil
			p.change(ChangeCanary, "", "no analysis configured: latestRevision follows the latest ready revision")
		}
		return
	}
	now := p.seen.now(p.at)
	if p.minted != "" {
		p.startRollout(stable, now)
	}
	r := l.Rollout
	if r == nil || r.Phase != canary.Progressing {
		return
	}
	if l.LatestReady != r.Canary {
		if !now.Before(r.ReadyBy.Time) {
			p.rollBack(fmt.Sprintf("not ready within %s (progress-deadline)", r.ReadyBy.Sub(r.Started.Time)))
		}
		return
	}
	if r.Weight == 0 {
		*r = canary.Start(*r, a, now)
		p.change(ChangeCanary, r.Canary, "canary %s 0%% -> %d%% (ready)", r.Canary, r.Weight)
		return
	}
	if p.seen.Now.IsZero() || !canary.Due(r, a, p.seen.Since, now) {
		return
	}
	from, to := canary.Window(a, now)
	period := canary.Period{
		Canary: p.seen.figures(l.Namespace, r.Canary, from, to),
		Stable: p.seen.figures(l.Namespace, r.Stable, from, to),
	}
	weight := r.Weight
	next, verdict := canary.Decide(*r, a, period, now)
	if (verdict == canary.Step || verdict == canary.Promote) && !p.seen.Programmed.carries(l, r.Canary, weight) {
		// The route's edge has not programmed the canary's weight: the
		// step waits, and the check is judged again when it has.
		return
	}
	*r = next
	figures := canary.Describe(period)
	switch verdict {
	case canary.Step:
		p.change(ChangeCanary, r.Canary, "canary %s %d%% -> %d%% (%s)", r.Canary, weight, r.Weight, figures)
	case canary.Hold:
		p.change(ChangeCanary, r.Canary, "canary %s held at %d%% (%s; failed %d of %d checks)", r.Canary, weight, figures, r.FailedChecks, a.Threshold)
	case canary.Promote:
		p.change(ChangePromote, r.Canary, "promote %s (%s)", r.Canary, figures)
	case canary.Rollback:
		r.Weight = weight
		p.rollBack(r.Reason)
	}
}

// startRollout makes the minted revision the canary of stable, when there
// is a ready stable revision to measure it against and latestRevision
// traffic to move.
func (p *planner) startRollout(stable string, now time.Time) {
	l := p.next
	if stable == "" || stable == l.Latest || !p.movesLatest() {
		return
	}
	if prev := l.Rollout; prev != nil && prev.Phase == canary.Progressing && prev.Canary != l.Latest {
		p.change(ChangeCanary, prev.Canary, "canary %s superseded at %d%% by %s", prev.Canary, prev.Weight, l.Latest)
	}
	started := now.UTC().Truncate(time.Second)
	deadline := autoscaling.ProgressDeadline(p.svc.Spec.Template.Annotations, p.config().Deployment.ProgressDeadline)
	l.Rollout = &canary.State{Canary: l.Latest, Stable: stable, Phase: canary.Progressing,
		Started: metav1.NewTime(started), ReadyBy: metav1.NewTime(started.Add(deadline))}
	p.change(ChangeCanary, l.Latest, "canary %s waits to be ready (stable %s)", l.Latest, stable)
}

// movesLatest reports whether the Service has latestRevision traffic a
// canary can take: an untagged latestRevision target with a percent.
func (p *planner) movesLatest() bool {
	for _, t := range DefaultTraffic(p.svc.Spec.Traffic) {
		if *t.LatestRevision && t.Tag == "" && *t.Percent > 0 {
			return true
		}
	}
	return false
}

// readyRouted is the revision latestRevision traffic goes to, if it has
// become ready (a rollout's stable revision had), or "".
func (p *planner) readyRouted() string {
	l := p.next
	if r := l.LatestRouted(); r == l.LatestReady || (l.Rollout != nil && l.Rollout.Stable == r) {
		return r
	}
	return ""
}

// canarySplit returns how a resolved traffic target is split while a
// canary takes its weight: the Service's untagged latestRevision targets
// give the canary up to Weight percent of their share, in order; pinned
// targets and tags do not move.
func (p *planner) canarySplit() func(Target) []Target {
	r := p.next.Rollout
	if r == nil || r.Phase != canary.Progressing || r.Weight == 0 {
		return func(t Target) []Target { return []Target{t} }
	}
	left := r.Weight
	return func(t Target) []Target {
		if !t.LatestRevision || t.Tag != "" || t.Percent == 0 || left == 0 {
			return []Target{t}
		}
		take := min(left, t.Percent)
		left -= take
		out := []Target{}
		if t.Percent > take {
			stable := t
			stable.Percent -= take
			out = append(out, stable)
		}
		return append(out, Target{RevisionName: r.Canary, LatestRevision: true, Percent: take})
	}
}
