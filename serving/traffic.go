package serving

import (
	"fmt"
	"slices"
	"strings"
)

// Percent is a share of a route's traffic, 0 to 100: a traffic target's
// in a Service (spec.traffic[].percent, an int64 in Knative's API) and in
// a ledger, and a revision's share of a route as ebb renders it. Its
// encoding is an integer's.
type Percent int64

// valid reports whether p is a share: 0 to 100.
func (p Percent) valid() bool { return 0 <= p && p <= 100 }

// Routed is the set of revisions that carry traffic or a tag.
func Routed(traffic []Target) map[string]bool {
	m := map[string]bool{}
	for _, t := range traffic {
		if t.Percent > 0 || t.Tag != "" {
			m[t.RevisionName] = true
		}
	}
	return m
}

// FormatTraffic describes resolved traffic, e.g.
// "hello-00002 at 10% (latestRevision), hello-00001 at 90%".
func FormatTraffic(traffic []Target) string {
	if len(traffic) == 0 {
		return "no traffic"
	}
	parts := make([]string, len(traffic))
	for i, t := range traffic {
		var notes []string
		if t.LatestRevision {
			notes = append(notes, "latestRevision")
		}
		if t.Tag != "" {
			notes = append(notes, "tag "+t.Tag)
		}
		parts[i] = fmt.Sprintf("%s at %d%%", t.RevisionName, t.Percent)
		if len(notes) > 0 {
			parts[i] += " (" + strings.Join(notes, ", ") + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// MainSplit is the split of the Service's main (untagged) host: every
// target with percent > 0, the same revision summed, in first-listed order.
// (A route lists a few targets: they are looked up in order, not hashed.)
func MainSplit(traffic []Target) []Target {
	var out []Target
	for _, t := range traffic {
		if t.Percent == 0 {
			continue
		}
		if i := slices.IndexFunc(out, func(o Target) bool { return o.RevisionName == t.RevisionName }); i >= 0 {
			out[i].Percent += t.Percent
			out[i].LatestRevision = out[i].LatestRevision || t.LatestRevision
			continue
		}
		out = append(out, Target{RevisionName: t.RevisionName, LatestRevision: t.LatestRevision, Percent: t.Percent})
	}
	return out
}

// Tags maps each tag to its revision; a tag host sends all its traffic
// there.
func Tags(traffic []Target) map[string]string {
	m := map[string]string{}
	for _, t := range traffic {
		if t.Tag != "" {
			m[t.Tag] = t.RevisionName
		}
	}
	return m
}
