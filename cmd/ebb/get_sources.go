package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ebb-dev/ebb/engine"
)

// writeSources is the table of `ebb get sources`: the Git sources an
// `ebb up URL` follows, with what was fetched and applied, the last error
// and the previews; then the whole text of each source's error.
func writeSources(out io.Writer, srcs []engine.SourceStatus, now time.Time) {
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tURL\tREF\tFETCHED\tAPPLIED\tNEXT SYNC\tERROR")
	for _, s := range srcs {
		next := "-"
		if !s.NextSync.IsZero() {
			next = "in " + age(s.NextSync.Sub(now))
		}
		name := s.Name
		if s.ReadOnly {
			name += " (read-only)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, s.URL, s.Ref, short(s.Fetched), short(s.Applied), next, oneLine(s.LastError))
		for _, p := range s.Previews {
			fmt.Fprintf(w, "  preview %s\t%s\ttag %s\t%s\t\t\t%s\n", p.Ref, cmp.Or(strings.Join(p.Services, ","), "-"), p.Tag, short(p.Commit), oneLine(p.Error))
		}
		if f := s.Forge; f != nil {
			writeForge(w, f, now)
		}
	}
	w.Flush()
	for _, s := range srcs {
		if s.LastError != "" {
			fmt.Fprintf(out, "\n%s (%s):\n%s\n", s.Name, s.ErrorStage, s.LastError)
		}
	}
}

// writeForge is a source's line about commit statuses: how many were
// posted and wait, when a failed round is tried again, and why it failed
// (a rate limit first).
func writeForge(w io.Writer, f *engine.ForgeStatus, now time.Time) {
	waiting, next, msg := "", "", oneLine(f.LastError)
	if f.Waiting > 0 {
		waiting = fmt.Sprintf("%d waiting", f.Waiting)
	}
	if !f.NextTry.IsZero() {
		next = "in " + age(f.NextTry.Sub(now))
	}
	if f.RateLimitedUntil.After(now) {
		msg = "rate limited for " + age(f.RateLimitedUntil.Sub(now)) + ": " + msg
	}
	fmt.Fprintf(w, "  statuses on %s\t%d posted\t%s\t\t\t%s\t%s\n", f.Forge, f.Posted, waiting, next, msg)
}
