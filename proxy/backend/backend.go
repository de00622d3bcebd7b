package backend

import (
	"slices"
	"sync"
)

type key struct{ ns, rev string }

// Static is a set of revisions' addresses, changed with Set. It is safe for
// concurrent use.
type Static struct {
	mu       sync.RWMutex
	addrs    map[key][]string
	watchers map[int]func(namespace, revision string)
	next     int
}

// NewStatic returns an empty Static.
func NewStatic() *Static {
	return &Static{addrs: map[key][]string{}, watchers: map[int]func(string, string){}}
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
	ws := make([]func(string, string), 0, len(s.watchers))
	for _, w := range s.watchers {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w(namespace, revision)
	}
}

// Addresses returns the addresses of a revision, sorted. The caller must
// not modify the slice.
func (s *Static) Addresses(namespace, revision string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.addrs[key{namespace, revision}]
}

// Watch calls fn after every Set until stop is called.
func (s *Static) Watch(fn func(namespace, revision string)) (stop func()) {
	s.mu.Lock()
	id := s.next
	s.next++
	s.watchers[id] = fn
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.watchers, id)
		s.mu.Unlock()
	}
}
