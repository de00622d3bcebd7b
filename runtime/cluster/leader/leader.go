package leader

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// ErrLost is returned by Run when another process took the Lease, or it
// could not be renewed in time, while this one was leading. The work may
// have been cut short and the process's view may be stale: the caller
// campaigns again (Run again) with work that starts afresh, or exits and
// lets a fresh process campaign.
var ErrLost = errors.New("leader: lease lost")

// Config names the Lease and this candidate and sets the timings. The
// defaults are client-go's usual ones: 15s lease, 10s renew deadline, 2s
// retry period.
type Config struct {
	Namespace, Name string // the Lease
	Identity        string // this candidate, unique among them (e.g. the pod name)

	LeaseDuration time.Duration // how long a non-leader waits before taking over an unrenewed Lease
	RenewDeadline time.Duration // how long the leader retries renewing before giving up
	RetryPeriod   time.Duration // the pause between attempts
}

func (c *Config) defaults() error {
	if c.Namespace == "" || c.Name == "" || c.Identity == "" {
		return fmt.Errorf("leader: Lease namespace, name and identity are required")
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 15 * time.Second
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = 10 * time.Second
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = 2 * time.Second
	}
	return c.CheckTimings()
}

// CheckTimings reports timings that cannot work, as client-go's
// leaderelection does: the Lease records whole seconds, so its duration is
// at least a second; the leader gives up renewing before a standby may
// take over, and tries more than once in that time. Zero fields are left
// to the defaults.
func (c *Config) CheckTimings() error {
	switch {
	case c.LeaseDuration < 0 || c.RenewDeadline < 0 || c.RetryPeriod < 0:
		return fmt.Errorf("leader: negative Lease timings (duration %s, renew deadline %s, retry period %s)", c.LeaseDuration, c.RenewDeadline, c.RetryPeriod)
	case c.LeaseDuration != 0 && c.LeaseDuration < time.Second:
		return fmt.Errorf("leader: Lease duration %s: want at least 1s", c.LeaseDuration)
	case c.LeaseDuration != 0 && c.RenewDeadline != 0 && c.RenewDeadline >= c.LeaseDuration:
		return fmt.Errorf("leader: renew deadline %s: want less than the Lease duration %s", c.RenewDeadline, c.LeaseDuration)
	case c.RenewDeadline != 0 && c.RetryPeriod != 0 && float64(c.RenewDeadline) <= jitter*float64(c.RetryPeriod):
		return fmt.Errorf("leader: renew deadline %s: want more than %g × the retry period %s", c.RenewDeadline, jitter, c.RetryPeriod)
	}
	return nil
}

// jitter is how much longer than RetryPeriod a candidate may wait between
// attempts to acquire the Lease (a fraction of it, picked at random each
// time), so that candidates started together spread out.
const jitter = 1.2

// Run campaigns for the Lease until ctx ends. Once elected it calls lead,
// in the calling goroutine, with a context that ends when ctx does or when
// the Lease is lost; lead should return promptly then. Run releases the
// Lease only after lead has returned, so that two leads never overlap
// through a hand-over, and returns: nil when ctx ended or lead returned on
// its own, ErrLost when the Lease was lost.
//
// leases is a REST client of coordination.k8s.io/v1 (kube.Clients'
// Coordination).
func Run(ctx context.Context, leases rest.Interface, c Config, lead func(context.Context)) error {
	if err := c.defaults(); err != nil {
		return err
	}
	e := &elector{leases: leases, c: c}
	if !e.acquire(ctx) {
		return nil
	}

	// The Lease is renewed on a context of its own, ended only once lead
	// has returned; held ends when a renewal fails.
	renewCtx, stopRenewing := context.WithCancel(context.WithoutCancel(ctx))
	held, lose := context.WithCancel(context.WithoutCancel(ctx))
	defer lose()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		e.renew(renewCtx, lose)
	}()

	leadCtx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(held, cancel)
	lead(leadCtx)
	stop()
	cancel()
	stopRenewing()
	<-renewed
	lost := held.Err() != nil && ctx.Err() == nil
	e.release()
	if lost {
		return ErrLost
	}
	return nil
}

// elector campaigns for one Lease.
type elector struct {
	leases rest.Interface
	c      Config
	// lease is the Lease as last read or written, nil before the first
	// read; seen is when its spec last changed, by this process's clock.
	lease *coordinationv1.Lease
	seen  time.Time
}

