package serving

import (
	"time"

	"github.com/ebb-dev/ebb/serving/names"
	"github.com/ebb-dev/ebb/serving/rollout"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// Edge is what the controller programming a Service's route reports of
// it, for a route ebb does not serve itself (a KIngress class, programmed
// by a net-* controller): the generation of the object it programs, the
// generation it has programmed (status.observedGeneration with the Ready
// condition True; 0 when not ready), and the gradual rollout's newest
// revision and percent as that object carries them (its rollout
// annotation); and where it receives the route's traffic, which the
// route's placeholder Services follow (see render.Input.Programmed).
type Edge struct {
	Generation           int64
	ProgrammedGeneration int64
	Revision             string
	Percent              traffic.Percent
	LoadBalancer         LoadBalancer
}

// Ready reports whether the edge has programmed the generation its object
// has: Knative's ingress.IsReady().
func (e Edge) Ready() bool { return e.Generation > 0 && e.ProgrammedGeneration == e.Generation }

// Programmed are the edges' reports by route, "namespace/name" of the
// object the edge programs (names.Ingress of the route). A route without a report (one ebb
// programs itself, or whose object does not exist yet) is not held; nil
// holds none.
type Programmed map[string]Edge

// gradualAt is when l's gradual rollout plan is routed at now: now, or
// earlier while its edge has not programmed the share before (see
// rollout.HeldAt).
func (p Programmed) gradualAt(l *Ledger, plan rollout.Rollout, now time.Time) time.Time {
	e, ok := p.route(l)
	if !ok {
		return now
	}
	return rollout.HeldAt(plan, l.Service, now, rollout.Programmed{Revision: e.Revision, Percent: e.Percent, Ready: e.Ready()})
}

// route is the report of the edge of l's route, if there is one.
func (p Programmed) route(l *Ledger) (Edge, bool) {
	e, ok := p[l.Namespace+"/"+names.Ingress(l.Service)]
	return e, ok
}

// held reports whether l's gradual rollout waits at now for its edge to
// program a share.
func (p Programmed) held(l *Ledger, now time.Time) bool {
	return l.Gradual != nil && p.gradualAt(l, *l.Gradual, now).Before(now)
}

// carries reports whether l's route has no edge report, or its edge has
// programmed revision at percent: an analysed canary steps on only then.
func (p Programmed) carries(l *Ledger, revision string, percent traffic.Percent) bool {
	e, ok := p.route(l)
	return !ok || (e.Ready() && e.Revision == revision && e.Percent == percent)
}

// RoutedAt is RoutedAt with each gradual rollout held where its edge has
// not programmed a share yet.
func (p Programmed) RoutedAt(ledgers []*Ledger, now time.Time) []*Ledger {
	return routedWith(ledgers, func(l *Ledger) rollout.Rollout {
		return rollout.SplitAt(*l.Gradual, p.gradualAt(l, *l.Gradual, now))
	})
}

// GradualWake is GradualWake of the rollouts not held at after: a held
// rollout moves on when its edge reports (Observed.Released), not at a
// time.
func (p Programmed) GradualWake(ledgers []*Ledger, after time.Time) time.Time {
	var next time.Time
	for _, l := range ledgers {
		if l.Gradual == nil || l.Removed != nil || p.held(l, after) {
			continue
		}
		w := rollout.WakeAt(*l.Gradual, after)
		if rollout.SplitAt(*l.Gradual, after).Done() {
			w = after
		}
		if !w.IsZero() && (next.IsZero() || w.Before(next)) {
			next = w
		}
	}
	return next
}

// Released reports whether a gradual rollout of ledgers, routed at then
// with the reports was, routes differently at o.Now with o.Programmed:
// an edge has programmed the share its rollout was held at. A runtime
// that sees an edge report asks this to know whether a pass is due.
func (o Observed) Released(ledgers []*Ledger, was Programmed, then time.Time) bool {
	if o.Now.IsZero() {
		return false
	}
	for _, l := range ledgers {
		if l.Removed != nil || !was.held(l, then) {
			continue
		}
		before := rollout.SplitAt(*l.Gradual, was.gradualAt(l, *l.Gradual, then))
		if !rollout.Equal(before, rollout.SplitAt(*l.Gradual, o.Programmed.gradualAt(l, *l.Gradual, o.Now))) {
			return true
		}
	}
	return false
}
