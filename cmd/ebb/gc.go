package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/serving/gc"
)

const gcUsage = `usage: ebb gc DIR (--dry-run | --write) [--now RFC3339]

Garbage-collects old revisions of every Service under DIR with the rules of
DIR's config-gc (Knative's keys: retain-since-create-time,
retain-since-last-active-time, min-non-active-revisions,
max-non-active-revisions). Only a retired revision goes: one that no traffic
target names any more, at any percent. With --dry-run, prints every
revision, whether it would go, and why. With --write, removes the collected
revisions from the ledger files, and records the time of this run for a
retirement the ledger holds no time for (planned by ebb plan without
--time): retain times count from it. --now sets the time the rules are
judged at (default: now).

Exit status: 0 done, 1 invalid repository, 2 usage.
`

func runGC(_ context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("gc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dryRun := fs.Bool("dry-run", false, "print what would go and why")
	write := fs.Bool("write", false, "remove collected revisions from the ledger files")
	nowFlag := fs.String("now", "", "judge the rules at this time (RFC 3339)")
	dirs, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, gcUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb gc: %v\n%s", err, gcUsage)
		return exitUsage
	}
	if len(dirs) != 1 || *dryRun == *write {
		fmt.Fprint(e.stderr, "ebb gc: want one DIR and one of --dry-run or --write\n"+gcUsage)
		return exitUsage
	}
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(e.stderr, "ebb gc: --now: %v\n", err)
			return exitUsage
		}
		now = t
	}
	dir := dirs[0]
	// Collect from the ledger as this tree plans it, so that a Service
	// edited but not yet planned is judged by its current traffic.
	tree, ledgers, _, code := loadAndPlan(e, "gc", dir, uncommittedStamp)
	if code != exitOK {
		return code
	}
	if *dryRun {
		for _, l := range ledgers {
			fmt.Fprintf(e.stdout, "%s/%s:\n", l.Namespace, l.Service)
			for _, v := range gc.Decide(l, tree.Config.GC, now) {
				verdict := "keep"
				if v.Collect {
					verdict = "collect"
				}
				fmt.Fprintf(e.stdout, "  %-24s %-8s %s\n", v.Revision, verdict, v.Why)
			}
		}
		return exitOK
	}
	res := gc.Collect(ledgers, tree.Config.GC, now)
	if res.Empty() {
		fmt.Fprintln(e.stdout, "nothing to collect")
		return exitOK
	}
	fmt.Fprintln(e.stdout, res.Message())
	if _, err := (engine.DirWriter{Dir: dir}).Store(res.Ledgers, res.Deleted); err != nil {
		fmt.Fprintf(e.stderr, "ebb gc: %v\n", err)
		return exitInvalid
	}
	return exitOK
}
