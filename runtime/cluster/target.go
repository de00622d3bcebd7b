package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// Applier is the apply step the Target needs (apply.SSA).
type Applier interface {
	// Begin starts a pass at now whose objects come in parts.
	Begin(ctx context.Context, source string, now time.Time) (*apply.Pass, error)
	// BeginChanged starts a pass at now that applies the changed objects
	// and keeps the same ones as they are, or returns apply.ErrFullPass
	// having written nothing.
	BeginChanged(ctx context.Context, source string, same []apply.Entry, now time.Time) (*apply.Pass, error)
}

// Autoscaler is what the Target tells the autoscaler (scaler.Autoscaler).
type Autoscaler interface {
	Upsert(rev scaler.Revision)
	Remove(key scaler.RevisionKey)
	SetConfig(cfg *autoscaling.Config)
}

// Target is the cluster's engine.Target: it applies a repository state's
// objects under one source's inventory, registers its revisions with the
// autoscaler, and reports what changed (Events, metrics, the status
// ConfigMap).
type Target struct {
	Applier Applier
	// Source names the inventory (a DNS label).
	Source string
	// Autoscaler, when set, is told the revisions and the configuration.
	Autoscaler Autoscaler
	// Forget, when set, is called with revisions that went away (the
	// Runtime's Forget).
	Forget func(scaler.RevisionKey)
	// Claims, when set, records which namespace owns each host the
	// state's routes serve: claims are created before the apply (so that
	// the gateway serves a new host as soon as its route table appears),
	// and the source's claims that the state no longer uses are released
	// after an apply without errors (once the routes that used them are
	// pruned). Uses of hosts another namespace owns are reported in the
	// status and as Events.
	Claims *Claims
	// Events, Metrics and Status are optional.
	Events  *Events
	Metrics *Metrics
	Status  *Status
	Logger  *slog.Logger

	mu    gosync.Mutex
	known map[scaler.RevisionKey]bool
	last  apply.ChangeSet
	// registered are the ledgers whose revisions the autoscaler was told,
	// under registeredCfg.
	registered    map[ledgerKey]registration
	registeredCfg *config.Config

	reports reporter
	// refused are the refusals last reported, so that each is recorded
	// as an Event once.
	refused map[render.HostRefusal]bool
}

// reporter runs a Target's reports (Events, the status ConfigMap) one
// after another, in the order they were made, off the apply's path: a
// pass is done when its objects are applied, and the next push need not
// wait for the last one's Events and status to be written. Each report
// runs under the term it was made in (see Target.Term).
type reporter struct {
	mu      gosync.Mutex
	term    context.Context // of the reports made from now on; nil: none
	queue   []report
	running bool
	idle    chan struct{} // closed when the queue runs dry; nil while idle
}

// report is one queued report and the term it belongs to.
type report struct {
	term context.Context
	f    func(ctx context.Context)
}

func (r *reporter) do(f func(ctx context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	term := r.term
	if term == nil {
		term = context.Background()
	}
	r.queue = append(r.queue, report{term: term, f: f})
	if r.running {
		return
	}
	r.running, r.idle = true, make(chan struct{})
	go r.run()
}

func (r *reporter) run() {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.running = false
			close(r.idle)
			r.idle = nil
			r.mu.Unlock()
			return
		}
		next := r.queue[0]
		r.queue = r.queue[1:]
		r.mu.Unlock()
		if next.term.Err() != nil {
			continue // its term is over: it writes nothing
		}
		ctx, cancel := context.WithTimeout(next.term, reportTimeout)
		next.f(ctx)
		cancel()
	}
}

