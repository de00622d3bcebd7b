package queue

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// undoAfter is how long after a /wait-for-drain call the drain it began
// is undone when no shutdown has begun meanwhile (Knative's second): the
// call then came from a user container restarting on its own.
const undoAfter = time.Second

// drainer fails health checks once draining starts and tells when no new
// request has arrived for a quiet period.
type drainer struct {
	quiet time.Duration

	draining atomic.Bool
	last     atomic.Int64 // UnixNano of the last request while draining

	mu    sync.Mutex
	done  chan struct{} // closed when the quiet period has passed or the drain is undone
	undo  chan struct{} // closed by reset
	final bool          // the drain before shutdown began: reset does nothing
}

func newDrainer(quiet time.Duration) *drainer { return &drainer{quiet: quiet} }

// touch records a request; it costs one load unless draining.
func (d *drainer) touch() {
	if d.draining.Load() {
		d.last.Store(time.Now().UnixNano())
	}
}

// start begins draining (once) and returns a channel closed once the quiet
// period has passed, or once reset undoes the drain.
func (d *drainer) start() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.startLocked()
}

func (d *drainer) startLocked() <-chan struct{} {
	if d.done != nil {
		return d.done
	}
	done, undo := make(chan struct{}), make(chan struct{})
	d.done, d.undo = done, undo
	d.last.Store(time.Now().UnixNano())
	d.draining.Store(true)
	go func() {
		defer close(done)
		t := time.NewTimer(d.quiet)
		defer t.Stop()
		for {
			select {
			case <-undo:
				return
			case <-t.C:
			}
			since := time.Since(time.Unix(0, d.last.Load()))
			if since >= d.quiet {
				return
			}
			t.Reset(d.quiet - since)
		}
	}()
	return done
}

// wait starts draining and blocks until the quiet period has passed (or
// the drain is undone), or ctx ends.
func (d *drainer) wait(ctx context.Context) error {
	return waitFor(ctx, d.start())
}

// shutdown is wait for the drain before shutdown: the drain under way, or
// a new one, is never undone from now on.
func (d *drainer) shutdown(ctx context.Context) error {
	d.mu.Lock()
	d.final = true
	done := d.startLocked()
	d.mu.Unlock()
	return waitFor(ctx, done)
}

func waitFor(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reset undoes a drain that no shutdown follows (the user container's
// preStop ran because it restarted, not because the pod ends): health
// checks pass again, and whoever waits for the drain returns.
func (d *drainer) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.final || d.done == nil {
		return
	}
	close(d.undo)
	d.done, d.undo = nil, nil
	d.draining.Store(false)
}
