package main

import (
	"fmt"
	"strings"

	"github.com/ebb-dev/ebb/engine"
)

// report prints a pass's outcome.
func (g *gitUp) report(p engine.Pass) {
	g.gc.Note(g.loop.Main())
	if p.Err != nil {
		switch p.Stage {
		case engine.StageInvalid:
			fmt.Fprintf(g.e.stderr, "ebb: %s at %s is not valid; what runs is unchanged:\n%v\n", g.url, short(g.loop.Status().Fetched), p.Err)
		case engine.StageUnverified:
			fmt.Fprintf(g.e.stderr, "ebb: %s at %s is refused; what runs is unchanged: %v\n", g.url, short(g.loop.Status().Fetched), p.Err)
		default:
			fmt.Fprintf(g.e.stderr, "ebb: %s: %s: %v\n", g.url, p.Stage, p.Err)
		}
	}
	for _, c := range p.Changes {
		fmt.Fprintf(g.e.stdout, "ebb: %s\n", c)
	}
	if p.Wrote != "" {
		fmt.Fprintf(g.e.stdout, "ebb: pushed ledger commit %s\n", short(p.Wrote))
	}
	for _, pv := range p.Previews {
		if pv.Error != "" {
			fmt.Fprintf(g.e.stderr, "ebb: preview %s: %s\n", pv.Ref, pv.Error)
		} else if len(pv.Services) > 0 {
			fmt.Fprintf(g.e.stdout, "ebb: preview %s (tag %s) at %s: %s\n", pv.Ref, pv.Tag, short(pv.Commit), strings.Join(pv.Services, ", "))
		}
	}
	if p.Commit != "" {
		fmt.Fprintf(g.e.stdout, "ebb: applied %s\n", short(p.Commit))
		g.printURLs()
	}
}

func short(hash string) string { return hash[:min(len(hash), 12)] }
