package scaler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// Scaler reads and sets a revision's size; the local runtime and the
// Kubernetes controller implement it.
type Scaler interface {
	// ReadyPods returns the number of ready pods and the current replica
	// count (-1 when unknown). A revision without pods is (0, 0, nil).
	ReadyPods(ctx context.Context, rev RevisionKey) (ready int, replicas int32, err error)
	// SetScale sets the revision's replica count.
	SetScale(ctx context.Context, rev RevisionKey, n int32) error
}

// ModeSetter puts the activator in or out of a revision's path.
type ModeSetter interface {
	// SetMode switches the revision to Proxy (through activators, as many
	// as given) or Serve (straight to its pods).
	SetMode(ctx context.Context, rev RevisionKey, mode route.Mode, activators int32) error
}

// Revision is what the caller tells the autoscaler about a revision.
type Revision struct {
	Key RevisionKey
	// Annotations are the revision template's annotations.
	Annotations map[string]string
	// ContainerConcurrency is the revision's hard limit (0 = none).
	ContainerConcurrency int64
	// Reachable is false when no route sends it traffic (routing state
	// "reserve").
	Reachable bool
}

// Options configure an Autoscaler.
type Options struct {
	// Config is the autoscaler configuration; nil uses the defaults.
	Config *autoscaling.Config
	// ProgressDeadline is the cluster's default progress deadline; 0 uses
	// autoscaling.DefaultProgressDeadline.
	ProgressDeadline time.Duration
	// Scaler and Modes act on revisions; both are required.
	Scaler Scaler
	Modes  ModeSetter
	// Pods lists pods to scrape; nil scrapes nothing (activator stats only).
	Pods PodLister
	// Scraper samples pods; nil uses a default Scraper.
	Scraper *Scraper
	// Registry receives the per-revision metrics; nil keeps them private.
	Registry prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
}

// Autoscaler runs the KPA for many revisions: a tick every 2 s per
// revision (and at once when load arrives for a revision at zero), scrapes
// every second, and pushed activator stats.
type Autoscaler struct {
	opts    Options
	log     *slog.Logger
	metrics *revisionMetrics

	mu        sync.Mutex
	cfg       *autoscaling.Config
	revisions map[RevisionKey]*revision
	ctx       context.Context // set while running
}

// New returns an Autoscaler; Run drives it.
func New(opts Options) (*Autoscaler, error) {
	if opts.Scaler == nil || opts.Modes == nil {
		return nil, fmt.Errorf("autoscaler: Scaler and Modes are required")
	}
	m, err := newRevisionMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	a := &Autoscaler{
		opts:      opts,
		log:       opts.Logger,
		metrics:   m,
		cfg:       opts.Config,
		revisions: map[RevisionKey]*revision{},
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.cfg == nil {
		a.cfg = autoscaling.DefaultConfig()
	}
	if a.opts.Scraper == nil {
		a.opts.Scraper = &Scraper{}
	}
	return a, nil
}

// The autoscaler reads the time where events enter it: a revision's timer
// firing (see revision.every), a call of Upsert, SetConfig or Record, and
// a scrape's answer arriving. Everything below those takes now as an
// argument; tests drive real time inside a testing/synctest bubble.

// Run starts the per-revision loops and blocks until ctx ends, then stops
// them all. Run may be called again once it has returned (a controller
// that leads again): the revisions it was told stay, each starting afresh
// (windows, panic mode, activity, the mode last set), as in a new
// process, so that nothing is decided from figures of the run before.
func (a *Autoscaler) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.ctx != nil {
		a.mu.Unlock()
		return fmt.Errorf("autoscaler: already running")
	}
	a.ctx = ctx
	now := time.Now()
	for k, r := range a.revisions {
		if r.ran() {
			r = r.fresh(now)
			a.revisions[k] = r
		}
		r.start(ctx, a)
	}
	a.mu.Unlock()

	<-ctx.Done()

	a.mu.Lock()
	a.ctx = nil
	revs := make([]*revision, 0, len(a.revisions))
	for _, r := range a.revisions {
		revs = append(revs, r)
	}
	a.mu.Unlock()
	for _, r := range revs {
		r.stop()
	}
	return nil
}

