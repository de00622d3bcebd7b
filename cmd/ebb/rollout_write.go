package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/serving/canary"
)

// writeRollout prints a rollout, its times relative to now.
func writeRollout(out io.Writer, service string, r *engine.RolloutStatus, now time.Time) {
	if r == nil {
		fmt.Fprintf(out, "%s: no rollout (it has never rolled out analysed)\n", service)
		return
	}
	fmt.Fprintf(out, "%s: %s\n", service, oneLine(r.Summary()))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(w, "  %s:\t"+format+"\n", append([]any{k}, args...)...)
	}
	row("phase", "%s", r.Phase)
	if r.Phase == canary.Progressing {
		row("canary", "%s at %d%%", r.Canary, r.Weight)
	} else {
		row("canary", "%s", r.Canary)
	}
	row("stable", "%s", r.Stable)
	if r.Interval != "" {
		row("analysis", "every %s, rolled back at %d failed checks", r.Interval, r.Threshold)
		row("failed checks", "%d of %d", r.FailedChecks, r.Threshold)
	} else {
		row("failed checks", "%d", r.FailedChecks)
	}
	if r.Last != nil {
		row("last check", "canary %s; stable %s", r.Last.Canary, r.Last.Stable)
	}
	if r.NextCheck != nil {
		when := "due"
		if d := r.NextCheck.Sub(now); d > 0 {
			when = "in " + d.Round(time.Second).String()
		}
		row("next check", "%s (%s)", r.NextCheck.UTC().Format(time.RFC3339), when)
	}
	row("started", "%s (%s ago)", r.Started.UTC().Format(time.RFC3339), age(now.Sub(r.Started.Time)))
	w.Flush()
	if r.Reason != "" {
		fmt.Fprintf(out, "  reason: %s\n", r.Reason)
	}
}
