package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

// GitSource is what a Loop needs of a followed repository; *git.Source
// is one.
type GitSource interface {
	Fetch(ctx context.Context) (git.Commit, bool, error)
	WriteBack(ctx context.Context, base git.Commit, files map[string][]byte, message string, replan git.Replan) (git.Commit, bool, error)
	Status() git.Status
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
	// Now is the clock for status and Resync (default time.Now).
	Now func() time.Time
	// Limits bound what is read of each commit, the previews' included
	// (zero fields: serving.DefaultLimits).
	Limits serving.Limits
	// Observe, when set, reports what the Target has seen of the
	// revisions (which have become ready): planning takes it in, and a
	// pass plans again, with the head unchanged, when it would record a
	// revision as ready. Kick the loop when it changes.
	Observe func() serving.Observed

	passMu gosync.Mutex  // one pass or ledger write at a time
	files  serving.Cache // decoded files of recent commits
	code   codeDigests   // the code of recent commits' ko:// images
	// rendered renders states relative to the last one Target applied
	// without an error.
	rendered render.Memo

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

// Pass is the outcome of one Sync that did something.
type Pass struct {
	// Commit is the commit applied (a ledger commit when one was written).
	Commit string
	// Changes are the ledger changes planned, in order.
	Changes []serving.Change
	// Wrote is the ledger commit pushed, "" when none was.
	Wrote string
	// Previews lists the previews applied and their problems.
	Previews []PreviewStatus
	// Err is why the pass failed; Stage says where (fetch, unverified,
	// invalid, write-back, apply).
	Err   error
	Stage string
	// Took is the time the pass spent in each stage.
	Took Timing
}

// Timing is where a pass spent its time.
type Timing struct {
	Fetch     time.Duration // fetching the source
	Plan      time.Duration // loading and planning commits
	WriteBack time.Duration // committing and pushing the ledger
	Render    time.Duration
	Apply     time.Duration
}

// LogValue lists the stages in milliseconds.
func (t Timing) LogValue() slog.Value {
	ms := func(d time.Duration) slog.Attr { return slog.Attr{Value: slog.Int64Value(d.Milliseconds())} }
	a := []slog.Attr{ms(t.Fetch), ms(t.Plan), ms(t.WriteBack), ms(t.Render), ms(t.Apply)}
	for i, k := range []string{"fetch", "plan", "writeBack", "render", "apply"} {
		a[i].Key = k + "Ms"
	}
	return slog.GroupValue(a...)
}

// SourceStatus is a followed source as `ebb get sources` shows it.
type SourceStatus struct {
	Name        string    `json:"name"`
	URL         string    `json:"url"`
	Ref         string    `json:"ref"`
	ReadOnly    bool      `json:"readOnly,omitempty"`
	Fetched     string    `json:"fetched,omitempty"`
	FetchedTime time.Time `json:"fetchedTime,omitzero"`
	Applied     string    `json:"applied,omitempty"`
	AppliedTime time.Time `json:"appliedTime,omitzero"`
	// Pushed is the fetched commit Applied was planned from: Applied
	// itself, or the commit ebb's ledger commits were written on top of.
	Pushed   string    `json:"pushed,omitempty"`
	LastSync time.Time `json:"lastSync,omitzero"`
	// LastError is the last pass's error ("" when it succeeded), or, while
	// the head is a commit found invalid, that commit's: it stays until a
	// good commit is applied. For an invalid commit it lists every problem
	// as file:line: field: message.
	LastError  string          `json:"lastError,omitempty"`
	ErrorStage string          `json:"errorStage,omitempty"`
	NextSync   time.Time       `json:"nextSync,omitzero"`
	WriteBacks uint64          `json:"writeBacks"`
	Conflicts  uint64          `json:"conflicts"`
	Previews   []PreviewStatus `json:"previews,omitempty"`
	// Forge is how posting commit statuses goes, nil when ebb posts none.
	Forge *ForgeStatus `json:"forge,omitempty"`
}

// Stage names of a failed pass.
const (
	StageFetch = "fetch"
	// StageUnverified: the head is not signed by a trusted key (see
	// git.Config.Verify); it is not loaded, and what runs stays.
	StageUnverified = "unverified"
	StageInvalid    = "invalid"
	StageWriteBack  = "write-back"
	StageApply      = "apply"
)

// maxFollow bounds how many ledger commits one pass writes before it
// applies: planning a ledger commit normally changes nothing more.
const maxFollow = 3

func (l *Loop) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
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
// ctx ends. With a *git.Source it uses the source's own scheduler, which
// keeps Status.NextSync up to date.
func (l *Loop) Run(ctx context.Context, poll git.Poll, kicks <-chan struct{}) error {
	if r, ok := l.Source.(interface {
		Run(context.Context, git.Poll, <-chan struct{}, func(context.Context)) error
	}); ok {
		return r.Run(ctx, poll, kicks, func(ctx context.Context) { l.Sync(ctx) })
	}
	if poll.Interval <= 0 {
		poll.Interval = time.Minute
	}
	for {
		l.Sync(ctx)
		now := l.now()
		t := time.NewTimer(poll.Next(now, rand.Float64()).Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		case <-kicks:
			t.Stop()
		}
	}
}

// Sync runs one pass and returns its outcome.
func (l *Loop) Sync(ctx context.Context) Pass {
	l.passMu.Lock()
	defer l.passMu.Unlock()
	start := l.now()
	p := l.sync(ctx)
	l.Metrics.pass(l.name(), p, l.now().Sub(start))
	l.mu.Lock()
	l.st.LastSync = l.now()
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

func (l *Loop) sync(ctx context.Context) Pass {
	var took Timing
	p := l.pass(ctx, &took)
	p.Took = took
	return p
}

func (l *Loop) pass(ctx context.Context, took *Timing) Pass {
	l.files.Limits = l.Limits
	t0 := time.Now()
	c, changed, err := l.Source.Fetch(ctx)
	took.Fetch = time.Since(t0)
	unverified := errors.Is(err, git.ErrUnverified)
	l.mu.Lock()
	if err == nil || unverified {
		l.st.Fetched, l.st.FetchedTime = c.Hash, c.Time
	}
	retry, invalid, main, at := l.retry, l.invalid, l.main, l.at
	l.mu.Unlock()
	if err != nil && !unverified {
		return Pass{Err: err, Stage: StageFetch}
	}
	var p Pass
	if unverified && c.Hash != invalid {
		// A head refused for the first time: reported once, like an
		// invalid commit.
		l.mu.Lock()
		l.invalid, l.invalidErr, l.invalidAt = c.Hash, err.Error(), StageUnverified
		l.mu.Unlock()
		p = Pass{Err: err, Stage: StageUnverified}
	}
	previewsChanged := false
	if l.Previews != nil {
		previewsChanged = l.Previews.Sync(ctx)
	}
	mainDue := changed || retry || main == nil
	if c.Hash == invalid && !changed {
		mainDue = false
	}
	mainDue = mainDue || (main != nil && c.Hash != invalid && (l.readyPending(main) || main.GradualDue(l.now())))
	if unverified {
		// Nothing of it is loaded: the last applied state stays, and
		// previews and resyncs go on from it.
		mainDue = false
	}
	resync := l.Resync > 0 && main != nil && !l.now().Before(at.Add(l.Resync))
	if (!mainDue && !previewsChanged && !resync) || (main == nil && unverified) {
		return p
	}
	base := c
	if mainDue {
		d, head, pass := l.follow(ctx, c, took)
		base = head
		p = pass
		if p.Err != nil {
			l.mu.Lock()
			l.retry = p.Stage != StageInvalid
			if p.Stage == StageInvalid {
				l.invalid, l.invalidErr, l.invalidAt = head.Hash, p.Err.Error(), StageInvalid
			}
			l.mu.Unlock()
			if main == nil || !previewsChanged {
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
		applied, p.Previews = compose(&l.files, &l.rendered, main, l.Previews.Current(), l.Previews.Policy)
	}
	if applied.delta == nil {
		// A kept state (see kept) applied again: render it anew.
		d := &Desired{Tree: applied.Tree, Ledgers: applied.Ledgers, At: applied.At, Now: l.now(), Programmed: applied.Programmed}
		if err := l.render(d, took); err != nil {
			return Pass{Err: err, Stage: StageApply}
		}
		applied = d
	}
	t0 = time.Now()
	err = l.Target.Apply(ctx, applied)
	took.Apply = time.Since(t0)
	if err != nil {
		// What the Target holds now is not known object by object: the
		// next pass renders everything.
		l.rendered.Reset()
		l.mu.Lock()
		l.retry = true
		l.mu.Unlock()
		return Pass{Commit: "", Changes: p.Changes, Wrote: p.Wrote, Previews: p.Previews, Err: fmt.Errorf("apply: %w", err), Stage: StageApply}
	}
	l.rendered.Keep(applied.delta)
	l.mu.Lock()
	l.main, l.applied, l.at = kept(main), kept(applied), l.now()
	if mainDue && p.Err == nil {
		// A failed main pass keeps its retry and invalid marks while the
		// previews move on.
		l.base, l.retry, l.invalid, l.invalidErr, l.invalidAt = base, false, "", "", ""
		l.st.Pushed = c.Hash
	}
	l.st.Previews = p.Previews
	l.st.Applied, l.st.AppliedTime = main.At.Commit, main.At.Time.Time
	l.mu.Unlock()
	if p.Commit == "" && (mainDue || previewsChanged) {
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

// follow plans commit c, writes its ledger changes back, and returns the
// state to apply: that of the last ledger commit written, or of c.
func (l *Loop) follow(ctx context.Context, c git.Commit, took *Timing) (*Desired, git.Commit, Pass) {
	var p Pass
	for range maxFollow {
		d, changed, changes, err := l.plan(c.Files, stamp(c), took)
		if err != nil {
			return nil, c, Pass{Changes: p.Changes, Wrote: p.Wrote, Err: err, Stage: StageInvalid}
		}
		p.Changes = append(p.Changes, changes...)
		if len(changed) == 0 || l.ReadOnly {
			// The state to apply: no ledger commit supersedes it.
			if err := l.render(d, took); err != nil {
				return nil, c, Pass{Changes: p.Changes, Wrote: p.Wrote, Err: err, Stage: StageInvalid}
			}
			if len(changed) > 0 {
				l.mu.Lock()
				l.memory = d.Ledgers
				l.mu.Unlock()
			}
			p.Commit = c.Hash
			return d, c, p
		}
		msg := CommitMessage(changes)
		files, err := ledgerFiles(changed)
		if err != nil {
			return nil, c, Pass{Changes: p.Changes, Err: err, Stage: StageWriteBack}
		}
		t0 := time.Now()
		next, wrote, err := l.Source.WriteBack(ctx, c, files, msg, l.replan)
		took.WriteBack += time.Since(t0)
		if err != nil {
			return nil, c, Pass{Changes: p.Changes, Err: fmt.Errorf("write ledger: %w", err), Stage: StageWriteBack}
		}
		if wrote {
			p.Wrote = next.Hash
			l.Metrics.wrote(l.name())
			l.Metrics.committed(l.name(), changes)
			l.mu.Lock()
			l.st.WriteBacks++
			l.mu.Unlock()
		}
		// Continue from the commit the branch now holds: its ledger is
		// what gets applied.
		c = next
		l.mu.Lock()
		l.st.Fetched, l.st.FetchedTime = c.Hash, c.Time
		l.mu.Unlock()
	}
	return nil, c, Pass{Changes: p.Changes, Wrote: p.Wrote, Err: fmt.Errorf("ledger still changing after %d ledger commits", maxFollow), Stage: StageWriteBack}
}

// plan loads files and plans them at at; read-only, against the ledgers
// kept in memory. It returns the state, not rendered yet (see follow), and
// the ledgers that differ from those the files hold.
func (l *Loop) plan(files fs.FS, at serving.Stamp, took *Timing) (*Desired, []*serving.Ledger, []serving.Change, error) {
	t0 := time.Now()
	defer func() { took.Plan += time.Since(t0) }()
	tree, err := l.files.Load(files)
	if err != nil {
		return nil, nil, nil, err
	}
	l.code.digest(files, tree)
	if l.ReadOnly {
		l.mu.Lock()
		if l.memory != nil {
			tree.Ledgers = l.memory
		}
		l.mu.Unlock()
	}
	seen := l.observed()
	ledgers, changes, err := tree.Plan(at, seen)
	if err != nil {
		return nil, nil, nil, err
	}
	// A state that serves one host from two namespaces is invalid before
	// its ledger is committed.
	if err := l.rendered.CheckHosts(render.TreeInput(tree, ledgers)); err != nil {
		return nil, nil, nil, tree.Locate(err)
	}
	changed, err := ChangedLedgers(tree.Ledgers, ledgers)
	if err != nil {
		return nil, nil, nil, err
	}
	return &Desired{Tree: tree, Ledgers: ledgers, At: at, Now: seen.Now, Programmed: seen.Programmed}, changed, changes, nil
}

// observed is what the Target has seen, or nothing, at the Loop's clock
// unless the Target keeps its own.
func (l *Loop) observed() serving.Observed {
	var o serving.Observed
	if l.Observe != nil {
		o = l.Observe()
	}
	if o.Now.IsZero() {
		o.Now = l.now()
	}
	return o
}

// readyPending reports whether planning d again would record a revision
// as ready.
func (l *Loop) readyPending(d *Desired) bool { return d.ReadyPending(l.observed()) }

// render renders d's tree and ledgers relative to the state Target last
// applied (see Desired.Same), timed as the pass's render.
func (l *Loop) render(d *Desired, took *Timing) error {
	t0 := time.Now()
	err := renderDelta(&l.rendered, d)
	took.Render += time.Since(t0)
	return err
}

// renderDelta sets d's objects: those of the parts that changed since m's
// base, and the names of the others; or, when everything changed, none
// (see render.Memo.RenderLean): a Target renders them, whole or a
// namespace at a time.
func renderDelta(m *render.Memo, d *Desired) error {
	delta, err := m.RenderLean(render.TreeInput(d.Tree, d.Routed()))
	if err != nil {
		return fmt.Errorf("render: %w", d.Tree.Locate(err))
	}
	d.Objects, d.Same, d.delta = delta.Objects, delta.Same, delta
	delta.Objects = nil // Keep needs only the names
	return nil
}

// replan is the write-back's answer to losing the race for the branch:
// plan the branch's new head and write whatever its ledger lacks.
func (l *Loop) replan(_ context.Context, head git.Commit) (map[string][]byte, string, error) {
	l.Metrics.conflict(l.name())
	l.mu.Lock()
	l.st.Conflicts++
	l.mu.Unlock()
	tree, err := l.files.Load(head.Files)
	if err != nil {
		return nil, "", err
	}
	l.code.digest(head.Files, tree)
	ledgers, changes, err := tree.Plan(stamp(head), l.observed())
	if err != nil {
		return nil, "", err
	}
	changed, err := ChangedLedgers(tree.Ledgers, ledgers)
	if err != nil || len(changed) == 0 {
		return nil, "", err
	}
	files, err := ledgerFiles(changed)
	return files, CommitMessage(changes), err
}

// ledgerFiles are the write-back files of ledgers.
func ledgerFiles(ledgers []*serving.Ledger) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, l := range ledgers {
		b, err := serving.MarshalLedger(l)
		if err != nil {
			return nil, fmt.Errorf("ledger %s/%s: %w", l.Namespace, l.Service, err)
		}
		files[serving.LedgerPath(l.Namespace, l.Service)] = b
	}
	return files, nil
}

// stamp is where a commit sits in the repository's history.
func stamp(c git.Commit) serving.Stamp {
	s := serving.Stamp{Commit: c.Hash}
	s.Time.Time = c.Time.UTC()
	return s
}

// Status returns the source's state: what was fetched and applied, the
// last error, when the next sync is due, and the previews.
func (l *Loop) Status() SourceStatus {
	gs := l.Source.Status()
	l.mu.Lock()
	st := l.st
	l.mu.Unlock()
	st.Name, st.URL, st.Ref, st.ReadOnly, st.NextSync = l.name(), gs.URL, gs.Ref, l.ReadOnly, gs.NextPoll
	if l.Previews != nil {
		st.Previews = append(slices.Clone(st.Previews), l.Previews.Problems()...)
	}
	if st.LastError == "" && gs.LastError != "" {
		st.LastError, st.ErrorStage = gs.LastError, StageFetch
	}
	if l.Statuses != nil {
		st.Forge = l.Statuses.Status()
	}
	return st
}

// Applied returns what the last successful pass applied, nil before one,
// without its rendered Objects (render.Render of its Tree and Ledgers
// gives them).
func (l *Loop) Applied() *Desired {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applied
}

// Main returns the main branch's last applied state (without previews),
// nil before one, without its rendered Objects.
func (l *Loop) Main() *Desired {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.main
}

var _ LedgerWriter = (*Loop)(nil)

// WriteLedgers stores ledger changes made outside planning, such as a
// garbage collection over Main's ledgers: as one commit on top of the
// last applied commit (read-only: in memory). It never runs during a
// pass. The next Sync plans and applies the result. A commit that loses
// the race for the branch is re-planned on the new head like any other,
// which drops the outside change: it is made again next time.
func (l *Loop) WriteLedgers(ctx context.Context, changed, deleted []*serving.Ledger, message string) error {
	l.passMu.Lock()
	defer l.passMu.Unlock()
	l.mu.Lock()
	base, main := l.base, l.main
	l.mu.Unlock()
	if main == nil {
		return fmt.Errorf("write ledgers: nothing applied yet")
	}
	if l.ReadOnly {
		next := map[string]*serving.Ledger{}
		for _, led := range main.Ledgers {
			next[serving.LedgerPath(led.Namespace, led.Service)] = led
		}
		for _, led := range changed {
			next[serving.LedgerPath(led.Namespace, led.Service)] = led
		}
		for _, led := range deleted {
			delete(next, serving.LedgerPath(led.Namespace, led.Service))
		}
		var mem []*serving.Ledger
		for _, led := range next {
			mem = append(mem, led)
		}
		slices.SortFunc(mem, func(a, b *serving.Ledger) int {
			return strings.Compare(a.Namespace+"/"+a.Service, b.Namespace+"/"+b.Service)
		})
		l.mu.Lock()
		l.memory, l.retry = mem, true
		l.mu.Unlock()
		return nil
	}
	files, err := ledgerFiles(changed)
	if err != nil {
		return err
	}
	for _, led := range deleted {
		files[serving.LedgerPath(led.Namespace, led.Service)] = nil
	}
	_, wrote, err := l.Source.WriteBack(ctx, base, files, message, l.replan)
	if err != nil {
		return fmt.Errorf("write ledger: %w", err)
	}
	l.mu.Lock()
	if wrote {
		l.st.WriteBacks++
	}
	l.retry = true
	l.mu.Unlock()
	if wrote {
		l.Metrics.wrote(l.name())
	}
	return nil
}
