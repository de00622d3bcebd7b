package serving

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ebb-dev/ebb/serving/canary"
)

// Steer is a person's decision on a Service's progressing rollout
// (`ebb rollout promote|abort`).
type Steer string

// The decisions on a rollout.
const (
	// Promote ends the rollout Promoted: the canary takes the Service's
	// latestRevision share as soon as it is ready.
	Promote Steer = "promote"
	// Abort rolls the canary back: the stable revision has the share
	// back, and the canary is failed, never routed by latestRevision
	// again.
	Abort Steer = "abort"
)

// ErrNoRollout is the error of steering a Service that has no rollout in
// progress.
var ErrNoRollout = errors.New("no rollout in progress")

// Steer applies s, decided by who, to the progressing rollout of the
// Service namespace/name, then plans that Service again at at with
// nothing observed, so that the ledger's traffic is the one the decision
// resolves to. It returns the Service's next ledger and the changes, the
// first being the decision (ChangePromote or ChangeRolledBack), the others
// traffic and retirements. It is pure: nothing in t changes.
//
// A Service that planning would change in any other way (its template is
// not the ledger's latest revision: the ledger is behind the Service's
// file) is refused, as is one with no rollout in progress (ErrNoRollout).
func (t *Tree) Steer(namespace, name string, s Steer, who string, at Stamp) (*Ledger, []Change, error) {
	key := namespace + "/" + name
	if s != Promote && s != Abort {
		return nil, nil, fmt.Errorf("steer %s: unknown decision %q, want %s or %s", key, s, Promote, Abort)
	}
	var svc *Service
	for _, x := range t.Services {
		if x.Namespace == namespace && x.Name == name {
			svc = x
		}
	}
	if svc == nil {
		return nil, nil, fmt.Errorf("%s: no such Service in the repository", key)
	}
	var prev *Ledger
	for _, l := range t.Ledgers {
		if l.Namespace == namespace && l.Service == name {
			prev = l
		}
	}
	if prev == nil || prev.Rollout == nil {
		return nil, nil, fmt.Errorf("%s: %w (it has never rolled out analysed)", key, ErrNoRollout)
	}
	if r := prev.Rollout; r.Phase != canary.Progressing {
		return nil, nil, fmt.Errorf("%s: %w (canary %s ended %s)", key, ErrNoRollout, r.Canary, describeEnd(r))
	}
	l := prev.DeepCopy()
	r := l.Rollout
	decision := Change{Namespace: namespace, Service: name, Revision: r.Canary}
	switch s {
	case Promote:
		r.Phase, r.NextCheck, r.Reason = canary.Promoted, nil, "promoted by "+who
		decision.Kind, decision.Message = ChangePromote, fmt.Sprintf("promote %s (by %s)", r.Canary, who)
	case Abort:
		reason := "aborted by " + who
		l.rollBack(reason, at)
		decision.Kind, decision.Message = ChangeRolledBack, fmt.Sprintf("rollback %s: %s", r.Canary, reason)
	}
	next, changes, err := plan([]*Service{svc}, []*Ledger{l}, at, Observed{}, t.Code, nil, nil, t.Config)
	if err != nil {
		return nil, nil, t.Locate(err)
	}
	var other []string
	for _, c := range changes {
		if c.Kind != ChangeTraffic && c.Kind != ChangeRetired {
			other = append(other, c.Message)
		}
	}
	if len(other) > 0 {
		return nil, nil, fmt.Errorf("%s: the ledger has not planned the Service's file yet (%s): let ebb plan it, or pull ebb's ledger commit, first",
			key, strings.Join(other, "; "))
	}
	return next[0], append([]Change{decision}, changes...), nil
}

// describeEnd says how a rollout that is over ended: "Promoted", or
// "RolledBack: <reason>".
func describeEnd(r *canary.State) string {
	if r.Reason == "" {
		return string(r.Phase)
	}
	return string(r.Phase) + ": " + r.Reason
}
