package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/serving"
)

// GitSource is what a Loop needs of a followed repository; *git.Source
// is one. A wrapper of a source forwards every method: Run is how the
// Loop is polled, so every source declares its schedule.
type GitSource interface {
	Fetch(ctx context.Context) (git.Commit, bool, error)
	WriteBack(ctx context.Context, base git.Commit, files map[string][]byte, message string, replan git.Replan) (git.Commit, bool, error)
	Status() git.Status
	// Run calls sync at once, then after every kick and at every poll
	// time, until ctx ends (see git.Source.Run).
	Run(ctx context.Context, p git.Poll, kicks <-chan struct{}, sync func(context.Context)) error
}

var _ GitSource = (*git.Source)(nil)

// Loop follows one Git source: on every trigger it fetches, and when the
// head moved (or the last pass did not finish: a write-back or apply
// failed) it loads the commit, plans, writes a changed ledger back as a
// commit (or, read-only, keeps it in memory), renders and applies what the
// new head holds through Target. A commit that does not load, validate or
// plan is reported in Status and not retried until the head moves again:
// what runs, and the ledger, stay those of the last good commit. So is a
// head the source refuses as unverified (git.ErrUnverified), which is
// never loaded at all.
//
// A Loop is Target-agnostic: `ebb up URL` drives the local runtime with
// it, a cluster controller its apply step. Sync is the whole pass; Run
// calls it at start, after every kick and at every poll.
type Loop struct {
	// Name identifies the source in status and metrics (default "main").
	Name   string
	Source GitSource
	Target Target
	// ReadOnly keeps ledger changes in memory instead of committing them.
	ReadOnly bool
	// Previews, when set, add the preview refs' revisions to what is
	// applied; they never reach the ledger.
	Previews *Previews
	// Metrics, when set, count passes, errors and write-backs.
	Metrics *Metrics
	// Statuses, when set, posts the commit statuses of the loop's state
	// (see CommitStatuses): the loop kicks it after every pass, and its
	// status is the source's Forge.
	Statuses *StatusPoster
	// Report, when set, is told of every pass that applied something new
	// or failed (for a command's output). It must not block.
	Report func(Pass)
	Logger *slog.Logger
	// Resync, when positive, applies the last applied state again when
	// no pass has applied for that long, even with the head unchanged: the
	// Target's chance to take back drift (the cluster's apply step makes
	// such a pass a full one; see apply.SSA.Apply).
	Resync time.Duration
	// Limits bound what is read of each commit, the previews' included
	// (zero fields: serving.DefaultLimits).
	Limits serving.Limits
	// Observe, when set, reports what the Target has seen of the
	// revisions (which have become ready): planning takes it in, and a
	// pass plans again, with the head unchanged, when it would record a
	// revision as ready. Kick the loop when it changes.
	Observe func() serving.Observed
	// Whole says the Target takes every object of a state at once (see
	// Pipeline.Whole).
	Whole bool

	passMu gosync.Mutex // one pass or ledger write at a time
	// pipe loads, plans, renders and applies each state; a pass sets its
	// Target, Limits, Observe and Whole from the Loop's.
	pipe Pipeline

	mu         gosync.Mutex
	st         SourceStatus
	base       git.Commit        // the main commit last applied
	retry      bool              // the last pass failed in a way worth retrying
	invalid    string            // the commit last found invalid or unverified
	invalidErr string            // why: the source's error while invalid is the head
	invalidAt  string            // StageInvalid or StageUnverified
	memory     []*serving.Ledger // read-only: the ledgers planned so far
	main       *Desired          // the main branch's last applied state
	applied    *Desired          // what Target last applied (main plus previews)
	at         time.Time         // when Target last applied
}

func (l *Loop) log() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (l *Loop) name() string {
	if l.Name != "" {
		return l.Name
	}
	return "main"
}

// Run calls Sync at once, after every kick and at every poll time until
// ctx ends, on the source's own schedule (see GitSource.Run), which keeps
// Status.NextSync up to date.
func (l *Loop) Run(ctx context.Context, poll git.Poll, kicks <-chan struct{}) error {
	return l.Source.Run(ctx, poll, kicks, func(ctx context.Context) { l.Sync(ctx) })
}

// Again makes the next pass plan the head and apply it, even when it has
// not moved, as a new process's first pass does: a controller that leads
// again calls it, since another may have led in between. A head found
// invalid stays so; the last good state is applied again (with Resync
// set).
func (l *Loop) Again() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.retry, l.at = true, time.Time{}
}

// Sync runs one pass now: the edge where a pass reads the clock.
func (l *Loop) Sync(ctx context.Context) Pass { return l.SyncAt(ctx, time.Now()) }

// SyncAt runs one pass at now and returns its outcome. Every decision of
// the pass (a gradual rollout's step, a resync, what planning routes)
// is made at now.
func (l *Loop) SyncAt(ctx context.Context, now time.Time) Pass {
	l.passMu.Lock()
	defer l.passMu.Unlock()
	var took Timing
	var total time.Duration
	done := lap(&total)
	p := l.pass(ctx, now, &took)
	done()
	p.Took = took
	l.Metrics.pass(l.name(), p, total)
	l.mu.Lock()
	l.st.LastSync = now
	switch {
	case p.Err != nil:
		l.st.LastError, l.st.ErrorStage = p.Err.Error(), p.Stage
	case l.invalid != "" && l.invalid == l.st.Fetched:
		// The head is still the commit found invalid, and what is applied
		// is older: its error stands until a good commit is applied.
		l.st.LastError, l.st.ErrorStage = l.invalidErr, l.invalidAt
	default:
		l.st.LastError, l.st.ErrorStage = "", ""
	}
	l.mu.Unlock()
	if p.Err != nil {
		l.log().Error("sync failed", "source", l.name(), "stage", p.Stage, "error", p.Err)
	}
	if p.Err == nil && p.Commit != "" {
		l.log().Info("synced", "source", l.name(), "commit", p.Commit, "wrote", p.Wrote, "took", p.Took)
	}
	if l.Report != nil && (p.Err != nil || p.Commit != "") {
		l.Report(p)
	}
	if l.Statuses != nil && (p.Err != nil || p.Commit != "") {
		l.Statuses.Kick()
	}
	return p
}

