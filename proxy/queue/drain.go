package queue

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// drainer fails health checks once draining starts and tells when no new
// request has arrived for a quiet period.
type drainer struct {
	quiet time.Duration

	draining atomic.Bool
	last     atomic.Int64 // UnixNano of the last request while draining

	mu   sync.Mutex
	done chan struct{} // closed when the quiet period has passed
}

func newDrainer(quiet time.Duration) *drainer { return &drainer{quiet: quiet} }

// touch records a request; it costs one load unless draining.
func (d *drainer) touch() {
	if d.draining.Load() {
		d.last.Store(time.Now().UnixNano())
	}
}

// start begins draining (once) and returns a channel closed once the quiet
// period has passed.
func (d *drainer) start() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done != nil {
		return d.done
	}
	done := make(chan struct{})
	d.done = done
	d.last.Store(time.Now().UnixNano())
	d.draining.Store(true)
	go func() {
		for {
			since := time.Since(time.Unix(0, d.last.Load()))
			if since >= d.quiet {
				close(done)
				return
			}
			time.Sleep(d.quiet - since)
		}
	}()
	return done
}

// wait starts draining and blocks until the quiet period has passed or ctx
// ends.
func (d *drainer) wait(ctx context.Context) error {
	select {
	case <-d.start():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reset ends a drain that was not followed by a shutdown (the user
// container's preStop ran because it restarted, not because the pod ends).
func (d *drainer) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done == nil {
		return
	}
	select {
	case <-d.done:
		d.done = nil
		d.draining.Store(false)
	default:
	}
}
