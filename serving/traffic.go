package serving

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// Routed is the set of revisions that carry traffic or a tag.
func Routed(targets []Target) map[string]bool {
	m := map[string]bool{}
	for _, t := range targets {
		if t.Percent > 0 || t.Tag != "" {
			m[t.RevisionName] = true
		}
	}
	return m
}

// FormatTraffic describes resolved traffic, e.g.
// "hello-00002 at 10% (latestRevision), hello-00001 at 90%".
func FormatTraffic(targets []Target) string {
	if len(targets) == 0 {
		return "no traffic"
	}
	parts := make([]string, len(targets))
	for i, t := range targets {
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
func MainSplit(targets []Target) []Target {
	var out []Target
	for _, t := range targets {
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

// Share is revision's percent of the main host: its entry of MainSplit,
// 0 when it has none.
func Share(targets []Target, revision string) traffic.Percent {
	for _, t := range MainSplit(targets) {
		if t.RevisionName == revision {
			return t.Percent
		}
	}
	return 0
}

// Tags maps each tag to its revision; a tag host sends all its traffic
// there.
func Tags(targets []Target) map[string]string {
	m := map[string]string{}
	for _, t := range targets {
		if t.Tag != "" {
			m[t.Tag] = t.RevisionName
		}
	}
	return m
}
