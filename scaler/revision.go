package scaler

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// revision is one revision's autoscaling loop and state.
type revision struct {
	key     RevisionKey
	series  *Series
	answers answerLog

	mu      sync.Mutex
	rev     Revision
	specs   specs
	decider DeciderState
	started bool // decider state initialised
	scale   ScaleState
	status  RevisionStatus
	// mode and activators last applied through the ModeSetter.
	modeApplied bool
	mode        route.Mode
	activators  int32

	// The loop: timers, not a goroutine parked per revision (a controller
	// with thousands of revisions would keep a stack for each). Each tick
	// and each scrape runs in the goroutine of its timer.
	life    sync.Mutex // guards stopped and the WaitGroup's additions
	stopped bool
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	ticker  *time.Timer
	scraper *time.Timer
	ticking sync.Mutex  // one tick at a time (timer or poke)
	poked   atomic.Bool // a poke's tick is due and not yet running
	pokeFn  func()
}

func newRevision(rev Revision, s specs, now time.Time) *revision {
	r := &revision{
		key:    rev.Key,
		series: NewSeries(s.windows),
		rev:    rev,
		specs:  s,
		scale:  NewScaleState(now),
	}
	r.status.DesiredScale = -1
	r.status.ExcessBurstCapacity = initialEBC(s.decider)
	r.status.State = r.scale
	return r
}

// fresh is a new revision with r's spec and reachability, started at now.
func (r *revision) fresh(now time.Time) *revision {
	r.mu.Lock()
	defer r.mu.Unlock()
	return newRevision(r.rev, r.specs, now)
}

// ran reports whether r's loop has run and stopped.
func (r *revision) ran() bool {
	r.life.Lock()
	defer r.life.Unlock()
	return r.stopped
}

// initialEBC is the excess burst capacity assumed before the first
// decision: InitialScale × Total − TBC, so a new revision starts in proxy
// mode unless it is sized for its burst capacity.
func initialEBC(d autoscaling.DeciderSpec) int32 {
	switch {
	case d.TargetBurstCapacity == -1:
		return -1
	case d.TargetBurstCapacity == 0:
		return 0
	}
	return int32(float64(d.InitialScale)*d.TotalValue - d.TargetBurstCapacity)
}

func (r *revision) update(rev Revision, s specs, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rev = rev
	r.specs = s
	r.series.Resize(s.windows, now)
}

// maybePoke runs a tick at once when load arrives for a revision whose
// last decision was zero, or that has had no decision yet and runs no pod
// (a revision created at zero, initial-scale 0, would otherwise hold its
// first request for a whole tick). replicas reads the revision's size.
func (r *revision) maybePoke(st metric.Stat, replicas func() int32) {
	if st.AverageConcurrentRequests == 0 {
		return
	}
	r.mu.Lock()
	desired := r.status.DesiredScale
	r.mu.Unlock()
	if desired == 0 || (desired < 0 && replicas() == 0) {
		r.poke()
	}
}

// poke runs a tick at once (pokeNow), once the revision has started.
func (r *revision) poke() {
	r.life.Lock()
	poke := r.pokeFn
	r.life.Unlock()
	if poke != nil {
		poke()
	}
}

func (r *revision) start(ctx context.Context, a *Autoscaler) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.life.Lock()
	r.pokeFn = func() { r.pokeNow(ctx, a) }
	r.life.Unlock()
	r.ticker = r.every(autoscaling.TickInterval, autoscaling.TickInterval, func(now time.Time) {
		r.ticking.Lock()
		defer r.ticking.Unlock()
		r.tick(ctx, a, now)
	})
	// A scrape (network I/O, up to its timeout) never holds up a tick: it
	// runs on its own timer; one still running when the next is due makes
	// that one skip. Scrapes run half-way through each wall-clock second:
	// a pod reports whole wall-clock seconds, so a scrape that runs up to
	// half a second late still reads each of them once.
	r.scraper = r.every(midSecond(time.Now()), autoscaling.ScrapeInterval, func(now time.Time) {
		if r.scraped() {
			r.scrape(ctx, a, now)
		}
	})
}

