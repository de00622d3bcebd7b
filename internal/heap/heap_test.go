package heap

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Retained counts what the heap holds: more after allocating and keeping
// 8 MiB, less once it is dropped and Release ran.
func TestRelease(t *testing.T) {
	keep := make([][]byte, 0, 64)
	for range 64 {
		keep = append(keep, make([]byte, 128<<10))
	}
	held := Retained()
	if held < 8<<20 {
		t.Fatalf("heap holds %d bytes with 8 MiB kept, want at least 8 MiB", held)
	}
	if Release(held + 1<<30) {
		t.Error("released a heap under the floor")
	}
	keep[0][0] = 1
	keep = nil
	if !Release(4 << 20) {
		t.Fatal("did not release a heap over the floor")
	}
	if after := Retained(); after >= held-4<<20 {
		t.Errorf("heap holds %d bytes after Release, was %d with 8 MiB kept", after, held)
	}
}

// ReleaseWhenQuiet releases once per busy spell, after the spell's last
// signal plus the quiet time.
func TestReleaseWhenQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, cancel := context.WithCancel(t.Context())
		busy := make(chan struct{})
		var released []time.Duration
		done := make(chan struct{})
		go func() {
			defer close(done)
			ReleaseWhenQuiet(ctx, busy, time.Second, func() { released = append(released, time.Since(start)) })
		}()
		signal := func(at time.Duration) {
			time.Sleep(at - time.Since(start))
			busy <- struct{}{}
		}
		// A spell of three passes 400 ms apart, then quiet; a second spell
		// of one pass; then a long quiet with no release.
		signal(0)
		signal(400 * time.Millisecond)
		signal(800 * time.Millisecond)
		signal(5 * time.Second)
		time.Sleep(20*time.Second - time.Since(start))
		synctest.Wait()
		cancel()
		<-done
		want := []time.Duration{1800 * time.Millisecond, 6 * time.Second}
		if diff := cmp.Diff(want, released); diff != "" {
			t.Errorf("releases (-want +got):\n%s", diff)
		}
	})
}
