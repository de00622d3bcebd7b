package serving

import (
	"time"

	"github.com/ebb-dev/ebb/serving/canary"
)

// Named is the set of revisions the Service's routes name: Knative's
// routing state "active". A traffic target names its revision at any
// percent, 0 % included, tagged or not; a latestRevision target also
// names the latest revision (Knative labels the latest created revision
// as soon as it exists, not only the latest ready one); a gradual
// rollout in progress names every revision it splits between, and an
// analysed rollout in progress its stable and canary revisions. A removed
// Service names none.
func (l *Ledger) Named() map[string]bool {
	m := map[string]bool{}
	if l == nil || l.Removed != nil {
		return m
	}
	for _, t := range l.Traffic {
		m[t.RevisionName] = true
		if t.LatestRevision && l.Latest != "" {
			m[l.Latest] = true
		}
	}
	if g := l.Gradual; g != nil {
		for _, c := range g.Configurations {
			for _, r := range c.Revisions {
				m[r.RevisionName] = true
			}
		}
	}
	if r := l.Rollout; r != nil && r.Phase == canary.Progressing {
		m[r.Stable], m[r.Canary] = true, true
	}
	delete(m, "")
	return m
}

// Known reports whether s says when: a plain directory planned without
// a commit or a clock (`ebb plan DIR`, `ebb gc DIR`) is stamped at the
// Unix epoch, which says nothing of when.
func (s Stamp) Known() bool {
	t := s.Time.Time
	return !t.IsZero() && !t.Equal(time.Unix(0, 0))
}
