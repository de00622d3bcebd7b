package engine

import (
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// AutoscaledRevisions lists what the autoscaler must know of each revision d
// renders: its annotations, container concurrency, and whether a route
// reaches it (a revision of a removed Service is unreachable).
func AutoscaledRevisions(d *Desired) []scaler.Revision {
	var out []scaler.Revision
	for _, l := range d.Ledgers {
		out = append(out, LedgerRevisions(d, l)...)
	}
	return out
}

// LedgerRevisions is AutoscaledRevisions for the revisions of l, one of
// d's ledgers.
func LedgerRevisions(d *Desired, l *serving.Ledger) []scaler.Revision {
	var cfg *config.Config
	if d.Tree != nil {
		cfg = d.Tree.Config
	}
	routed := serving.Routed(l.Traffic)
	floating := false
	for _, tt := range l.Traffic {
		floating = floating || tt.LatestRevision
	}
	out := make([]scaler.Revision, 0, len(l.Revisions))
	for _, r := range l.Revisions {
		key := scaler.RevisionKey{Namespace: l.Namespace, Name: r.Name}
		ok := l.Removed == nil && (routed[r.Name] || (floating && r.Name == l.Latest))
		rev := scaler.Revision{Key: key, Annotations: r.Template.Annotations, Reachable: ok}
		if d.Tree != nil {
			if tmpl, found := l.Template(r.Name, cfg); found && tmpl.Spec.ContainerConcurrency != nil {
				rev.ContainerConcurrency = *tmpl.Spec.ContainerConcurrency
			}
		}
		out = append(out, rev)
	}
	return out
}

// RevisionCode returns the code digests of each revision of d's ledgers
// that records any (serving.Revision.Code): what a runtime builds its
// ko:// images from.
func RevisionCode(d *Desired) map[scaler.RevisionKey]map[string]string {
	out := map[scaler.RevisionKey]map[string]string{}
	for _, l := range d.Ledgers {
		for _, r := range l.Revisions {
			if len(r.Code) > 0 {
				out[scaler.RevisionKey{Namespace: l.Namespace, Name: r.Name}] = r.Code
			}
		}
	}
	return out
}
