// Package heap hands the memory a Go process's heap no longer uses back
// to the OS when the process has gone quiet.
//
// The Go runtime collects garbage and returns free pages only as it
// allocates, so a process that was busy and then idles keeps the memory
// its busiest moment grew to. ebb's long-lived processes (the queue-proxy
// sidecar in every pod, the controller between sync passes) idle most of
// the time: they release once after each busy spell.
package heap

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes", "/memory/classes/heap/free:bytes"}

// Retained is the heap memory the process holds and has not returned to
// the OS: objects (live or garbage), unused parts of spans, free spans.
func Retained() uint64 {
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples)
	var n uint64
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			n += s.Value.Uint64()
		}
	}
	return n
}

// Release collects garbage and returns free memory to the OS when the
// heap holds at least floor bytes (below it a collection touches more than
// it frees), and reports whether it did. It collects twice: a sync.Pool
// (net/http's buffers, encoders' scratch space) keeps its contents through
// one collection.
func Release(floor uint64) bool {
	if Retained() < floor {
		return false
	}
	debug.FreeOSMemory()
	debug.FreeOSMemory()
	return true
}

// ReleaseWhenQuiet calls release once after each busy spell: when quiet
// has passed since the last signal on busy, until ctx ends. A signal while
// waiting starts the wait again.
func ReleaseWhenQuiet(ctx context.Context, busy <-chan struct{}, quiet time.Duration, release func()) {
	t := time.NewTimer(quiet)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-busy:
			t.Reset(quiet)
		case <-t.C:
			release()
		}
	}
}
