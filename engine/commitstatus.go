package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ebb-dev/ebb/engine/forge"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/canary"
)

// The contexts of the commit statuses ebb sets.
const (
	// ContextApply is on the followed branch's commits: applied, or why
	// not.
	ContextApply = "ebb/apply"
	// ContextPreview is on a preview's head commit, followed by
	// /<service> per Service it previews; alone for what is wrong with
	// the preview as a whole.
	ContextPreview = "ebb/preview"
	// ContextRollout, followed by /<service>, is on the commit that made
	// a Service's analysed canary: its progress and verdict.
	ContextRollout = "ebb/rollout"
)

// CommitStatus is a status ebb wants on a commit.
type CommitStatus struct {
	Commit string `json:"commit"`
	forge.Status
}

// StatusState is what commit statuses are derived from: the source's
// status, the ledgers of the main branch's applied state, and the
// Services of what is applied (main and previews, see Status).
type StatusState struct {
	Source   SourceStatus
	Ledgers  []*serving.Ledger
	Services []ServiceStatus
}

// CommitStatuses are the statuses st calls for, sorted by commit and
// context, one per commit and context. It is pure: the same state gives
// the same statuses, which a poster compares with what it posted.
//
//   - ebb/apply: success on the applied commit (and on the commit its
//     ledger commits were written on top of); failure, with the stage and
//     the first line of the error, on a fetched commit that did not load,
//     plan, write back or apply, or that was refused as unverified.
//   - ebb/preview/<service> on a preview's head: pending while the
//     preview's revision is not ready, success with the tag's URL as the
//     target, failure when it failed; ebb/preview alone fails with what
//     keeps the preview (or some of its Services) from running, such as a
//     validation error with its file and line.
//   - ebb/rollout/<service> on the commit that made a Service's analysed
//     canary: pending with the canary's weight and last figures, success
//     when promoted, failure when rolled back with the failing figure.
func CommitStatuses(st StatusState) []CommitStatus {
	out := map[[2]string]CommitStatus{}
	set := func(commit string, s forge.Status) {
		if commit == "" {
			return
		}
		s.Description = forge.Shorten(s.Description)
		out[[2]string{commit, s.Context}] = CommitStatus{Commit: commit, Status: s}
	}
	src := st.Source
	if src.Applied != "" {
		set(src.Applied, forge.Status{Context: ContextApply, State: forge.Success, Description: "applied"})
		if src.Pushed != "" && src.Pushed != src.Applied {
			set(src.Pushed, forge.Status{Context: ContextApply, State: forge.Success,
				Description: "applied, with ledger commit " + short(src.Applied)})
		}
	}
	if src.LastError != "" && src.ErrorStage != StageFetch {
		set(src.Fetched, forge.Status{Context: ContextApply, State: forge.Failure,
			Description: src.ErrorStage + ": " + firstLine(src.LastError)})
	}
	svcs := servicesByName(st.Services)
	for _, p := range src.Previews {
		previewStatuses(p, svcs, set)
	}
	for _, l := range st.Ledgers {
		if l.Rollout == nil || l.Removed != nil {
			continue
		}
		var ro *RolloutStatus
		url := ""
		if s := svcs[l.Namespace+"/"+l.Service]; s != nil {
			ro, url = s.Rollout, s.URL
		}
		if ro == nil {
			ro = &RolloutStatus{State: *l.Rollout}
		}
		for _, r := range l.Revisions {
			if r.Name == l.Rollout.Canary {
				set(r.Created.Commit, rolloutStatus(serviceContext(ContextRollout, l.Namespace, l.Service), ro, url))
			}
		}
	}
	list := make([]CommitStatus, 0, len(out))
	for _, s := range out {
		list = append(list, s)
	}
	slices.SortFunc(list, func(a, b CommitStatus) int {
		return cmp.Or(cmp.Compare(a.Commit, b.Commit), cmp.Compare(a.Context, b.Context))
	})
	return list
}

// CommitStatuses are the commit statuses l's state calls for, services
// being the Status of what l applied.
func (l *Loop) CommitStatuses(services []ServiceStatus) []CommitStatus {
	return CommitStatuses(l.statusState(services))
}

