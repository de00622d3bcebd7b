package breaker

import (
	"context"
	"errors"
	"sync/atomic"
)

// ErrQueueFull is returned when every slot and every queue place is taken.
// Its text is Knative's, and is what clients see in the 503 body.
var ErrQueueFull = errors.New("pending request queue full")

// Breaker admits at most Capacity requests at once and lets at most
// QueueDepth more wait for a slot. It is safe for concurrent use.
//
// The admission check is one atomic add on the fast path: a request first
// reserves one of the Capacity+QueueDepth places (failing at once with
// ErrQueueFull when none is left), then takes a slot from a buffered channel
// of Capacity tokens, waiting there until a slot frees up or its context
// ends.
type Breaker struct {
	places   atomic.Int64 // reserved places: running plus waiting
	total    int64        // Capacity + QueueDepth
	capacity int
	slots    chan struct{}
}

// New returns a breaker with capacity running slots and queueDepth waiting
// places. capacity must be at least 1 and queueDepth at least 0.
func New(capacity, queueDepth int) (*Breaker, error) {
	if capacity < 1 {
		return nil, errors.New("breaker: capacity must be at least 1")
	}
	if queueDepth < 0 {
		return nil, errors.New("breaker: queue depth must not be negative")
	}
	return &Breaker{
		total:    int64(capacity + queueDepth),
		capacity: capacity,
		slots:    make(chan struct{}, capacity),
	}, nil
}

// Acquire takes a slot, waiting for one if the breaker is at capacity. It
// returns ErrQueueFull at once when no place is left, or the context's error
// if the context ends while waiting. After a nil error the caller must call
// Release exactly once.
func (b *Breaker) Acquire(ctx context.Context) error {
	if !b.Reserve() {
		return ErrQueueFull
	}
	return b.Wait(ctx)
}

// Reserve takes one of the places (running or waiting), one atomic add; it
// is false, and nothing is taken, when none is left. After true the caller
// must call Wait (Acquire is Reserve then Wait): a proxy can answer a full
// queue before it sets up anything for the request.
func (b *Breaker) Reserve() bool {
	if b.places.Add(1) > b.total {
		b.places.Add(-1)
		return false
	}
	return true
}

// Wait takes a slot for a place Reserve took, waiting until one is free or
// ctx ends; then it gives the place back and returns the context's error.
// After a nil error the caller must call Release exactly once.
func (b *Breaker) Wait(ctx context.Context) error {
	select {
	case b.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case b.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		b.places.Add(-1)
		return ctx.Err()
	}
}

// Release gives back a slot taken by Acquire.
func (b *Breaker) Release() {
	<-b.slots
	b.places.Add(-1)
}

// Capacity is the number of requests that may run at once.
func (b *Breaker) Capacity() int { return b.capacity }

// InFlight is the number of requests running.
func (b *Breaker) InFlight() int { return len(b.slots) }

// Pending is the number of requests running or waiting (the queue depth
// Knative reports).
func (b *Breaker) Pending() int { return int(b.places.Load()) }
