package sync

import (
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving"
)

// AutoscaledRevisions lists what the autoscaler must know of each revision d
// renders: its annotations, container concurrency, and whether a route
// reaches it (a revision of a removed Service is unreachable).
func AutoscaledRevisions(d *Desired) []scaler.Revision {
	var out []scaler.Revision
	for _, l := range d.Ledgers {
		routed := serving.Routed(l.Traffic)
		floating := false
		for _, tt := range l.Traffic {
			floating = floating || tt.LatestRevision
		}
		for _, r := range l.Revisions {
			key := scaler.RevisionKey{Namespace: l.Namespace, Name: r.Name}
			ok := l.Removed == nil && (routed[r.Name] || (floating && r.Name == l.Latest))
			rev := scaler.Revision{Key: key, Annotations: r.Template.Annotations, Reachable: ok}
			if d.Tree != nil {
				if tmpl, found := l.Template(r.Name, d.Tree.Config); found && tmpl.Spec.ContainerConcurrency != nil {
					rev.ContainerConcurrency = *tmpl.Spec.ContainerConcurrency
				}
			}
			out = append(out, rev)
		}
	}
	return out
}