// midSecond is how long from now until the next half past a second, at
// least half a second.
func midSecond(now time.Time) time.Duration {
	next := now.Truncate(time.Second).Add(time.Second / 2)
	for next.Sub(now) < time.Second/2 {
		next = next.Add(time.Second)
	}
	return next.Sub(now)
}

// every calls f first after first, then every d, at fixed times, until
// the revision stops; a call due while the last one still runs is skipped.
// It is the loop's tick edge: f gets the time read as its timer fired.
func (r *revision) every(first, d time.Duration, f func(now time.Time)) *time.Timer {
	next := time.Now().Add(first)
	var t *time.Timer
	run := func() {
		if !r.enter() {
			return
		}
		defer r.wg.Done()
		f(time.Now())
		// Next due time after the call: skips what a long call overran.
		after := time.Now()
		for !next.After(after) {
			next = next.Add(d)
		}
		t.Reset(next.Sub(after))
	}
	// run reads t after enter, which takes r.life: t is set by then.
	r.life.Lock()
	t = time.AfterFunc(first, run)
	r.life.Unlock()
	return t
}

// enter admits a timer's call unless the revision stopped.
func (r *revision) enter() bool {
	r.life.Lock()
	defer r.life.Unlock()
	if r.stopped {
		return false
	}
	r.wg.Add(1)
	return true
}

// pokeNow runs a tick at once, in a goroutine of its own; pokes that
// come before it runs make no further tick.
func (r *revision) pokeNow(ctx context.Context, a *Autoscaler) {
	if r.poked.Swap(true) || !r.enter() {
		return
	}
	go func() {
		defer r.wg.Done()
		r.poked.Store(false)
		r.ticking.Lock()
		defer r.ticking.Unlock()
		r.tick(ctx, a, time.Now())
	}()
}

func (r *revision) stop() {
	r.life.Lock()
	if r.stopped || r.cancel == nil {
		r.stopped = true
		r.life.Unlock()
		return
	}
	r.stopped = true
	r.life.Unlock()
	r.cancel()
	r.ticker.Stop()
	r.scraper.Stop()
	r.wg.Wait()
}

// scraped reports whether the revision's pods are scraped (see scrape).
func (r *revision) scraped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.specs.scraped
}

// scrape samples the revision's pods once, as of now, and records the
// estimate at the time the answers arrived (as Knative's collector does:
// the scrape is network I/O, and the windows bucket by the second).
func (r *revision) scrape(ctx context.Context, a *Autoscaler, now time.Time) {
	r.mu.Lock()
	s := r.specs
	r.mu.Unlock()
	if !s.scraped {
		return
	}
	pods, err := a.opts.Pods.Pods(ctx, r.key)
	if err == nil {
		var sample []metric.Stat
		var scale float64
		sample, scale, err = a.opts.Scraper.Sample(ctx, pods, s.windows.StableWindow, now)
		if len(sample) > 0 {
			at := time.Now()
			st := sum(sample, scale)
			r.series.Record(at, st)
			for _, p := range sample {
				r.answers.record(p, scale, at)
			}
			r.maybePoke(st, func() int32 { return a.replicas(ctx, r.key) })
		}
	}
	if err != nil && ctx.Err() == nil {
		a.metrics.scrapeErrors.WithLabelValues(r.key.Namespace, r.key.Name).Inc()
		a.log.Debug("scrape failed", "revision", r.key.String(), "error", err)
	}
}

