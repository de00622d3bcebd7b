package local

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-dev/ebb/scaler"
)

// readiness is the revision's condition now. r.mu is held.
func (rev *revision) readiness() Readiness {
	states := make([]podState, 0, len(rev.pods)+len(rev.retiring))
	for _, p := range append(slices.Clip(rev.pods), rev.retiring...) {
		states = append(states, p.state())
	}
	return readiness(rev.spec.container, rev.want, rev.everReady, states, rev.ready)
}

// Readiness returns a revision's Ready condition; ok is false for a
// revision the runtime does not run. Watch tells when it changes.
func (r *Runtime) Readiness(key scaler.RevisionKey) (ready Readiness, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err, failed := r.failed[key]; failed {
		return failure(err), true
	}
	rev, ok := r.revisions[key]
	if !ok {
		return Readiness{}, false
	}
	return rev.readiness(), true
}

// Health reports a revision: the pods it should run, the pods ready,
// whether any pod was ever ready, and why it cannot run, if it cannot. ok
// is false for a revision the runtime never saw.
func (r *Runtime) Health(key scaler.RevisionKey) (want int32, ready int, everReady bool, err error, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err, failed := r.failed[key]; failed {
		return 0, 0, false, err, true
	}
	rev, found := r.revisions[key]
	if !found {
		return 0, 0, false, nil, false
	}
	for _, p := range rev.pods {
		if p.ready.Load() {
			ready++
		} else if perr := p.Err(); perr != nil && err == nil {
			err = perr
		}
	}
	return rev.want, ready, rev.everReady, err, true
}

// PodStatus is one pod as `ebb get` shows it.
type PodStatus struct {
	Name     string
	Ready    bool
	Restarts int
	PID      int
	Err      error
}

// RevisionStatus is one revision as `ebb get` shows it.
type RevisionStatus struct {
	Key     scaler.RevisionKey
	Desired int32
	Pods    []PodStatus
	// Readiness is the revision's Ready condition.
	Readiness
}

// Status lists every revision the runtime runs, sorted.
func (r *Runtime) Status() []RevisionStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []RevisionStatus
	for _, rev := range r.revisions {
		s := RevisionStatus{Key: rev.key, Desired: rev.want, Readiness: rev.readiness()}
		for _, p := range rev.pods {
			ps := PodStatus{Name: p.name, Ready: p.ready.Load(), Err: p.Err()}
			if proc := p.proc.Load(); proc != nil {
				ps.Restarts, ps.PID = proc.Restarts(), proc.PID()
			}
			s.Pods = append(s.Pods, ps)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b RevisionStatus) int {
		return cmp.Or(cmp.Compare(a.Key.Namespace, b.Key.Namespace), cmp.Compare(a.Key.Name, b.Key.Name))
	})
	return out
}

// Failure tells why a revision cannot serve, if its Ready condition is
// False: "<reason>: <message>" (activator.Failures). Watch fires when it
// may have changed.
func (r *Runtime) Failure(namespace, revision string) (string, bool) {
	c, ok := r.Readiness(scaler.RevisionKey{Namespace: namespace, Name: revision})
	if !ok || c.Ready != corev1.ConditionFalse {
		return "", false
	}
	if c.Message == "" {
		return c.Reason, true
	}
	return c.Reason + ": " + c.Message, true
}
