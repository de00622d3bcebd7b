package backend

import (
	"slices"
	"sync"
)

type key struct{ ns, rev string }

// Static is a set of revisions' addresses, changed with Set. It is safe for
// concurrent use.
type Static struct {
	watchers
	mu    sync.RWMutex
	addrs map[key][]string
}

// NewStatic returns an empty Static.
func NewStatic() *Static {
	return &Static{addrs: map[key][]string{}}
}

// Set replaces the addresses (host:port) of a revision and notifies every
// watcher.
func (s *Static) Set(namespace, revision string, addrs []string) {
	addrs = slices.Clone(addrs)
	slices.Sort(addrs)
	s.mu.Lock()
	if len(addrs) == 0 {
		delete(s.addrs, key{namespace, revision})
	} else {
		s.addrs[key{namespace, revision}] = addrs
	}
	s.mu.Unlock()
	s.notify(namespace, revision)
}

// Addresses returns the addresses of a revision, sorted. The caller must
// not modify the slice.
func (s *Static) Addresses(namespace, revision string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.addrs[key{namespace, revision}]
}

// watchers calls functions registered with Watch on every change. The zero
// value is ready to use.
type watchers struct {
	mu   sync.Mutex
	fns  map[int]func(namespace, revision string)
	next int
}

// Watch calls fn after every change until stop is called.
func (w *watchers) Watch(fn func(namespace, revision string)) (stop func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = map[int]func(string, string){}
	}
	id := w.next
	w.next++
	w.fns[id] = fn
	return func() {
		w.mu.Lock()
		delete(w.fns, id)
		w.mu.Unlock()
	}
}

// notify calls every watcher, outside the lock.
func (w *watchers) notify(namespace, revision string) {
	w.mu.Lock()
	fns := make([]func(string, string), 0, len(w.fns))
	for _, fn := range w.fns {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn(namespace, revision)
	}
}
