package activator

import (
	"container/list"
	"context"
	"slices"
	"strings"
	"sync"
)

// throttler admits a revision's requests to its healthy pods, holding them
// in a bounded FIFO queue while every pod is full or there is none.
type throttler struct {
	maxQueue int
	onHold   func() // called when a request must wait and no pod exists

	mu      sync.Mutex
	cc      int
	pick    policy
	rr      int
	all     []*pod // healthy, sorted by address
	pods    []*pod // this activator's share of all (see assignPods)
	index   int    // this activator among those serving the revision; -1: not among them
	acts    int    // how many activators serve the revision
	waiters list.List
	// failed, when set, is why the revision cannot serve: with no pod,
	// requests fail with it at once instead of waiting.
	failed error
}

type waiter struct {
	ch   chan grant
	elem *list.Element // nil once granted
}

// grant is a pod for a waiter, or the reason there will be none.
type grant struct {
	addr    string
	release func()
	err     error
}

func newThrottler(cc, maxQueue int, onHold func()) *throttler {
	return &throttler{cc: cc, pick: policyFor(cc), maxQueue: maxQueue, onHold: onHold, index: -1}
}

// acquire returns a pod address and a release callback, waiting for a free
// pod until ctx ends. It fails at once with errQueueFull when the queue is
// full.
func (t *throttler) acquire(ctx context.Context) (string, func(), error) {
	t.mu.Lock()
	if g, ok := t.tryLocked(); ok {
		t.mu.Unlock()
		return g.addr, g.release, nil
	}
	if err := t.failed; err != nil && len(t.all) == 0 {
		t.mu.Unlock()
		return "", nil, err
	}
	if t.waiters.Len() >= t.maxQueue {
		t.mu.Unlock()
		return "", nil, errQueueFull
	}
	w := &waiter{ch: make(chan grant, 1)}
	w.elem = t.waiters.PushBack(w)
	hold := len(t.all) == 0 && t.waiters.Len() == 1
	t.mu.Unlock()
	if hold && t.onHold != nil {
		t.onHold()
	}
	select {
	case g := <-w.ch:
		if g.err != nil {
			return "", nil, g.err
		}
		return g.addr, g.release, nil
	case <-ctx.Done():
		t.mu.Lock()
		granted := w.elem == nil
		if !granted {
			t.waiters.Remove(w.elem)
		}
		t.mu.Unlock()
		if granted {
			if g := <-w.ch; g.err == nil {
				g.release()
			}
		}
		return "", nil, ctx.Err()
	}
}

// tryLocked picks a pod with the revision's policy. t.mu is held.
func (t *throttler) tryLocked() (grant, bool) {
	p, rel := t.pick(t.pods, t.cc, &t.rr)
	if p == nil {
		return grant{}, false
	}
	return grant{addr: p.addr, release: func() {
		t.mu.Lock()
		rel()
		t.dispatchLocked()
		t.mu.Unlock()
	}}, true
}

// dispatchLocked hands free pods to waiters, oldest first. t.mu is held.
func (t *throttler) dispatchLocked() {
	for t.waiters.Len() > 0 {
		g, ok := t.tryLocked()
		if !ok {
			return
		}
		w := t.waiters.Remove(t.waiters.Front()).(*waiter)
		w.elem = nil
		w.ch <- g
	}
}

// setFailure sets why the revision cannot serve (nil: it may). While it
// has no pod, held requests fail with err at once, and so do new ones.
func (t *throttler) setFailure(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = err
	if err == nil || len(t.all) > 0 {
		return
	}
	for t.waiters.Len() > 0 {
		w := t.waiters.Remove(t.waiters.Front()).(*waiter)
		w.elem = nil
		w.ch <- grant{err: err}
	}
}

// setPods replaces the healthy pods, keeping the in-flight counts of pods
// that stay; a pod that leaves is never chosen again. Held requests are
// released at once if a pod has room.
func (t *throttler) setPods(addrs []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := map[string]*pod{}
	for _, p := range t.all {
		old[p.addr] = p
	}
	pods := make([]*pod, 0, len(addrs))
	for _, a := range addrs {
		if p := old[a]; p != nil {
			pods = append(pods, p)
		} else {
			pods = append(pods, &pod{addr: a})
		}
	}
	slices.SortFunc(pods, func(a, b *pod) int { return strings.Compare(a.addr, b.addr) })
	t.all = pods
	t.assignLocked()
	t.dispatchLocked()
}

// setActivators sets this activator's index among the n activators serving
// the revision (-1 when it is not among them) and takes its share of the
// pods again.
func (t *throttler) setActivators(index, n int) (changed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if index == t.index && n == t.acts {
		return false
	}
	t.index, t.acts = index, n
	t.assignLocked()
	t.dispatchLocked()
	return true
}

// setCC changes the revision's containerConcurrency.
func (t *throttler) setCC(cc int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cc != t.cc {
		t.cc, t.pick = cc, policyFor(cc)
		t.assignLocked()
		t.dispatchLocked()
	}
}

// assignLocked takes this activator's share of the healthy pods: every pod
// when containerConcurrency is unlimited, else Knative's subset. A pod
// keeps the requests this activator has in flight to it as it moves in or
// out of the share; each pod of the share has room for containerConcurrency
// of them. t.mu is held.
func (t *throttler) assignLocked() {
	if t.cc > 0 {
		t.pods = assignPods(t.all, t.index, t.acts)
	} else {
		t.pods = t.all
	}
	if t.rr >= len(t.pods) {
		t.rr = 0
	}
}

// snapshot returns the healthy addresses and the number of held requests.
func (t *throttler) snapshot() (addrs []string, held int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.all {
		addrs = append(addrs, p.addr)
	}
	return addrs, t.waiters.Len()
}

// assigned returns the addresses of this activator's share of the pods.
func (t *throttler) assigned() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	addrs := make([]string, len(t.pods))
	for i, p := range t.pods {
		addrs[i] = p.addr
	}
	return addrs
}
