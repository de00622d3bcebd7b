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
}

// Decide judges every revision of l at now, in ledger order.
//
// The rules are Knative's, with "active" read from the ledger: a revision
// that carries traffic or a tag, is the Service's latest, or carries the
// no-gc annotation is never collected. The others are sorted by when they
// stopped being routed, oldest first. Stale ones (past both enabled
// retain-since-* times) are collected while more than
// min-non-active-revisions of them remain; then, if more than
// max-non-active-revisions remain, the oldest are collected down to the
// maximum, retain times notwithstanding.
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

	var candidates []*serving.Revision
	for i := range l.Revisions {
		r := &l.Revisions[i]
		if why := active(l, r); why != "" {
			verdicts[i].Why = why
			continue
		}
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
		return cmp.Or(lastActive(a).Compare(lastActive(b)), cmp.Compare(a.Generation, b.Generation), cmp.Compare(a.Name, b.Name))
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
	return verdicts
}

// active returns why r may not be collected, or "" when it may.
func active(l *serving.Ledger, r *serving.Revision) string {
	if strings.EqualFold(r.Template.Annotations[NoGCAnnotation], "true") {
		return NoGCAnnotation + " annotation"
	}
	if l.Removed == nil && r.Name == l.Latest {
		return "latest revision"
	}
	if l.Removed == nil && r.Name == l.LatestReady {
		return "latest ready revision"
	}
	var percent int64
	var tags []string
	for _, t := range l.Traffic {
		if t.RevisionName != r.Name {
			continue
		}
		percent += t.Percent
		if t.Tag != "" {
			tags = append(tags, t.Tag)
		}
	}
	switch {
	case percent > 0 && len(tags) > 0:
		return fmt.Sprintf("routed (%d%%, tag %s)", percent, strings.Join(tags, ", "))
	case percent > 0:
		return fmt.Sprintf("routed (%d%%)", percent)
	case len(tags) > 0:
		return "tagged " + strings.Join(tags, ", ")
	}
	return ""
}

// lastActive is when r stopped being routed, or its creation when it
// never was.
func lastActive(r *serving.Revision) time.Time {
	if r.Retired != nil {
		return r.Retired.Time.Time
	}
	return r.Created.Time.Time
}

// staleness says whether r is past the enabled retain-since-* times, and
// why (not).
func staleness(r *serving.Revision, cfg *config.GC, now time.Time) (string, bool) {
	create, idle := cfg.RetainSinceCreateTime, cfg.RetainSinceLastActiveTime
	if create == config.DisabledDuration && idle == config.DisabledDuration {
		return "retain times are disabled", false
	}
	if create != config.DisabledDuration {
		if age := now.Sub(r.Created.Time.Time); age < create {
			return fmt.Sprintf("created %s ago, within retain-since-create-time (%s)", round(age), create), false
		}
	}
	if idle != config.DisabledDuration {
		if since := now.Sub(lastActive(r)); since < idle {
			return fmt.Sprintf("inactive for %s, within retain-since-last-active-time (%s)", round(since), idle), false
		}
		return fmt.Sprintf("inactive for %s or more", idle), true
	}
	return fmt.Sprintf("created %s or more ago", create), true
}

func round(d time.Duration) time.Duration { return d.Round(time.Second) }
