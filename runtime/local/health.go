package local

import (
	"time"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/scaler"
)

// Health reports a revision as engine.Status wants it (see
// engine.Health): its pods, its Ready condition, and the last minute's
// figures before now; ok is false for a revision the runtime does not
// run.
func (t *Target) Health(namespace, revision string, now time.Time) (h engine.RevisionHealth, ok bool) {
	key := scaler.RevisionKey{Namespace: namespace, Name: revision}
	want, ready, _, _, ok := t.Runtime.Health(key)
	c, known := t.Runtime.Readiness(key)
	if !ok || !known {
		return engine.RevisionHealth{}, false
	}
	h = engine.Health(want, ready, engine.Condition(c.Ready), c.Reason, c.Message)
	h.Figures = engine.FiguresOf(t.Scaler.Figures(key, now.Add(-time.Minute), now))
	return h, true
}
