package backend

// Peers is one activator's view of the activators serving each revision:
// the runtime sets, per revision, the addresses of the activators its
// traffic goes through, and the activator reads them with its own
// address to find its share of the revision's pods. It is safe for
// concurrent use.
type Peers struct {
	acts Static
	self string
}

// NewPeers returns an empty Peers for the activator at address self.
func NewPeers(self string) *Peers {
	return &Peers{acts: Static{addrs: map[key][]string{}}, self: self}
}

// Set replaces the addresses of the activators serving a revision and
// notifies every watcher.
func (p *Peers) Set(namespace, revision string, activators []string) {
	p.acts.Set(namespace, revision, activators)
}

// Watch calls fn after every change until stop is called.
func (p *Peers) Watch(fn func(namespace, revision string)) (stop func()) {
	return p.acts.Watch(fn)
}

// Activators returns the activators serving a revision, sorted, and this
// activator's address. The caller must not modify the slice.
func (p *Peers) Activators(namespace, revision string) ([]string, string) {
	return p.acts.Addresses(namespace, revision), p.self
}
