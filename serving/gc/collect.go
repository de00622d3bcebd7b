package gc

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// Result is what one garbage collection run does to a set of ledgers.
type Result struct {
	// Ledgers are the ledgers that changed, without their collected
	// revisions.
	Ledgers []*serving.Ledger
	// Deleted are the ledgers of removed Services that lost their last
	// revision: their files go.
	Deleted []*serving.Ledger
	// Collected lists the collected revisions with the reason, in ledger
	// order.
	Collected []Verdict
}

// Empty reports whether the run changes nothing.
func (r *Result) Empty() bool { return len(r.Collected) == 0 }

// Collect applies Decide to every ledger and returns the changed ones.
// It is pure: ledgers are not modified.
func Collect(ledgers []*serving.Ledger, cfg *config.GC, now time.Time) *Result {
	res := &Result{}
	for _, l := range ledgers {
		var gone []Verdict
		for _, v := range Decide(l, cfg, now) {
			if v.Collect {
				gone = append(gone, v)
			}
		}
		if len(gone) == 0 {
			continue
		}
		res.Collected = append(res.Collected, gone...)
		next := l.DeepCopy()
		next.Revisions = slices.DeleteFunc(next.Revisions, func(r serving.Revision) bool {
			return slices.ContainsFunc(gone, func(v Verdict) bool { return v.Revision == r.Name })
		})
		if len(next.Revisions) == 0 && next.Removed != nil {
			res.Deleted = append(res.Deleted, next)
			continue
		}
		res.Ledgers = append(res.Ledgers, next)
	}
	return res
}

// Message is the commit message of the run, e.g.
// "ebb gc: removed hello-00003, hello-00004 (inactive for 15h0m0s or more)".
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
	parts := make([]string, len(reasons))
	for i, why := range reasons {
		parts[i] = fmt.Sprintf("%s (%s)", strings.Join(byReason[why], ", "), why)
	}
	return "ebb gc: removed " + strings.Join(parts, "; ")
}
