package rollout

import (
	"fmt"
	"strings"
	"time"
)

// Describe says what a configuration's rollout does, in words fit for a
// commit subject, e.g.
//
//	rollout hello-00002: 1% at 12:00:00Z, +5% every 1s from 12:00:02Z, 100% at 12:00:21Z; hello-00001 99%
//
// (times in UTC, to the millisecond when not whole seconds). A finished
// rollout is "rollout hello-00002 done: 100%".
func (c *ConfigurationRollout) Describe() string {
	if len(c.Revisions) == 0 {
		return "rollout done: no traffic"
	}
	newest := c.Revisions[len(c.Revisions)-1]
	if c.Done() {
		return fmt.Sprintf("rollout %s done: %d%%", newest.RevisionName, newest.Percent)
	}
	var b strings.Builder
	p := c.StepParams
	fmt.Fprintf(&b, "rollout %s: %d%% at %s", newest.RevisionName, newest.Percent, clock(p.StartTime))
	if end := c.EndTime(); !end.IsZero() {
		fmt.Fprintf(&b, ", +%d%% every %s from %s, %d%% at %s", p.StepSize,
			p.StepDuration.Duration.Round(time.Millisecond), clock(p.NextStepTime), c.Percent, clock(end))
	}
	b.WriteString(";")
	for _, r := range c.Revisions[:len(c.Revisions)-1] {
		fmt.Fprintf(&b, " %s %d%%,", r.RevisionName, r.Percent)
	}
	return strings.TrimSuffix(b.String(), ",")
}

func clock(t time.Time) string {
	t = t.UTC().Round(time.Millisecond)
	if t.Truncate(time.Second).Equal(t) {
		return t.Format("15:04:05Z")
	}
	return t.Format("15:04:05.000Z")
}
