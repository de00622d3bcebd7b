package rollout

import (
	"time"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// Programmed is what the controller programming a route (a net-*
// controller, for a KIngress class) reports of the configuration's
// rollout on it: the newest revision and its percent as the object it
// programs carries them, and whether it has programmed that object's
// generation (Knative's ingress.IsReady()).
type Programmed struct {
	Revision string
	Percent  traffic.Percent
	Ready    bool
}

// HeldAt is the time, at most now, at which the plan r of configuration's
// main-route rollout is to be routed when the route's edge reports p: the
// split moves at most one step past a share the edge has programmed, and
// not at all while the share it carries is not programmed yet, as
// Knative's route reconciler moves a rollout on only once its ingress is
// ready. A share the plan's newest revision does not hold yet (the edge
// still carries the previous revision) holds the plan at its start, the
// first 1 %. The answer is now when the plan has no steps to hold back;
// SplitAt(r, HeldAt(…)) is then the split to route, and the plan's times
// stand: a released step is routed at once.
func HeldAt(r Rollout, configuration string, now time.Time, p Programmed) time.Time {
	c := r.Find("", configuration)
	if c == nil || c.Done() {
		return now
	}
	sp := c.StepParams
	if sp.StepSize <= 0 || sp.StepDuration.Duration <= 0 || sp.NextStepTime.IsZero() {
		return now
	}
	newest := c.Revisions[len(c.Revisions)-1]
	// programmed is how many of the plan's steps the share the edge
	// carries has taken; −1 before the plan's start.
	programmed := -1
	if p.Revision == newest.RevisionName && p.Percent >= newest.Percent {
		programmed = int((p.Percent - newest.Percent) / sp.StepSize)
	}
	allowed := programmed
	if p.Ready {
		allowed++
	}
	allowed = max(allowed, 0)
	// Step k is due at NextStepTime + (k−1)·StepDuration: the instant
	// before step allowed+1 is the last one routing allowed steps.
	limit := sp.NextStepTime.Add(time.Duration(allowed)*sp.StepDuration.Duration - 1)
	if now.Before(limit) {
		return now
	}
	return limit
}
