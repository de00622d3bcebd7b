package breaker

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestNewRejectsBadSizes(t *testing.T) {
	for _, c := range []struct{ cap, q int }{{0, 0}, {-1, 5}, {1, -1}} {
		if _, err := New(c.cap, c.q); err == nil {
			t.Errorf("New(%d, %d) = nil error, want one", c.cap, c.q)
		}
	}
}

func TestQueueFullAtOnce(t *testing.T) {
	b, err := New(2, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		if err := b.Acquire(ctx); err != nil {
			t.Fatalf("Acquire: %v", err)
		}
	}
	// Three waiters fill the queue.
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- b.Acquire(ctx) }()
	}
	for b.Pending() < 5 {
		// Bounded: each waiter adds one place before blocking.
		runtime.Gosched()
	}
	if err := b.Acquire(ctx); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Acquire on a full breaker = %v, want ErrQueueFull", err)
	}
	if got, want := ErrQueueFull.Error(), "pending request queue full"; got != want {
		t.Errorf("ErrQueueFull text = %q, want %q", got, want)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("waiter error = %v, want context.Canceled", err)
		}
	}
	if got := b.Pending(); got != 2 {
		t.Errorf("Pending after cancelled waiters = %d, want 2", got)
	}
	b.Release()
	b.Release()
	if got := b.Pending(); got != 0 {
		t.Errorf("Pending after release = %d, want 0", got)
	}
}

func TestNeverMoreThanCapacity(t *testing.T) {
	for _, capacity := range []int{1, 3, 10} {
		t.Run(fmt.Sprint(capacity), func(t *testing.T) {
			b, err := New(capacity, 1000)
			if err != nil {
				t.Fatal(err)
			}
			var running, peak atomic.Int64
			var wg sync.WaitGroup
			for range 200 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := b.Acquire(context.Background()); err != nil {
						t.Error(err)
						return
					}
					n := running.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					runtime.Gosched()
					running.Add(-1)
					b.Release()
				}()
			}
			wg.Wait()
			if p := peak.Load(); p > int64(capacity) || p < 1 {
				t.Errorf("peak concurrency = %d, want 1..%d", p, capacity)
			}
		})
	}
}

func BenchmarkBreaker(b *testing.B) {
	for _, par := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("parallel-%d", par), func(b *testing.B) {
			br, err := New(10, par*runtime.GOMAXPROCS(0))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := br.Acquire(ctx); err != nil {
						b.Error(err)
						return
					}
					br.Release()
				}
			})
		})
	}
}

// TestReserveThenWait: Reserve fails without taking anything once every
// place is taken; a reserved place whose Wait is cancelled is given back.
func TestReserveThenWait(t *testing.T) {
	b, err := New(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Reserve() || b.Wait(context.Background()) != nil {
		t.Fatal("first Reserve and Wait failed on an empty breaker")
	}
	if !b.Reserve() {
		t.Fatal("second Reserve failed with a queue place free")
	}
	if b.Reserve() {
		t.Fatal("third Reserve succeeded on a full breaker")
	}
	if got := b.Pending(); got != 2 {
		t.Errorf("Pending after a refused Reserve = %d, want 2", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a full breaker and a cancelled context = %v, want context.Canceled", err)
	}
	if got := b.Pending(); got != 1 {
		t.Errorf("Pending after the cancelled Wait = %d, want 1", got)
	}
	b.Release()
	if got := b.Pending(); got != 0 {
		t.Errorf("Pending after Release = %d, want 0", got)
	}
}
