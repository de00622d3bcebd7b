package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/serving"
)

// maxFollow bounds how many ledger commits one pass writes before it
// applies: planning a ledger commit normally changes nothing more.
const maxFollow = 3

// follow plans commit c at now, writes its ledger changes back, and
// returns the state to apply: that of the last ledger commit written, or
// of c.
func (l *Loop) follow(ctx context.Context, c git.Commit, now time.Time, took *Timing) (*Desired, git.Commit, Pass) {
	var p Pass
	replan := func(_ context.Context, head git.Commit) (map[string][]byte, string, error) {
		return l.replan(head, now)
	}
	for range maxFollow {
		d, changed, changes, err := l.plan(c, now, took)
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
		files, err := ledgerFiles(changed)
		if err != nil {
			return nil, c, Pass{Changes: p.Changes, Err: err, Stage: StageWriteBack}
		}
		done := lap(&took.WriteBack)
		next, wrote, err := l.Source.WriteBack(ctx, c, files, CommitMessage(changes), replan)
		done()
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

// plan is the pipeline's plan of commit c at now; read-only, against the
// ledgers kept in memory.
func (l *Loop) plan(c git.Commit, now time.Time, took *Timing) (*Desired, []*serving.Ledger, []serving.Change, error) {
	defer lap(&took.Plan)()
	var memory []*serving.Ledger
	if l.ReadOnly {
		l.mu.Lock()
		memory = l.memory
		l.mu.Unlock()
	}
	return l.pipe.plan(c.Files, stamp(c), now, memory)
}

// render is the pipeline's render of d, timed as the pass's render.
func (l *Loop) render(d *Desired, took *Timing) error {
	defer lap(&took.Render)()
	return l.pipe.render(d)
}

// replan is the write-back's answer to losing the race for the branch:
// plan the branch's new head at now and write whatever its ledger lacks.
func (l *Loop) replan(head git.Commit, now time.Time) (map[string][]byte, string, error) {
	l.Metrics.conflict(l.name())
	l.mu.Lock()
	l.st.Conflicts++
	l.mu.Unlock()
	return l.pipe.replan(head.Files, stamp(head), now)
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

var _ LedgerWriter = (*Loop)(nil)

// WriteLedgers stores ledger changes made outside planning, such as a
// garbage collection over Main's ledgers: as one commit on top of the
// last applied commit (read-only: in memory). It never runs during a
// pass. The next Sync plans and applies the result. A commit that loses
// the race for the branch is re-planned on the new head like any other,
// which drops the outside change: it is made again next time.
func (l *Loop) WriteLedgers(ctx context.Context, changed, deleted []*serving.Ledger, message string) error {
	now := time.Now() // an edge: a write from outside the passes
	l.passMu.Lock()
	defer l.passMu.Unlock()
	l.mu.Lock()
	base, main := l.base, l.main
	l.mu.Unlock()
	if main == nil {
		return fmt.Errorf("write ledgers: nothing applied yet")
	}
	if l.ReadOnly {
		l.remember(main.Ledgers, changed, deleted)
		return nil
	}
	files, err := ledgerFiles(changed)
	if err != nil {
		return err
	}
	for _, led := range deleted {
		files[serving.LedgerPath(led.Namespace, led.Service)] = nil
	}
	replan := func(_ context.Context, head git.Commit) (map[string][]byte, string, error) {
		return l.replan(head, now)
	}
	_, wrote, err := l.Source.WriteBack(ctx, base, files, message, replan)
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

// remember keeps, read-only, ledgers with changed and deleted applied as
// the ledgers the next pass plans against.
func (l *Loop) remember(ledgers, changed, deleted []*serving.Ledger) {
	next := map[string]*serving.Ledger{}
	for _, led := range ledgers {
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
}
