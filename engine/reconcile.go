package engine

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

// Desired is what one state of the serving repository asks to run.
type Desired struct {
	// Tree is the repository as loaded: Services, config, objects.
	Tree *serving.Tree
	// Ledgers are the planned ledgers, one per Service (removed ones
	// included).
	Ledgers []*serving.Ledger
	// Objects are the rendered objects, sorted: all of them, or, when Same
	// is not empty, those of the parts of the state (a Service with its
	// ledger, a DomainMapping, the other objects) whose inputs changed
	// since the state the Target last applied. Nil with Same empty when
	// the state was checked without keeping its objects (a large state
	// rendered whole): All and Parts render them. A Target may take them
	// (set Objects to nil) to let them go as it applies them; All renders
	// them again.
	Objects []*unstructured.Unstructured
	// Same names the objects of every other part: they render exactly as
	// they did in the state the Target last applied. A Loop renders only
	// what changed (see render.Memo); a Target that needs every object
	// calls All.
	Same []render.Ref
	// At is the state's stamp: its commit and time.
	At serving.Stamp
	// Now is when the state was planned: the ledgers route as they do
	// then (a gradual rollout's split at Now; see serving.RoutedAt). Zero
	// is At's time.
	Now time.Time
	// Refused are the uses of hosts that another namespace owns, found
	// against the cluster's host claims when the state was applied: their
	// routes are not served for those hosts. (Within one state, two
	// namespaces never serve one host: the render refuses it.)
	Refused []render.HostRefusal
	// Programmed are the edges' reports the state was planned with: a
	// gradual rollout is routed no further than its edge has programmed
	// (see serving.Programmed), and a route's placeholder Services follow
	// the load balancer its edge reports (see render.Input.Programmed).
	Programmed serving.Programmed

	delta *render.Delta // the render relative to the last applied state
}

// Parts renders d's objects a namespace at a time and calls f with each
// part, in order: first the repository's other objects (namespaces,
// definitions, configuration), then each namespace's Services, ledgers
// and DomainMappings (what one namespace renders depends on nothing in
// another). Together the parts are what All returns, without ever being
// held at once; f may keep or drop each.
func (d *Desired) Parts(f func([]*unstructured.Unstructured) error) error {
	in := d.input()
	parts := map[string]*render.Input{}
	part := func(ns string) *render.Input {
		if parts[ns] == nil {
			parts[ns] = &render.Input{Config: in.Config, Programmed: in.Programmed}
		}
		return parts[ns]
	}
	for _, s := range in.Services {
		p := part(s.Namespace)
		p.Services = append(p.Services, s)
	}
	for _, l := range in.Ledgers {
		p := part(l.Namespace)
		p.Ledgers = append(p.Ledgers, l)
	}
	for _, dm := range in.DomainMappings {
		p := part(dm.Namespace)
		p.DomainMappings = append(p.DomainMappings, dm)
	}
	inputs := []render.Input{{Config: in.Config, Objects: in.Objects}}
	for _, ns := range slices.Sorted(maps.Keys(parts)) {
		inputs = append(inputs, *parts[ns])
	}
	for _, part := range inputs {
		objs, err := renderWhole(part)
		if err != nil {
			return err
		}
		if err := f(objs); err != nil {
			return err
		}
	}
	return nil
}

// All returns every object of d: Objects when they are all of them (Same
// is empty) and still there, else a render of the whole state.
func (d *Desired) All() ([]*unstructured.Unstructured, error) {
	if len(d.Same) == 0 && d.Objects != nil {
		return d.Objects, nil
	}
	return renderWhole(d.input())
}

// input is what d renders: its tree with its ledgers as they route at
// d.Now, and the load balancers its edges reported (which the
// placeholder Services follow).
func (d *Desired) input() render.Input {
	in := render.TreeInput(d.Tree, d.Routed())
	in.Programmed = d.Programmed
	return in
}

// renderWhole renders in whole: the objects of a state for a Target that
// needs those a pass named the same (All, Parts). A pass itself renders
// through Pipeline.render.
func renderWhole(in render.Input) ([]*unstructured.Unstructured, error) {
	objs, err := render.Render(in)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return objs, nil
}