// Upsert adds a revision or updates its spec and reachability. Its state
// (panic mode, windows, activity) carries over an update.
func (a *Autoscaler) Upsert(rev Revision) {
	a.mu.Lock()
	defer a.mu.Unlock()
	specs := a.specsFor(rev)
	if r, ok := a.revisions[rev.Key]; ok {
		r.update(rev, specs, time.Now())
		return
	}
	r := newRevision(rev, specs, time.Now())
	a.revisions[rev.Key] = r
	if a.ctx != nil {
		r.start(a.ctx, a)
	}
}

// Prompt runs a revision's first tick at once, if it has had none and
// the Autoscaler runs: the runtime calls it when the revision's first pod
// is ready, so that its mode is set (and its public Service's endpoints
// written, which its readiness waits for) without waiting for the tick.
func (a *Autoscaler) Prompt(key RevisionKey) {
	a.mu.Lock()
	r, ok := a.revisions[key]
	running := a.ctx != nil
	a.mu.Unlock()
	if !ok || !running {
		return
	}
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	if !started {
		r.poke()
	}
}

// Remove stops and forgets a revision.
func (a *Autoscaler) Remove(key RevisionKey) {
	a.mu.Lock()
	r, ok := a.revisions[key]
	delete(a.revisions, key)
	a.mu.Unlock()
	if ok {
		r.stop()
		a.metrics.forget(key)
	}
}

// SetConfig puts a new configuration in force for every revision.
func (a *Autoscaler) SetConfig(cfg *autoscaling.Config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg = cfg
	now := time.Now()
	for _, r := range a.revisions {
		r.mu.Lock()
		rev := r.rev
		r.mu.Unlock()
		r.update(rev, a.specsFor(rev), now)
	}
}

// specs are everything derived from a revision and the configuration.
type specs struct {
	decider autoscaling.DeciderSpec
	scale   ScaleSpec
	windows WindowSpec
	// scraped is false with target-burst-capacity -1: the activator sees
	// every request, so pods are not scraped.
	scraped bool
}

func (a *Autoscaler) specsFor(rev Revision) specs {
	d := autoscaling.NewDeciderSpec(a.cfg, rev.Annotations, rev.ContainerConcurrency, rev.Reachable)
	return specs{
		decider: d,
		scale:   NewScaleSpec(a.cfg, rev.Annotations, rev.ContainerConcurrency, rev.Reachable, a.opts.ProgressDeadline),
		windows: NewWindowSpec(a.cfg, rev.Annotations),
		scraped: d.TargetBurstCapacity != -1 && a.opts.Pods != nil,
	}
}

// Record takes stats pushed by activators (or anything else that sees
// requests). A zero Timestamp means now. Stats for unknown revisions are
// dropped. A stat with load for a revision whose last decision was 0 runs
// its tick at once.
func (a *Autoscaler) Record(msgs []metric.Message) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range msgs {
		r, ok := a.revisions[RevisionKey{Namespace: m.Namespace, Name: m.Revision}]
		if !ok {
			continue
		}
		at := now
		if m.Stat.Timestamp != 0 {
			at = time.Unix(m.Stat.Timestamp, 0)
		}
		r.series.Record(at, m.Stat)
		r.answers.record(m.Stat, 1, now)
		r.maybePoke(m.Stat, func() int32 { return a.replicas(context.Background(), r.key) })
	}
}

// replicas is a revision's current replica count, -1 when unknown.
func (a *Autoscaler) replicas(ctx context.Context, key RevisionKey) int32 {
	_, n, err := a.opts.Scaler.ReadyPods(ctx, key)
	if err != nil {
		return -1
	}
	return n
}

// RevisionStatus is a snapshot of one revision's autoscaling state.
type RevisionStatus struct {
	// Decision is the last tick's decision (valid or not).
	Decision Decision
	// DesiredScale and ExcessBurstCapacity are the last valid decision's
	// (-1 and the initial EBC before the first).
	DesiredScale        int32
	ExcessBurstCapacity int32
	// Action is what the last reconcile asked for; State the status after.
	Action ScaleAction
	State  ScaleState
	// Ready is the last ready pod count; Ticks counts ticks run.
	Ready int
	Ticks int
	// Stable and Panic are the last windowed averages.
	Stable, Panic float64
}

// Status returns a revision's status.
func (a *Autoscaler) Status(key RevisionKey) (RevisionStatus, bool) {
	a.mu.Lock()
	r, ok := a.revisions[key]
	a.mu.Unlock()
	if !ok {
		return RevisionStatus{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, true
}
