package backend

import (
	"slices"
	"sync"
)

// Peers is one activator's view of the activators serving each revision:
// the runtime sets, per revision, the addresses of the activators its
// traffic goes through, and the activator reads them with its own
// address to find its share of the revision's pods. It is safe for
// concurrent use.
type Peers struct {
	watchers
	self string

	mu   sync.RWMutex
	acts map[key][]string
}

// NewPeers returns an empty Peers for the activator at address self.
func NewPeers(self string) *Peers {
	return &Peers{self: self, acts: map[key][]string{}}
}

// Set replaces the addresses of the activators serving a revision and
// notifies every watcher.
func (p *Peers) Set(namespace, revision string, activators []string) {
	activators = slices.Clone(activators)
	slices.Sort(activators)
	p.mu.Lock()
	if len(activators) == 0 {
		delete(p.acts, key{namespace, revision})
	} else {
		p.acts[key{namespace, revision}] = activators
	}
	p.mu.Unlock()
	p.notify(namespace, revision)
}

// Activators returns the activators serving a revision, sorted, and this
// activator's address. The caller must not modify the slice.
func (p *Peers) Activators(namespace, revision string) ([]string, string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.acts[key{namespace, revision}], p.self
}
