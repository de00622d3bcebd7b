//go:build linux

package node_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// load is a bounded load through the gateway: workers send GET / for one
// host, each waiting pause between its requests, until stop is called, the
// time limit passes or max requests were sent, whichever comes first.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time

	mu     sync.Mutex
	sent   int
	failed []failedRequest
	// answers counts the bodies of the answers that succeeded.
	answers map[string]int
}

// failedRequest is a request that did not answer 200: when it was sent,
// counted from the load's start, and why.
type failedRequest struct {
	at  time.Duration
	err string
}

// loadResult is what a load saw.
type loadResult struct {
	sent    int
	took    time.Duration
	failed  []failedRequest
	answers map[string]int
}

func (r loadResult) String() string {
	s := fmt.Sprintf("%d requests in %v, %d failed, answers %v", r.sent, r.took.Round(time.Millisecond), len(r.failed), r.answers)
	if len(r.failed) > 0 {
		first, last := r.failed[0].at, r.failed[0].at
		for _, f := range r.failed {
			first, last = min(first, f.at), max(last, f.at)
		}
		s += fmt.Sprintf("; failed requests sent from %v to %v", first.Round(time.Millisecond), last.Round(time.Millisecond))
	}
	for i, f := range r.failed {
		if i == 5 {
			s += fmt.Sprintf("\n  (%d more)", len(r.failed)-i)
			break
		}
		s += fmt.Sprintf("\n  at %v: %s", f.at.Round(time.Millisecond), f.err)
	}
	return s
}

// startLoad starts a load of workers on host, stopped at the latest when
// the test ends.
func (e *ebb) startLoad(t *testing.T, host string, workers int, pause, limit time.Duration, max int) *load {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	l := &load{cancel: cancel, start: time.Now(), answers: map[string]int{}}
	for range workers {
		l.wg.Go(func() {
			for ctx.Err() == nil {
				l.mu.Lock()
				if l.sent >= max {
					l.mu.Unlock()
					return
				}
				l.sent++
				l.mu.Unlock()
				at := time.Since(l.start)
				got, err := e.get(ctx, host)
				l.mu.Lock()
				switch {
				case err != nil && ctx.Err() != nil:
					l.sent-- // cut off by the stop, not failed
				case err != nil:
					l.failed = append(l.failed, failedRequest{at: at, err: err.Error()})
				default:
					l.answers[got]++
				}
				l.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
		})
	}
	t.Cleanup(func() { l.stop() })
	return l
}

// stop ends the load, waits for its workers and returns what it saw.
func (l *load) stop() loadResult {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	answers := make(map[string]int, len(l.answers))
	for k, v := range l.answers {
		answers[k] = v
	}
	return loadResult{sent: l.sent, took: time.Since(l.start), failed: append([]failedRequest(nil), l.failed...), answers: answers}
}

// seen returns how many requests the load has sent so far.
func (l *load) seen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent
}
