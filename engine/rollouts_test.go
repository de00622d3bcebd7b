package engine

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestKickRolloutsBacksOff: a due check is kicked at once; while it stays
// due (too few requests), again a tick (1 s) later, then 2 s, 4 s, 8 s and 8 s; a
// new due time is kicked at once, and retried after 1 s again.
func TestKickRolloutsBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		dueAt := start.Add(3 * time.Second)
		due := func() time.Time { return dueAt }
		var kicks []time.Duration
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			kickRollouts(ctx, due, time.Now, time.Second, func() {
				kicks = append(kicks, time.Since(start).Round(250*time.Millisecond))
			})
		}()
		time.Sleep(28 * time.Second)
		dueAt = time.Now().Add(time.Second)
		time.Sleep(2 * time.Second)
		cancel()
		<-done
		want := []time.Duration{3 * time.Second, 4 * time.Second, 6 * time.Second, 10 * time.Second, 18 * time.Second, 26 * time.Second, 29 * time.Second, 30 * time.Second}
		if len(kicks) != len(want) {
			t.Fatalf("kicks at %v, want %v", kicks, want)
		}
		for i := range want {
			if kicks[i] != want[i] {
				t.Fatalf("kicks at %v, want %v", kicks, want)
			}
		}
	})
}