// tick is what a pass found due after fetching.
type tick struct {
	head            git.Commit
	main            *Desired // the main state last applied, nil before one
	mainDue         bool     // the head is to be planned and applied
	previewsChanged bool
	pass            Pass // the outcome so far: an unverified head's
}

// due fetches the source and the previews and decides, at now, what the
// pass does; !ok when nothing is due.
func (l *Loop) due(ctx context.Context, now time.Time, took *Timing) (t tick, ok bool) {
	done := lap(&took.Fetch)
	c, changed, err := l.Source.Fetch(ctx)
	done()
	unverified := errors.Is(err, git.ErrUnverified)
	l.mu.Lock()
	if err == nil || unverified {
		l.st.Fetched, l.st.FetchedTime = c.Hash, c.Time
	}
	retry, invalid, main, at := l.retry, l.invalid, l.main, l.at
	l.mu.Unlock()
	if err != nil && !unverified {
		return tick{pass: Pass{Err: err, Stage: StageFetch}}, false
	}
	t = tick{head: c, main: main}
	if unverified && c.Hash != invalid {
		// A head refused for the first time: reported once, like an
		// invalid commit.
		l.mu.Lock()
		l.invalid, l.invalidErr, l.invalidAt = c.Hash, err.Error(), StageUnverified
		l.mu.Unlock()
		t.pass = Pass{Err: err, Stage: StageUnverified}
	}
	if l.Previews != nil {
		t.previewsChanged = l.Previews.Sync(ctx, now)
	}
	t.mainDue = (changed || retry || main == nil) && !(c.Hash == invalid && !changed)
	t.mainDue = t.mainDue || (main != nil && c.Hash != invalid && (main.ReadyPending(l.pipe.observed(now)) || main.GradualDue(now)))
	if unverified {
		// Nothing of it is loaded: the last applied state stays, and
		// previews and resyncs go on from it.
		t.mainDue = false
	}
	resync := l.Resync > 0 && main != nil && !now.Before(at.Add(l.Resync))
	if (!t.mainDue && !t.previewsChanged && !resync) || (main == nil && unverified) {
		return t, false
	}
	return t, true
}

func (l *Loop) pass(ctx context.Context, now time.Time, took *Timing) Pass {
	l.pipe.Target, l.pipe.Limits, l.pipe.Observe, l.pipe.Whole = l.Target, l.Limits, l.Observe, l.Whole
	t, ok := l.due(ctx, now, took)
	if !ok {
		return t.pass
	}
	p, main, base := t.pass, t.main, t.head
	if t.mainDue {
		d, head, pass := l.follow(ctx, t.head, now, took)
		base, p = head, pass
		if p.Err != nil {
			l.mu.Lock()
			l.retry = p.Stage != StageInvalid
			if p.Stage == StageInvalid {
				l.invalid, l.invalidErr, l.invalidAt = head.Hash, p.Err.Error(), StageInvalid
			}
			l.mu.Unlock()
			if main == nil || !t.previewsChanged {
				return p
			}
			// Keep the last good main state; previews still move.
			p.Commit = ""
		} else {
			main = d
		}
	}
	applied := main
	if l.Previews != nil {
		// The previews' commits share most files with main's: load them
		// through the same cache.
		applied, p.Previews = compose(&l.pipe.files, &l.pipe.rendered, main, l.Previews.Current(), l.Previews.Policy)
	}
	if applied.delta == nil {
		// A kept state (see kept) applied again: render it anew.
		d := &Desired{Tree: applied.Tree, Ledgers: applied.Ledgers, At: applied.At, Now: now, Programmed: applied.Programmed}
		if err := l.render(d, took); err != nil {
			return Pass{Err: err, Stage: StageApply}
		}
		applied = d
	}
	done := lap(&took.Apply)
	err := l.pipe.apply(ctx, applied)
	done()
	if err != nil {
		l.mu.Lock()
		l.retry = true
		l.mu.Unlock()
		return Pass{Commit: "", Changes: p.Changes, Wrote: p.Wrote, Previews: p.Previews, Err: fmt.Errorf("apply: %w", err), Stage: StageApply}
	}
	l.mu.Lock()
	l.main, l.applied, l.at = kept(main), kept(applied), now
	if t.mainDue && p.Err == nil {
		// A failed main pass keeps its retry and invalid marks while the
		// previews move on.
		l.base, l.retry, l.invalid, l.invalidErr, l.invalidAt = base, false, "", "", ""
		l.st.Pushed = t.head.Hash
	}
	l.st.Previews = p.Previews
	l.st.Applied, l.st.AppliedTime = main.At.Commit, main.At.Time.Time
	l.mu.Unlock()
	if p.Commit == "" && (t.mainDue || t.previewsChanged) {
		p.Commit = main.At.Commit
	}
	return p
}

// kept is d as a Loop keeps it between passes: without its rendered
// objects, which are most of its memory and are rendered again from the
// tree and the ledgers when needed.
func kept(d *Desired) *Desired {
	if d == nil || d.delta == nil {
		return d
	}
	return &Desired{Tree: d.Tree, Ledgers: d.Ledgers, At: d.At, Now: d.Now, Programmed: d.Programmed}
}