// PullRequestComments are the pull-request comments l's state calls for,
// services being the Status of what it applied.
func (l *Loop) PullRequestComments(services []ServiceStatus) map[int]string {
	return PullRequestComments(l.statusState(services))
}

// statusState is the StatusState of l, services being the Status of what it
// applied.
func (l *Loop) statusState(services []ServiceStatus) StatusState {
	st := StatusState{Source: l.Status(), Services: services}
	if m := l.Main(); m != nil {
		st.Ledgers = m.Ledgers
	}
	return st
}

// previewStatuses are the statuses of preview p on its head commit.
func previewStatuses(p PreviewStatus, svcs map[string]*ServiceStatus, set func(string, forge.Status)) {
	if p.Error != "" {
		set(p.Commit, forge.Status{Context: ContextPreview, State: forge.Failure, Description: firstLine(p.Error)})
	} else if len(p.Services) == 0 {
		set(p.Commit, forge.Status{Context: ContextPreview, State: forge.Success, Description: "changes no Service's template: nothing to preview"})
	}
	for _, name := range p.Services {
		s, _ := previewOf(p, name, svcs)
		set(p.Commit, s)
	}
}

// previewOf is the status of preview p's Service name
// (namespace/name, as p lists it), and the revision it runs, nil when
// not known yet.
func previewOf(p PreviewStatus, name string, svcs map[string]*ServiceStatus) (forge.Status, *RevisionStatus) {
	ns, svc, _ := strings.Cut(name, "/")
	s := forge.Status{Context: serviceContext(ContextPreview, ns, strings.TrimSuffix(svc, "-"+p.Tag)), State: forge.Pending,
		Description: "starting"}
	st := svcs[name]
	if st == nil {
		return s, nil
	}
	// A tagged revision of the Service, or (in a namespace of previews) a
	// Service of its own.
	var rev *RevisionStatus
	ready, reason, url := st.Ready, st.Reason, st.URL
	for i, r := range st.Revisions {
		switch {
		case slices.Contains(r.Tags, p.Tag):
			rev, ready, reason = &st.Revisions[i], r.Ready, r.Reason
			for _, t := range st.Tags {
				if t.Tag == p.Tag {
					url = t.URL
				}
			}
		case rev == nil && r.Percent == 100 && strings.HasSuffix(svc, "-"+p.Tag):
			rev = &st.Revisions[i]
		}
	}
	switch ready {
	case True:
		s.State, s.Description, s.TargetURL = forge.Success, "ready at "+url, url
	case False:
		s.State, s.Description = forge.Failure, "not ready: "+cmp.Or(firstLine(reason), "failed")
	default:
		if reason != "" {
			s.Description = "starting: " + firstLine(reason)
		}
	}
	return s, rev
}

// servicesByName indexes services by namespace/name.
func servicesByName(services []ServiceStatus) map[string]*ServiceStatus {
	out := map[string]*ServiceStatus{}
	for i := range services {
		out[services[i].Namespace+"/"+services[i].Name] = &services[i]
	}
	return out
}

// rolloutStatus is the status of a Service's analysed canary.
func rolloutStatus(context string, r *RolloutStatus, url string) forge.Status {
	s := forge.Status{Context: context, TargetURL: url}
	switch r.Phase {
	case canary.Promoted:
		s.State, s.Description = forge.Success, r.Canary+" promoted"
	case canary.RolledBack:
		s.State, s.Description = forge.Failure, r.Canary+" rolled back: "+r.Reason
		return s
	default:
		s.State, s.Description = forge.Pending, r.Summary()
	}
	if r.Last != nil {
		s.Description += "; last check " + r.Last.Canary.String()
	}
	return s
}

// serviceContext is prefix/<service>, prefix/<namespace>/<service>
// outside the default namespace.
func serviceContext(prefix, namespace, service string) string {
	if namespace == "" || namespace == "default" {
		return prefix + "/" + service
	}
	return fmt.Sprintf("%s/%s/%s", prefix, namespace, service)
}

// firstLine is s up to its first line break.
func firstLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first
}

func short(hash string) string { return hash[:min(len(hash), 12)] }