// Routed returns d's ledgers as they route at d.Now: what is rendered.
func (d *Desired) Routed() []*serving.Ledger {
	now := d.Now
	if now.IsZero() {
		now = d.At.Time.Time
	}
	return d.Programmed.RoutedAt(d.Ledgers, now)
}

// GradualDue reports whether a gradual rollout of d has a step (or its
// end) due at now that d, planned at d.Now, does not route yet: a pass is
// due even if nothing else changed.
func (d *Desired) GradualDue(now time.Time) bool {
	if d == nil || d.Now.IsZero() {
		return false
	}
	w := d.Programmed.GradualWake(d.Ledgers, d.Now)
	return !w.IsZero() && !now.Before(w)
}

// ReadyPending reports whether planning d again with seen would record a
// revision as ready (the latest revision of one of its Services has
// become ready since its ledger was planned), route a gradual rollout
// further (its edge has programmed the share it was held at), or point
// placeholder Services elsewhere (an edge reports another load
// balancer). A runtime that sees a revision become ready, or an edge
// report, asks this to know whether a pass is due.
func (d *Desired) ReadyPending(seen serving.Observed) bool {
	return d != nil && ((seen.Ready != nil && slices.ContainsFunc(d.Ledgers, seen.Pending)) ||
		seen.Released(d.Ledgers, d.Programmed, d.Now) || seen.Programmed.Rebalanced(d.Programmed))
}

// Target runs what a repository state renders: the local runtime under
// `ebb up`, the cluster under `ebb controller`.
type Target interface {
	Apply(ctx context.Context, d *Desired) error
}

// LedgerWriter stores changed ledgers: as files in a directory, as a
// commit in a work tree, or as a commit pushed to a remote.
type LedgerWriter interface {
	// WriteLedgers stores the changed ledgers and removes the deleted
	// ones, described by message.
	WriteLedgers(ctx context.Context, changed, deleted []*serving.Ledger, message string) error
}

// ChangedLedgers returns the ledgers of next whose file bytes differ from
// those of prev. Ledgers equal as values (most of them, on a pass after a
// push) are not encoded: equal values encode to the same bytes.
func ChangedLedgers(prev, next []*serving.Ledger) ([]*serving.Ledger, error) {
	old := make(map[string]*serving.Ledger, len(prev))
	for _, l := range prev {
		old[serving.LedgerPath(l.Namespace, l.Service)] = l
	}
	var out []*serving.Ledger
	for _, l := range next {
		o := old[serving.LedgerPath(l.Namespace, l.Service)]
		if o == l || (o != nil && reflect.DeepEqual(o, l)) {
			continue
		}
		b, err := serving.MarshalLedger(l)
		if err != nil {
			return nil, err
		}
		var ob []byte
		if o != nil {
			if ob, err = serving.MarshalLedger(o); err != nil {
				return nil, err
			}
		}
		if o == nil || !bytes.Equal(ob, b) {
			out = append(out, l)
		}
	}
	return out, nil
}

// rolloutChange reports whether c is a rollout's: an analysed canary's,
// or a gradual rollout's start, change or end.
func rolloutChange(c serving.Change) bool {
	return c.Kind == serving.ChangeCanary || c.Kind == serving.ChangePromote || c.Kind == serving.ChangeRolledBack || c.Kind == serving.ChangeGradual
}

// CommitMessage describes ledger changes as a commit message: a subject
// line "ebb: …" naming the first change, or a rollout's latest step with
// its Service (and how many more), then every change on its own line.
func CommitMessage(changes []serving.Change) string {
	if len(changes) == 0 {
		return "ebb: ledger"
	}
	var b strings.Builder
	b.WriteString("ebb: ")
	i := len(changes) - 1
	for i >= 0 && !rolloutChange(changes[i]) {
		i--
	}
	if i >= 0 {
		// A rollout's step, promotion or rollback is the commit's news,
		// with its Service named: "default/hello: canary hello-00002 …".
		b.WriteString(changes[i].String())
	} else {
		b.WriteString(changes[0].Message)
	}
	if len(changes) > 1 {
		fmt.Fprintf(&b, " (and %d more)", len(changes)-1)
	}
	b.WriteString("\n\n")
	for _, c := range changes {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}
