package engine

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

// Pipeline is the engine's one reconcile pass over a repository state:
// load → plan → incremental render → ledger write → Target.Apply. `ebb up
// DIR` drives it with Pass; a Loop (`ebb up URL`, the controller) drives
// the same stages between its fetch and its write-back. A state that does
// not load, validate or plan changes nothing: neither the ledger nor what
// runs.
//
// It renders each state relative to the last one its Target applied
// without an error (see render.Memo): a Desired's Objects are then those
// of the parts that changed, and Same names the others. It is not safe
// for concurrent use.
type Pipeline struct {
	Writer LedgerWriter
	Target Target
	Logger *slog.Logger
	// Limits bound what is read of each state (zero fields:
	// serving.DefaultLimits).
	Limits serving.Limits
	// Observe, when set, reports what the Target has seen of the
	// revisions, for planning (see Loop.Observe).
	Observe func() serving.Observed

	// Whole says the Target takes every object of a state at once (the
	// local runtime, through Desired.All): states are then never rendered
	// lean (see render.Memo.Whole), which would render them twice.
	Whole bool

	// Module is the Go module (or workspace) the ko:// images of the
	// Services are built in, when the files reconciled are not its root
	// (a serving directory inside a larger module); nil: the files.
	Module fs.FS

	files serving.Cache // decoded files of recent passes
	code  codeDigests   // the code of recent states' ko:// images
	// rendered renders states relative to the last one Target applied
	// without an error.
	rendered render.Memo
}

// Result is one reconcile pass.
type Result struct {
	// Desired is the state applied (its Objects may have been taken by the
	// Target; All renders them again).
	Desired *Desired
	// Changes are the ledger changes the pass planned and wrote.
	Changes []serving.Change
	// Message is the ledger commit message, "" when nothing changed.
	Message string
}

// Pass runs one pass over files, the repository at stamp at, planned at
// now (what Observe reports of the time wins; both zero: at's time).
func (p *Pipeline) Pass(ctx context.Context, files fs.FS, at serving.Stamp, now time.Time) (*Result, error) {
	d, changed, changes, err := p.plan(files, at, now, nil)
	if err != nil {
		return nil, err
	}
	if err := p.render(d); err != nil {
		return nil, err
	}
	res := &Result{Desired: d, Changes: changes}
	if len(changed) > 0 && p.Writer != nil {
		res.Message = CommitMessage(changes)
		if err := p.Writer.WriteLedgers(ctx, changed, nil, res.Message); err != nil {
			return nil, fmt.Errorf("write ledger: %w", err)
		}
	}
	if err := p.apply(ctx, d); err != nil {
		return res, fmt.Errorf("apply: %w", err)
	}
	return res, nil
}

// plan loads files and plans them at at and now, against memory instead
// of the ledgers the files hold when it is not nil. It returns the state,
// not rendered yet, and the ledgers that differ from those the files
// hold. A state that serves one host from two namespaces is invalid
// before its ledger is written.
func (p *Pipeline) plan(files fs.FS, at serving.Stamp, now time.Time, memory []*serving.Ledger) (*Desired, []*serving.Ledger, []serving.Change, error) {
	p.files.Limits = p.Limits
	tree, err := p.files.Load(files)
	if err != nil {
		return nil, nil, nil, err
	}
	module := p.Module
	if module == nil {
		module = files
	}
	p.code.digest(module, tree)
	if memory != nil {
		tree.Ledgers = memory
	}
	seen := p.observed(now)
	ledgers, changes, err := tree.Plan(at, seen)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := p.rendered.CheckHosts(render.TreeInput(tree, ledgers)); err != nil {
		return nil, nil, nil, fmt.Errorf("render: %w", tree.Locate(err))
	}
	changed, err := ChangedLedgers(tree.Ledgers, ledgers)
	if err != nil {
		return nil, nil, nil, err
	}
	return &Desired{Tree: tree, Ledgers: ledgers, At: at, Now: seen.Now, Programmed: seen.Programmed}, changed, changes, nil
}

// replan plans the files of a head that won the race for the branch, at
// now: the ledger files and the message of what its ledger lacks, none
// when it lacks nothing.
func (p *Pipeline) replan(files fs.FS, at serving.Stamp, now time.Time) (map[string][]byte, string, error) {
	p.files.Limits = p.Limits
	tree, err := p.files.Load(files)
	if err != nil {
		return nil, "", err
	}
	p.code.digest(files, tree)
	ledgers, changes, err := tree.Plan(at, p.observed(now))
	if err != nil {
		return nil, "", err
	}
	changed, err := ChangedLedgers(tree.Ledgers, ledgers)
	if err != nil || len(changed) == 0 {
		return nil, "", err
	}
	out, err := ledgerFiles(changed)
	return out, CommitMessage(changes), err
}

// observed is what the Target has seen, or nothing, at now unless the
// Target keeps its own time.
func (p *Pipeline) observed(now time.Time) serving.Observed {
	var o serving.Observed
	if p.Observe != nil {
		o = p.Observe()
	}
	if o.Now.IsZero() {
		o.Now = now
	}
	return o
}

// render sets d's objects relative to the state Target last applied: the
// engine's one call of the renderer (see renderDelta).
func (p *Pipeline) render(d *Desired) error {
	p.rendered.Whole = p.Whole
	return renderDelta(&p.rendered, d)
}

// apply applies d through Target (none: d counts as applied). What an
// applied state rendered is the base of the next render; after a failed
// apply, what the Target holds is not known object by object, and the
// next pass renders everything.
func (p *Pipeline) apply(ctx context.Context, d *Desired) error {
	if p.Target != nil {
		if err := p.Target.Apply(ctx, d); err != nil {
			p.rendered.Reset()
			return err
		}
	}
	p.rendered.Keep(d.delta)
	return nil
}

// renderDelta sets d's objects: those of the parts that changed since m's
// base, and the names of the others; or, when everything changed, none
// (see render.Memo.RenderLean): a Target renders them, whole or a
// namespace at a time (Desired.All, Desired.Parts).
func renderDelta(m *render.Memo, d *Desired) error {
	delta, err := m.RenderLean(d.input())
	if err != nil {
		return fmt.Errorf("render: %w", d.Tree.Locate(err))
	}
	d.Objects, d.Same, d.delta = delta.Objects, delta.Same, delta
	delta.Objects = nil // Keep needs only the names
	return nil
}
