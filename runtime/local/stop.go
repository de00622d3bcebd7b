package local

import (
	"context"
	"sync"
	"time"
)

// Stopping is a pod's user container that a stop waits for.
type Stopping struct {
	Namespace, Revision, Pod string
	PID                      int
	// Grace is how long it may take after SIGTERM before it is killed.
	Grace time.Duration
}

// stopPods stops pods in parallel, each within its grace period; a
// Shutdown that comes meanwhile waits for them too.
func (r *Runtime) stopPods(pods []*pod) {
	r.mu.Lock()
	for _, p := range pods {
		r.stopping[p] = true
	}
	r.mu.Unlock()
	stopAll(context.Background(), pods, nil)
	r.mu.Lock()
	for _, p := range pods {
		delete(r.stopping, p)
	}
	r.mu.Unlock()
}

// stopAll stops pods in parallel (see pod.Stop).
func stopAll(ctx context.Context, pods []*pod, waiting func(Stopping)) {
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Go(func() { p.Stop(ctx, waiting) })
	}
	wg.Wait()
}

// Close stops every pod, each within its grace period, and refuses
// further work.
func (r *Runtime) Close() { r.Shutdown(context.Background(), nil) }

// Shutdown stops every pod in parallel and refuses further work: each
// pod's queue-proxy drains, its user container gets SIGTERM, then SIGKILL
// once its revision's grace period is over or ctx ends, whichever comes
// first. waiting, if set, is told of each user container that is running
// when its stop begins. Shutdown returns when every process it started
// is gone.
func (r *Runtime) Shutdown(ctx context.Context, waiting func(Stopping)) {
	r.cancel()
	r.mu.Lock()
	r.closed = true
	var all []*pod
	for key, rev := range r.revisions {
		all = append(append(all, rev.pods...), rev.retiring...)
		delete(r.revisions, key)
	}
	for p := range r.stopping {
		all = append(all, p)
	}
	r.mu.Unlock()
	stopAll(ctx, all, waiting)
}
