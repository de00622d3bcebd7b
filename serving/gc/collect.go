package gc

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// Result is what one garbage collection run does to a set of ledgers.
type Result struct {
	// Ledgers are the ledgers that changed: without their collected
	// revisions, with the times first seen recorded.
	Ledgers []*serving.Ledger
	// Deleted are the ledgers of removed Services that lost their last
	// revision: their files go.
	Deleted []*serving.Ledger
	// Collected lists the collected revisions with the reason, in ledger
	// order.
	Collected []Verdict
	// FirstSeen lists the revisions kept whose missing retirement or
	// creation time the run recorded as its now (Verdict.FirstSeen).
	FirstSeen []string
}

// Empty reports whether the run changes nothing.
func (r *Result) Empty() bool { return len(r.Collected) == 0 && len(r.FirstSeen) == 0 }

// Collect applies Decide to every ledger and returns the changed ones.
// It is pure: ledgers are not modified. A revision kept whose retirement
// or creation has no known time gets now as that time, to the second: the
// first time garbage collection saw it, from which its retain times
// count in later runs too.
func Collect(ledgers []*serving.Ledger, cfg *config.GC, now time.Time) *Result {
	res := &Result{}
	seenAt := metav1.NewTime(now.UTC().Truncate(time.Second))
	for _, l := range ledgers {
		var gone []Verdict
		seen := map[string]bool{}
		for _, v := range Decide(l, cfg, now) {
			switch {
			case v.Collect:
				gone = append(gone, v)
			case v.FirstSeen:
				seen[v.Revision] = true
				res.FirstSeen = append(res.FirstSeen, v.Revision)
			}
		}
		if len(gone) == 0 && len(seen) == 0 {
			continue
		}
		res.Collected = append(res.Collected, gone...)
		next := l.DeepCopy()
		next.Revisions = slices.DeleteFunc(next.Revisions, func(r serving.Revision) bool {
			return slices.ContainsFunc(gone, func(v Verdict) bool { return v.Revision == r.Name })
		})
		for i := range next.Revisions {
			r := &next.Revisions[i]
			if !seen[r.Name] {
				continue
			}
			if r.Retired != nil && !r.Retired.Known() {
				r.Retired.Time = seenAt
			}
			if cfg.RetainSinceCreateTime != config.DisabledDuration && !r.Created.Known() {
				r.Created.Time = seenAt
			}
		}
		if len(next.Revisions) == 0 && next.Removed != nil {
			res.Deleted = append(res.Deleted, next)
			continue
		}
		res.Ledgers = append(res.Ledgers, next)
	}
	return res
}

// Message is the commit message of the run, e.g.
// "ebb gc: removed hello-00003, hello-00004 (inactive for 15h0m0s or more)"
// or "ebb gc: first saw hello-00005 (no time recorded)".
// Revisions are grouped by reason, reasons in first-seen order.
func (r *Result) Message() string {
	if r.Empty() {
		return ""
	}
	var reasons []string
	byReason := map[string][]string{}
	for _, v := range r.Collected {
		if _, ok := byReason[v.Why]; !ok {
			reasons = append(reasons, v.Why)
		}
		byReason[v.Why] = append(byReason[v.Why], v.Revision)
	}
	var msg []string
	if len(reasons) > 0 {
		parts := make([]string, len(reasons))
		for i, why := range reasons {
			parts[i] = fmt.Sprintf("%s (%s)", strings.Join(byReason[why], ", "), why)
		}
		msg = append(msg, "removed "+strings.Join(parts, "; "))
	}
	if len(r.FirstSeen) > 0 {
		msg = append(msg, "first saw "+strings.Join(r.FirstSeen, ", ")+" (no time recorded)")
	}
	return "ebb gc: " + strings.Join(msg, "; ")
}