// acquire tries to take the Lease every RetryPeriod or so until it holds
// it (true) or ctx ends (false).
func (e *elector) acquire(ctx context.Context) bool {
	for {
		if e.try(ctx, time.Now()) {
			return true
		}
		wait := time.Duration(float64(e.c.RetryPeriod) * (1 + jitter*rand.Float64()))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// renew renews the Lease every RetryPeriod until ctx ends. When a renewal
// has not succeeded within RenewDeadline (tried every RetryPeriod), it
// calls lose and returns.
func (e *elector) renew(ctx context.Context, lose func()) {
	for {
		if !e.renewOnce(ctx) {
			if ctx.Err() == nil {
				lose()
			}
			return
		}
		t := time.NewTimer(e.c.RetryPeriod)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// renewOnce tries to renew the Lease until it succeeds, RenewDeadline
// passes or ctx ends.
func (e *elector) renewOnce(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, e.c.RenewDeadline)
	defer cancel()
	t := time.NewTicker(e.c.RetryPeriod)
	defer t.Stop()
	for {
		if e.try(ctx, time.Now()) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// try takes or renews the Lease once, at now.
func (e *elector) try(ctx context.Context, now time.Time) bool {
	// A valid Lease this candidate holds is renewed without reading it
	// first; a conflict (someone else wrote it) falls back to a read.
	if e.lease != nil && holder(e.lease.Spec) == e.c.Identity && valid(e.lease.Spec, e.seen, now) {
		next, _ := claim(e.lease.Spec, e.seen, e.c.Identity, e.c.LeaseDuration, now)
		if e.write(ctx, next, now) == nil {
			return true
		}
	}
	var cur coordinationv1.Lease
	err := e.request(e.leases.Get()).Name(e.c.Name).Do(ctx).Into(&cur)
	if apierrors.IsNotFound(err) {
		next, _ := claim(coordinationv1.LeaseSpec{}, now, e.c.Identity, e.c.LeaseDuration, now)
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: e.c.Namespace, Name: e.c.Name}, Spec: next}
		var out coordinationv1.Lease
		if err := e.request(e.leases.Post()).Body(l).Do(ctx).Into(&out); err != nil {
			return false
		}
		e.lease, e.seen = &out, now
		return true
	}
	if err != nil {
		return false
	}
	if e.lease == nil || !sameSpec(e.lease.Spec, cur.Spec) {
		e.seen = now
	}
	e.lease = &cur
	next, ok := claim(cur.Spec, e.seen, e.c.Identity, e.c.LeaseDuration, now)
	return ok && e.write(ctx, next, now) == nil
}

// write updates the Lease as last read or written to spec: it fails on a
// conflict when someone else wrote it since.
func (e *elector) write(ctx context.Context, spec coordinationv1.LeaseSpec, now time.Time) error {
	l := e.lease.DeepCopy()
	l.Spec = spec
	var out coordinationv1.Lease
	if err := e.request(e.leases.Put()).Name(e.c.Name).Body(l).Do(ctx).Into(&out); err != nil {
		return err
	}
	e.lease, e.seen = &out, now
	return nil
}

// release gives the Lease up if this candidate still holds it: the next
// candidate need not wait for it to expire.
func (e *elector) release() {
	ctx, cancel := context.WithTimeout(context.Background(), e.c.RenewDeadline)
	defer cancel()
	var cur coordinationv1.Lease
	if err := e.request(e.leases.Get()).Name(e.c.Name).Do(ctx).Into(&cur); err != nil || holder(cur.Spec) != e.c.Identity {
		return
	}
	e.lease = &cur
	now := metav1.NewMicroTime(time.Now())
	_ = e.write(ctx, coordinationv1.LeaseSpec{HolderIdentity: new(""), LeaseDurationSeconds: new(int32(1)),
		AcquireTime: &now, RenewTime: &now, LeaseTransitions: cur.Spec.LeaseTransitions}, now.Time)
}

func (e *elector) request(r *rest.Request) *rest.Request {
	return r.Namespace(e.c.Namespace).Resource("leases")
}

// claim decides whether a candidate may hold a Lease whose spec is cur,
// unchanged since seen, at now, and returns the spec it writes then: a
// Lease another candidate holds is free once its duration has passed
// since seen, by the candidate's own clock (never by the holder's
// timestamps: clocks differ). Renewing keeps the acquire time; taking the
// Lease over counts a transition.
func claim(cur coordinationv1.LeaseSpec, seen time.Time, id string, d time.Duration, now time.Time) (coordinationv1.LeaseSpec, bool) {
	h := holder(cur)
	if h != "" && h != id && valid(cur, seen, now) {
		return coordinationv1.LeaseSpec{}, false
	}
	at := metav1.NewMicroTime(now)
	next := coordinationv1.LeaseSpec{HolderIdentity: new(id), LeaseDurationSeconds: new(int32(d / time.Second)),
		AcquireTime: &at, RenewTime: &at, LeaseTransitions: new(deref(cur.LeaseTransitions))}
	switch {
	case h == id:
		next.AcquireTime = cur.AcquireTime
	case cur.HolderIdentity != nil:
		*next.LeaseTransitions++
	}
	return next, true
}

// valid reports whether a Lease seen unchanged since seen is still held
// at now.
func valid(s coordinationv1.LeaseSpec, seen, now time.Time) bool {
	return seen.Add(time.Duration(deref(s.LeaseDurationSeconds)) * time.Second).After(now)
}

func holder(s coordinationv1.LeaseSpec) string {
	if s.HolderIdentity == nil {
		return ""
	}
	return *s.HolderIdentity
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// sameSpec reports whether two Lease specs say the same.
func sameSpec(a, b coordinationv1.LeaseSpec) bool {
	return holder(a) == holder(b) && deref(a.LeaseDurationSeconds) == deref(b.LeaseDurationSeconds) &&
		deref(a.LeaseTransitions) == deref(b.LeaseTransitions) &&
		a.AcquireTime.Equal(b.AcquireTime) && a.RenewTime.Equal(b.RenewTime)
}
