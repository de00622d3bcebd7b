package main

import (
	"context"
	"fmt"
	gosync "sync"
	"time"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/serving"
)

// serve runs the directory until ctx ends, then stops every pod.
// Garbage collection runs between passes, so that its ledger writes and
// theirs never interleave.
func (u *up) serve(ctx context.Context, addr, adminAddr string) error {
	return u.run(ctx, addr, adminAddr, nil, u.dir, func(ctx context.Context, wg *gosync.WaitGroup) {
		wg.Go(func() {
			if err := engine.WatchDir(ctx, u.dir, 200*time.Millisecond, u.kicks.Kick); err != nil {
				u.log.Error("watching stopped: edits are no longer picked up", "error", err)
			}
		})
		gcRuns := make(chan time.Time)
		wg.Go(func() {
			u.gc.Run(ctx, func(now time.Time) {
				select {
				case gcRuns <- now:
				case <-ctx.Done():
				}
			})
		})
		u.pass(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-u.kicks:
				u.pass(ctx)
			case now := <-gcRuns:
				if u.gc.Collect(ctx, now) {
					u.pass(ctx)
				}
			}
		}
	})
}

// pass reconciles the directory once and reports the outcome. The
// directory is read through engine.OpenDir: no symbolic link leads out.
func (u *up) pass(ctx context.Context) {
	dir, err := engine.OpenDir(u.dir)
	if err != nil {
		fmt.Fprintf(u.e.stderr, "ebb: %v\n", err)
		return
	}
	// ko:// images build in the Go module the directory is part of,
	// which may hold it rather than be it.
	u.pipeline.Module = nil
	if mod := engine.OpenModule(u.dir); mod != nil {
		u.pipeline.Module = mod
		defer mod.Close()
	}
	res, err := u.pipeline.Pass(ctx, dir, u.stamp(), time.Time{})
	dir.Close()
	if err != nil {
		fmt.Fprintf(u.e.stderr, "ebb: %s is not valid; what runs is unchanged:\n%v\n", u.dir, err)
		return
	}
	for _, c := range res.Changes {
		fmt.Fprintf(u.e.stdout, "ebb: %s\n", c)
	}
	u.gc.Note(res.Desired)
	u.printURLs()
}

// stamp is the repository state a pass plans at (see engine.DirStamp): the
// wall clock gives the time, so that garbage collection ages revisions
// from when they were planned here.
func (u *up) stamp() serving.Stamp { return engine.DirStamp(u.dir, time.Now()) }
