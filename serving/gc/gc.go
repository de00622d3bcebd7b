package gc

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// NoGCAnnotation on a revision template keeps its revisions forever.
const NoGCAnnotation = "serving.knative.dev/no-gc"

// Verdict is the decision on one revision, with the reason for it.
type Verdict struct {
	Revision string
	Collect  bool
	// Why says why the revision goes or stays, e.g. "inactive for 15h or
	// more" or "latest revision".
	Why string
	// FirstSeen is set on a revision that may be collected but whose
	// retirement (or, when retain-since-create-time counts, creation) has
	// no known time (serving.Stamp.Known): it counts from now, and
	// Collect records now as that time.
	FirstSeen bool
}

// Decide judges every revision of l at now, in ledger order.
//
// The rules are Knative's (pkg/reconciler/gc), with the routing state
// read from the ledger. Only a revision in routing state "reserve" may be
// collected: one the routes named once and name no more (it has a
// retired stamp). A revision any traffic target names, at any percent,
// 0 % included, tagged or not, or that a rollout in progress names
// (serving.Ledger.Named), is active; one never named yet is pending; the
// latest and latest ready revisions, and revisions carrying the no-gc
// annotation, are kept too. The reserve ones are sorted by when they
// were retired, oldest first. Stale ones (past both enabled
// retain-since-* times) are collected while more than
// min-non-active-revisions of them remain; then, if more than
// max-non-active-revisions remain, the oldest are collected down to the
// maximum, retain times notwithstanding. With both retain times and the
// maximum disabled nothing is collected.
//
// A Service that left the tree has no latest revision and no minimum: its
// revisions go when stale or over the maximum, and the ledger with the
// last of them.
func Decide(l *serving.Ledger, cfg *config.GC, now time.Time) []Verdict {
	verdicts := make([]Verdict, len(l.Revisions))
	index := map[string]int{}
	for i, r := range l.Revisions {
		index[r.Name] = i
		verdicts[i] = Verdict{Revision: r.Name}
	}
	if cfg.Disabled() {
		for i := range verdicts {
			verdicts[i].Why = "garbage collection is disabled"
		}
		return verdicts
	}

	named := l.Named()
	var candidates []*serving.Revision
	for i := range l.Revisions {
		r := &l.Revisions[i]
		if why := active(l, r, named); why != "" {
			verdicts[i].Why = why
			continue
		}
		verdicts[i].FirstSeen = (r.Retired != nil && !r.Retired.Known()) ||
			(cfg.RetainSinceCreateTime != config.DisabledDuration && !r.Created.Known())
		candidates = append(candidates, r)
	}
	minKeep := int(cfg.MinNonActiveRevisions)
	if l.Removed != nil {
		minKeep = 0
	}
	if len(candidates) <= minKeep {
		for _, r := range candidates {
			verdicts[index[r.Name]].Why = fmt.Sprintf("within min-non-active-revisions (%d)", minKeep)
		}
		return verdicts
	}
	slices.SortStableFunc(candidates, func(a, b *serving.Revision) int {
		return cmp.Or(lastActive(a, now).Compare(lastActive(b, now)), cmp.Compare(a.Generation, b.Generation), cmp.Compare(a.Name, b.Name))
	})

	left := len(candidates)
	collected := map[string]bool{}
	for _, r := range candidates {
		v := &verdicts[index[r.Name]]
		if left <= minKeep {
			v.Why = fmt.Sprintf("within min-non-active-revisions (%d)", minKeep)
			continue
		}
		if why, stale := staleness(r, cfg, now); stale {
			v.Collect, v.Why = true, why
			collected[r.Name] = true
			left--
		} else {
			v.Why = why
		}
	}
	if max := int(cfg.MaxNonActiveRevisions); cfg.MaxNonActiveRevisions != config.DisabledCount && left > max {
		for _, r := range candidates {
			if left <= max {
				break
			}
			if collected[r.Name] {
				continue
			}
			v := &verdicts[index[r.Name]]
			v.Collect, v.Why = true, fmt.Sprintf("over max-non-active-revisions (%d)", max)
			left--
		}
	}
	for i := range verdicts {
		if v := &verdicts[i]; v.FirstSeen && !v.Collect {
			v.Why += " (no time recorded: counted from now)"
		}
	}
	return verdicts
}

// active returns why r may not be collected, or "" when it may: when its
// routing state is reserve and nothing else keeps it.
func active(l *serving.Ledger, r *serving.Revision, named map[string]bool) string {
	if strings.EqualFold(r.Template.Annotations[NoGCAnnotation], "true") {
		return NoGCAnnotation + " annotation"
	}
	if l.Removed == nil && r.Name == l.Latest {
		return "latest revision"
	}
	if l.Removed == nil && r.Name == l.LatestReady {
		return "latest ready revision"
	}
	if named[r.Name] {
		return routed(l, r.Name)
	}
	if r.Retired == nil {
		return "never routed (routing state pending)"
	}
	return ""
}

// routed says how l's routes name revision name.
func routed(l *serving.Ledger, name string) string {
	var tags []string
	found := false
	for _, t := range l.Traffic {
		if t.RevisionName != name {
			continue
		}
		found = true
		if t.Tag != "" {
			tags = append(tags, t.Tag)
		}
	}
	percent := serving.Share(l.Traffic, name)
	switch {
	case !found:
		return "named by a rollout in progress"
	case len(tags) > 0:
		return fmt.Sprintf("routed (%d%%, tag %s)", percent, strings.Join(tags, ", "))
	}
	return fmt.Sprintf("routed (%d%%)", percent)
}

// at is when s happened, or now when s records no time.
func at(s *serving.Stamp, now time.Time) time.Time {
	if !s.Known() {
		return now
	}
	return s.Time.Time
}

// lastActive is when r stopped being routed, or its creation when it
// never was.
func lastActive(r *serving.Revision, now time.Time) time.Time {
	if r.Retired != nil {
		return at(r.Retired, now)
	}
	return at(&r.Created, now)
}

// staleness says whether r is past the enabled retain-since-* times, and
// why (not).
func staleness(r *serving.Revision, cfg *config.GC, now time.Time) (string, bool) {
	create, idle := cfg.RetainSinceCreateTime, cfg.RetainSinceLastActiveTime
	if create == config.DisabledDuration && idle == config.DisabledDuration {
		return "retain times are disabled", false
	}
	if create != config.DisabledDuration {
		if age := now.Sub(at(&r.Created, now)); age < create {
			return fmt.Sprintf("created %s ago, within retain-since-create-time (%s)", round(age), create), false
		}
	}
	if idle != config.DisabledDuration {
		if since := now.Sub(lastActive(r, now)); since < idle {
			return fmt.Sprintf("inactive for %s, within retain-since-last-active-time (%s)", round(since), idle), false
		}
		return fmt.Sprintf("inactive for %s or more", idle), true
	}
	return fmt.Sprintf("created %s or more ago", create), true
}

func round(d time.Duration) time.Duration { return d.Round(time.Second) }
