package engine

import (
	"log/slog"
	"slices"
	"time"

	"github.com/ebb-dev/ebb/serving"
)

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

// lap starts timing a stage of a pass: calling what it returns adds the
// time since to d. Timings are measured for logs and metrics, never
// decided on.
func lap(d *time.Duration) func() {
	t0 := time.Now()
	return func() { *d += time.Since(t0) }
}