// tick runs the decider and the reconcile for one revision as of now,
// then acts.
func (r *revision) tick(ctx context.Context, a *Autoscaler, now time.Time) {
	r.answers.trim(now)
	ready, replicas, readyErr := a.opts.Scaler.ReadyPods(ctx, r.key)

	r.mu.Lock()
	s := r.specs
	if !r.started {
		n := ready
		if readyErr != nil {
			n = -1
		}
		r.decider = NewDeciderState(s.decider, n, now)
		r.started = true
	}
	obs := Observation{ReadyPods: ready, ReadyErr: readyErr != nil}
	obs.Stable, obs.Panic, obs.NoData = r.series.StableAndPanic(s.decider.ScalingMetric, now, s.scraped)
	var d Decision
	d, r.decider = Decide(s.decider, obs, r.decider, now)
	st := &r.status
	st.Decision, st.Ticks, st.Stable, st.Panic = d, st.Ticks+1, obs.Stable, obs.Panic
	if d.Valid {
		st.DesiredScale, st.ExcessBurstCapacity = d.DesiredScale, d.ExcessBurstCapacity
	}
	prev := r.scale
	in := ScaleInput{Desired: st.DesiredScale, EBC: st.ExcessBurstCapacity, Ready: ready, Replicas: replicas}
	r.mu.Unlock()

	a.record(r.key, s, d, obs, ready)
	if readyErr != nil {
		a.log.Warn("count ready pods", "revision", r.key.String(), "error", readyErr)
		return
	}

	act, next := Reconcile(s.scale, in, prev, now)
	if act.Apply {
		if err := a.opts.Scaler.SetScale(ctx, r.key, act.Replicas); err != nil {
			a.log.Error("set scale", "revision", r.key.String(), "replicas", act.Replicas, "error", err)
			return
		}
		a.log.Info("scaled", "revision", r.key.String(), "from", replicas, "to", act.Replicas)
	}
	r.mu.Lock()
	applied := r.modeApplied && r.mode == act.Mode && r.activators == act.Activators
	r.mu.Unlock()
	if !applied {
		if err := a.opts.Modes.SetMode(ctx, r.key, act.Mode, act.Activators); err != nil {
			a.log.Error("set mode", "revision", r.key.String(), "mode", act.Mode.String(), "error", err)
			next.Mode, next.ProxySince = prev.Mode, prev.ProxySince
		} else {
			r.mu.Lock()
			r.modeApplied, r.mode, r.activators = true, act.Mode, act.Activators
			r.mu.Unlock()
		}
	}
	if prev.Activity == Activating && next.Activity == Active {
		a.metrics.coldStart.WithLabelValues(r.key.Namespace, r.key.Name).Observe(now.Sub(prev.Since).Seconds())
	}
	if prev.Activity != next.Activity {
		a.log.Info("activity", "revision", r.key.String(), "from", prev.Activity.String(), "to", next.Activity.String(), "reason", next.Reason)
	}

	r.mu.Lock()
	r.scale = next
	r.status.Action, r.status.State, r.status.Ready = act, next, ready
	r.mu.Unlock()
	if a.log.Enabled(ctx, slog.LevelDebug) {
		a.log.Debug("tick", "revision", r.key.String(), "stable", obs.Stable, "panic", obs.Panic,
			"ready", ready, "desired", d.DesiredScale, "want", act.Want, "mode", act.Mode.String())
	}
}

// record updates the revision's Prometheus series.
func (a *Autoscaler) record(k RevisionKey, s specs, d Decision, obs Observation, ready int) {
	m := a.metrics
	ns, name := k.Namespace, k.Name
	m.actual.WithLabelValues(ns, name).Set(float64(ready))
	m.target.WithLabelValues(s.decider.ScalingMetric, ns, name).Set(s.decider.TargetValue)
	if !d.Valid {
		return
	}
	m.desired.WithLabelValues(ns, name).Set(float64(d.DesiredScale))
	m.excess.WithLabelValues(ns, name).Set(float64(d.ExcessBurstCapacity))
	m.stable.WithLabelValues(s.decider.ScalingMetric, ns, name).Set(obs.Stable)
	m.panic.WithLabelValues(s.decider.ScalingMetric, ns, name).Set(obs.Panic)
	panicking := 0.0
	if d.Panicking {
		panicking = 1
	}
	m.panicMode.With(prometheus.Labels{"namespace": ns, "revision": name}).Set(panicking)
}
