package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	gosync "sync"
	"time"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/engine/webhook"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/runtime/local"
)

// runUpGit is `ebb up URL`.
func runUpGit(ctx context.Context, e *env, url string, g *gitFlags, addr, admin string, log *slog.Logger) int {
	secret, err := g.webhookSecret(e)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitUsage
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	cfg, err := g.sourceConfig(e, url, filepath.Join(cache, "ebb", "git"))
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitUsage
	}
	cfg.Logger = log
	src, err := git.New(cfg)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitUsage
	}
	// The runtime builds ko:// images and runs relative commands from a
	// checkout of the applied commit.
	work := filepath.Join(filepath.Dir(cfg.CacheDir), "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitInvalid
	}
	previews, err := g.previewsFor(e, cfg, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitUsage
	}
	var sandbox *local.Sandbox
	if previews != nil {
		if sandbox, err = g.isolatePreviews(e); err != nil {
			fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
			return exitInvalid
		}
		if sandbox != nil {
			defer sandbox.Remove()
		}
	}
	u, err := newUp(work, e, log, sandbox)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitInvalid
	}
	files := engine.NewCommitFiles(src)
	co := &engine.Checkouts{Files: files, Work: work, Previews: filepath.Join(filepath.Dir(cfg.CacheDir), "previews"), Logger: log}
	if sandbox != nil {
		// The sandboxed user must reach the previews' checkouts.
		co.Previews = filepath.Join(sandbox.Dir, "src")
	}
	if previews != nil {
		co.Current = previews.Current
	}
	u.target.Prepare = co.Prepare
	gu := &gitUp{up: u, url: git.Redact(url)}
	gu.loop = &engine.Loop{Source: files, Target: u.target, ReadOnly: *g.readOnly, Logger: log, Report: gu.report, Limits: g.limits, Observe: u.observed, Whole: true}
	u.planned, u.gc.Writer = gu.loop.Main, gu.loop
	if gu.loop.Metrics, err = engine.NewMetrics(u.metrics); err == nil {
		err = u.metrics.Register(engine.SourceCollector{Name: "main", Source: src})
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: metrics: %v\n", err)
		return exitInvalid
	}
	gu.loop.Previews = previews
	if gu.loop.Statuses, err = g.statusPoster(e, cfg, u.metrics, gu.loop, gu.status, log); err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitUsage
	}
	if err := gu.serve(ctx, addr, admin, git.Poll{Interval: *g.poll, Jitter: 0.1}, secret); err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

// gitUp is `ebb up` following a Git source.
type gitUp struct {
	*up
	url  string // the source's URL as ebb prints it, credentials redacted
	loop *engine.Loop
}

// serve runs the servers and the sync loop until ctx ends.
func (g *gitUp) serve(ctx context.Context, addr, adminAddr string, poll git.Poll, secret string) error {
	src := &admin.Source{Webhook: webhook.For([]byte(secret), g.log), Status: func() any { return []engine.SourceStatus{g.loop.Status()} }}
	return g.run(ctx, addr, adminAddr, src, g.url, func(ctx context.Context, wg *gosync.WaitGroup) {
		// The loop commits a collection; the next pass applies it.
		wg.Go(func() { g.gc.Run(ctx, func(now time.Time) { collectAndKick(ctx, g.gc, now, g.kicks) }) })
		if g.loop.Statuses != nil {
			wg.Go(func() { g.loop.Statuses.Run(ctx) })
		}
		if g.loop.ReadOnly {
			msg := fmt.Sprintf("ebb: READ-ONLY: ledger changes stay in memory and are never pushed to %s; they are lost when ebb stops\n", g.url)
			fmt.Fprint(g.e.stdout, msg)
			fmt.Fprint(g.e.stderr, msg)
		}
		_ = g.loop.Run(ctx, poll, g.kicks)
	})
}

// collectAndKick collects garbage at now and, when that removed
// revisions, asks for a pass at once.
func collectAndKick(ctx context.Context, gc *engine.GC, now time.Time, kicks git.Kicks) {
	if gc.Collect(ctx, now) {
		kicks.Kick()
	}
}
