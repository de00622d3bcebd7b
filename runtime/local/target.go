package local

import (
	"context"
	"sync"
	"time"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving"
)

// Target is the local runtime as the engine's Target: a state's rendered
// objects go to Runtime, its revisions and their reachability to Scaler.
// It keeps what the Runtime asks of the state being applied (Reachable,
// Source, Code, Locate: give them to NewRuntime's Options) and the state
// applied last, which Status and DomainMappings describe.
type Target struct {
	Runtime *Runtime
	Scaler  *scaler.Autoscaler
	// Prepare, if set, runs first on every state: it puts the state's
	// files where the runtime builds and runs from, and returns the
	// revisions that build and run from a directory of their own (a
	// preview's checkout). An error applies nothing.
	Prepare func(d *engine.Desired) (map[scaler.RevisionKey]string, error)
	// Failed, if set, is told of the revisions that cannot run here: the
	// others run all the same.
	Failed func(error)

	mu        sync.Mutex
	applied   *engine.Desired
	reachable map[scaler.RevisionKey]bool
	known     map[scaler.RevisionKey]bool // the revisions Scaler scales
	applying  *serving.Tree               // locates the runtime's errors
	sources   map[scaler.RevisionKey]string
	code      map[scaler.RevisionKey]map[string]string
}

var _ engine.Target = (*Target)(nil)

// Apply implements engine.Target.
func (t *Target) Apply(_ context.Context, d *engine.Desired) error {
	var sources map[scaler.RevisionKey]string
	if t.Prepare != nil {
		var err error
		if sources, err = t.Prepare(d); err != nil {
			return err
		}
	}
	revs := engine.AutoscaledRevisions(d)
	reachable := map[scaler.RevisionKey]bool{}
	for _, r := range revs {
		reachable[r.Key] = r.Reachable
	}
	t.mu.Lock()
	t.reachable, t.applying, t.code, t.sources = reachable, d.Tree, engine.RevisionCode(d), sources
	t.mu.Unlock()
	t.Scaler.SetConfig(d.Tree.Config.Autoscaler)

	objs, err := d.All()
	if err != nil {
		return err
	}
	if err := t.Runtime.Apply(objs); err != nil && t.Failed != nil {
		t.Failed(err)
	}
	known := map[scaler.RevisionKey]bool{}
	for _, r := range revs {
		if _, _, _, err, ok := t.Runtime.Health(r.Key); ok && err == nil {
			t.Scaler.Upsert(r)
			known[r.Key] = true
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for key := range t.known {
		if !known[key] {
			t.Scaler.Remove(key)
		}
	}
	t.known, t.applied = known, d
	return nil
}

// Applied is the state applied last (nil before the first).
func (t *Target) Applied() *engine.Desired {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.applied
}

// Reachable tells the runtime whether a route reaches a revision, in the
// state being applied (Options.Reachable).
func (t *Target) Reachable(key scaler.RevisionKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reachable[key]
}

// Source is the directory a revision builds and runs from, "" for the
// runtime's own (Options.Source).
func (t *Target) Source(key scaler.RevisionKey) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sources[key]
}

// Code is the code digests of a revision's ko:// images, as its ledger
// records them (Options.Code).
func (t *Target) Code(key scaler.RevisionKey) map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.code[key]
}

// Locate names the file and line of an error about a revision's
// template, in the tree being applied (Options.Locate).
func (t *Target) Locate(err error) error {
	t.mu.Lock()
	tree := t.applying
	t.mu.Unlock()
	if tree == nil {
		return err
	}
	return tree.Locate(err)
}

// Observed is what the runtime has seen of the revisions at now: which
// became ready, and their figures since since.
func (t *Target) Observed(since, now time.Time) serving.Observed {
	return serving.Observed{
		Ready: func(namespace, revision string) bool {
			_, _, everReady, _, ok := t.Runtime.Health(scaler.RevisionKey{Namespace: namespace, Name: revision})
			return ok && everReady
		},
		Now: now, Since: since,
		Figures: func(namespace, revision string, from, to time.Time) metric.Figures {
			return t.Scaler.Figures(scaler.RevisionKey{Namespace: namespace, Name: revision}, from, to)
		},
	}
}

// Status describes d (the state applied last, see Applied) with each
// revision's health at now (see Health): what `ebb get services` reads.
func (t *Target) Status(d *engine.Desired, now time.Time) []engine.ServiceStatus {
	return engine.Status(d, func(ns, rev string) (engine.RevisionHealth, bool) { return t.Health(ns, rev, now) })
}
