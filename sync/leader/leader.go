package leader

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ErrLost is returned by Run when another process took the Lease, or it
// could not be renewed in time, while this one was leading. The work may
// have been cut short and the process's view may be stale: the usual answer
// is to exit and let a fresh process campaign.
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
	return nil
}

// Run campaigns for the Lease until ctx ends. Once elected it calls lead,
// in the calling goroutine, with a context that ends when ctx does or when
// the Lease is lost; lead should return promptly then. Run releases the
// Lease only after lead has returned, so that two leads never overlap
// through a hand-over, and returns: nil when ctx ended or lead returned on
// its own, ErrLost when the Lease was lost.
func Run(ctx context.Context, leases coordinationv1.LeasesGetter, c Config, lead func(context.Context)) error {
	if err := c.defaults(); err != nil {
		return err
	}
	leading := make(chan context.Context, 1)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: c.Namespace, Name: c.Name},
			Client:     leases,
			LockConfig: resourcelock.ResourceLockConfig{Identity: c.Identity},
		},
		LeaseDuration:   c.LeaseDuration,
		RenewDeadline:   c.RenewDeadline,
		RetryPeriod:     c.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            c.Namespace + "/" + c.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(l context.Context) { leading <- l },
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return fmt.Errorf("leader: %w", err)
	}

	// The elector runs on a context of its own, ended only once lead has
	// returned, so it releases the Lease after the work stopped.
	electCtx, stopElecting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElecting()
	done := make(chan struct{})
	go func() {
		defer close(done)
		le.Run(electCtx)
	}()

	select {
	case <-ctx.Done():
		stopElecting()
		<-done
		return nil
	case <-done:
		return ErrLost
	case held := <-leading:
		leadCtx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(held, cancel)
		lead(leadCtx)
		stop()
		cancel()
		lost := held.Err() != nil && ctx.Err() == nil
		stopElecting()
		<-done
		if lost {
			return ErrLost
		}
		return nil
	}
}
