package interrupt

import (
	"context"
	"os"
	"os/signal"
	"sync"
)

// Notify relays sigs: graceful ends at the first of them, now is closed
// at the second. After the second, sigs have their default effect again
// (a third Ctrl-C ends the process the hard way). stop releases the
// signals and ends graceful.
func Notify(parent context.Context, sigs ...os.Signal) (graceful context.Context, now <-chan struct{}, stop func()) {
	c := make(chan os.Signal, 2)
	signal.Notify(c, sigs...)
	ctx, cancel := context.WithCancel(parent)
	second := make(chan struct{})
	released := make(chan struct{})
	go func() {
		defer signal.Stop(c)
		select {
		case <-c:
			cancel()
		case <-released:
			return
		}
		select {
		case <-c:
			close(second)
		case <-released:
		}
	}()
	var once sync.Once
	return ctx, second, func() {
		once.Do(func() {
			close(released)
			signal.Stop(c)
			cancel()
		})
	}
}