// wait returns when every report made so far has been written (or
// dropped with its term), or ctx ends.
func (r *reporter) wait(ctx context.Context) error {
	r.mu.Lock()
	idle := r.idle
	r.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reportTimeout bounds one report's writes: a report outlives the pass
// (and its context) that made it, though not its term.
const reportTimeout = 30 * time.Second

// Term makes ctx the term of the reports made from now on (by Apply and
// Report): a report whose term has ended when its turn comes writes
// nothing, and one being written is cancelled. A controller gives each
// term of its lead, so that once a term has ended and Flush has returned,
// nothing of it writes to the cluster. Without a term, a report is
// bounded by reportTimeout alone.
func (t *Target) Term(ctx context.Context) {
	t.reports.mu.Lock()
	defer t.reports.mu.Unlock()
	t.reports.term = ctx
}

// Report queues f after the reports of every Apply so far, to run in the
// background under the current term (see Term), bounded by reportTimeout.
func (t *Target) Report(f func(ctx context.Context)) { t.reports.do(f) }

// Flush waits until the Events and status of every Apply so far are
// written (they are written in the background) or dropped with their
// term, or ctx ends.
func (t *Target) Flush(ctx context.Context) error { return t.reports.wait(ctx) }

var _ engine.Target = (*Target)(nil)

// Apply applies d and registers its revisions. It returns the apply's
// error (per-object failures joined) after every other step has run: the
// revisions that did apply are scaled even when one object failed. The
// status and Events are written in the background, in order (see Flush).
//
// Apply is the cluster runtime's tick edge: it reads the time once, for
// the pass (see apply.Options.FullEvery), and again at the end for the
// duration it reports.
func (t *Target) Apply(ctx context.Context, d *engine.Desired) error {
	start := time.Now()
	if t.Status != nil {
		t.Report(func(ctx context.Context) { t.Status.Begin(ctx, d.At) })
	}
	var uses []render.HostUse
	var refused []render.HostRefusal
	var claimErr error
	if t.Claims != nil && d.Tree != nil {
		uses = render.HostUses(render.TreeInput(d.Tree, d.Ledgers))
		refused, claimErr = t.Claims.Sync(ctx, uses, false)
	}
	versions, cs, err := t.apply(ctx, d, start)
	if t.Claims != nil && d.Tree != nil && err == nil && claimErr == nil && t.Claims.Releasable(uses) {
		refused, claimErr = t.Claims.Sync(ctx, uses, true)
	}
	if claimErr != nil {
		err = errors.Join(err, fmt.Errorf("host claims: %w", claimErr))
	}
	t.mu.Lock()
	t.last = cs
	fresh := t.newRefusals(refused)
	t.mu.Unlock()
	for _, r := range fresh {
		if t.Logger != nil {
			t.Logger.Warn("host refused", "host", r.Host, "object", r.Kind+" "+r.Namespace+"/"+r.Name, "owner", r.Owner)
		}
	}
	if t.Metrics != nil {
		t.Metrics.Applied(cs, err, time.Since(start))
	}
	if t.Events != nil {
		t.Report(func(ctx context.Context) {
			t.Events.Record(ctx, d.At, cs, versions)
			t.Events.Refused(ctx, d.At, fresh)
		})
	}
	if t.Logger != nil {
		t.Logger.Info("applied", "commit", d.At.Commit, "took", time.Since(start).Round(time.Millisecond), "created", cs.Count(apply.Created),
			"configured", cs.Count(apply.Configured), "unchanged", cs.Count(apply.Unchanged),
			"pruned", cs.Count(apply.Pruned), "failed", cs.Count(apply.Failed))
	}
	t.register(d)
	if t.Status != nil {
		// The status reads the Services and ledgers, not the objects.
		slim := &engine.Desired{Tree: d.Tree, Ledgers: d.Ledgers, At: d.At, Refused: refused}
		t.Report(func(ctx context.Context) { t.Status.Applied(ctx, slim, err) })
	}
	if err != nil {
		return fmt.Errorf("source %s at %s: %w", t.Source, d.At.Commit, err)
	}
	return nil
}

// apply applies d's objects: only those that changed when d names the
// others (Desired.Same) and the Applier remembers them, else every one. It
// takes the objects from d, so that each can be collected once applied,
// and returns the API version of each object it applied. Failures name
// where in the repository the object came from (Locator). now is the
// pass's time.
func (t *Target) apply(ctx context.Context, d *engine.Desired, now time.Time) (map[apply.Ref]string, apply.ChangeSet, error) {
	if len(d.Same) > 0 {
		changed := d.Objects
		d.Objects = nil
		versions := versionsOf(changed)
		p, err := t.begin(ctx, d, sameEntries(d.Same), now)
		if !errors.Is(err, apply.ErrFullPass) {
			cs, err := applyPart(ctx, p, err, changed)
			return versions, cs, err
		}
	}
	if len(d.Same) == 0 && d.Objects != nil {
		// Every object is rendered already (a first pass).
		objs := d.Objects
		d.Objects = nil
		versions := versionsOf(objs)
		p, err := t.begin(ctx, d, nil, now)
		cs, err := applyPart(ctx, p, err, objs)
		return versions, cs, err
	}
	// A full pass: rendered and applied a namespace at a time, so that
	// the whole state's objects are never held at once.
	d.Objects = nil
	p, err := t.begin(ctx, d, nil, now)
	if err != nil {
		return nil, apply.ChangeSet{}, err
	}
	versions := map[apply.Ref]string{}
	err = d.Parts(func(objs []*unstructured.Unstructured) error {
		maps.Copy(versions, versionsOf(objs))
		p.Add(ctx, objs)
		return nil
	})
	if err != nil {
		// The pass does not end: nothing is pruned for not being rendered.
		return versions, apply.ChangeSet{}, err
	}
	cs, err := p.End(ctx)
	return versions, cs, err
}

// begin starts the Applier's pass for d: one that keeps the same objects
// when same is not nil (BeginChanged), else one that is given every
// object. Its failures say where in d's repository an object came from.
func (t *Target) begin(ctx context.Context, d *engine.Desired, same []apply.Entry, now time.Time) (*apply.Pass, error) {
	var p *apply.Pass
	var err error
	if same != nil {
		p, err = t.Applier.BeginChanged(ctx, t.Source, same, now)
	} else {
		p, err = t.Applier.Begin(ctx, t.Source, now)
	}
	if err != nil {
		return nil, err
	}
	p.Locate = Locator(d.Tree)
	return p, nil
}

// applyPart ends a pass of one part, objs, unless it could not begin.
func applyPart(ctx context.Context, p *apply.Pass, err error, objs []*unstructured.Unstructured) (apply.ChangeSet, error) {
	if err != nil {
		return apply.ChangeSet{}, err
	}
	p.Add(ctx, objs)
	return p.End(ctx)
}

// versionsOf returns the API version of each object.
func versionsOf(objs []*unstructured.Unstructured) map[apply.Ref]string {
	out := make(map[apply.Ref]string, len(objs))
	for _, o := range objs {
		out[apply.RefOf(o)] = o.GetAPIVersion()
	}
	return out
}

// sameEntries names rendered objects as the apply step does.
func sameEntries(refs []render.Ref) []apply.Entry {
	out := make([]apply.Entry, len(refs))
	for i, r := range refs {
		gv, _ := schema.ParseGroupVersion(r.APIVersion)
		out[i] = apply.Entry{Ref: apply.Ref{Group: gv.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}, Version: gv.Version}
	}
	return out
}

// newRefusals returns the refusals not reported by the last Apply, and
// remembers these. t.mu is held.
func (t *Target) newRefusals(refused []render.HostRefusal) []render.HostRefusal {
	var fresh []render.HostRefusal
	next := make(map[render.HostRefusal]bool, len(refused))
	for _, r := range refused {
		r.By = nil // the key is the use and its owner
		next[r] = true
		if !t.refused[r] {
			fresh = append(fresh, r)
		}
	}
	t.refused = next
	return fresh
}

// LastChangeSet returns what the last Apply did.
func (t *Target) LastChangeSet() apply.ChangeSet {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// register tells the autoscaler every revision d runs, and forgets the
// ones it no longer does.
func (t *Target) register(d *engine.Desired) {
	if t.Autoscaler == nil {
		return
	}
	var cfg *config.Config
	if d.Tree != nil {
		cfg = d.Tree.Config
	}
	if cfg != nil {
		t.Autoscaler.SetConfig(cfg.Autoscaler)
	}
	// A ledger registered before, the same pointer under the same
	// configuration, has the same revisions: they are not told again.
	same := cfg == t.registeredCfg || reflect.DeepEqual(cfg, t.registeredCfg)
	registered := make(map[ledgerKey]registration, len(d.Ledgers))
	known := map[scaler.RevisionKey]bool{}
	for _, l := range d.Ledgers {
		k := ledgerKey{l.Namespace, l.Service}
		r, ok := t.registered[k]
		if !ok || !same || r.ledger != l {
			r = registration{ledger: l}
			for _, rev := range engine.LedgerRevisions(d, l) {
				t.Autoscaler.Upsert(rev)
				r.revisions = append(r.revisions, rev.Key)
			}
		}
		registered[k] = r
		for _, rk := range r.revisions {
			known[rk] = true
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.known {
		if !known[k] {
			t.Autoscaler.Remove(k)
			if t.Forget != nil {
				t.Forget(k)
			}
		}
	}
	t.known, t.registered, t.registeredCfg = known, registered, cfg
}

// ledgerKey is a ledger's namespace and Service.
type ledgerKey struct{ namespace, service string }

// registration is a ledger as the autoscaler was told its revisions.
type registration struct {
	ledger    *serving.Ledger
	revisions []scaler.RevisionKey
}
