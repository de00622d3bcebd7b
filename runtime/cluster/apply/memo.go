package apply

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// memo is what the last Apply of one source knew, kept in memory between
// passes: the inventory it stored and the resourceVersion it got, the
// intent digest of every object it applied or found unchanged, and when it
// last compared every object with its live copy.
type memo struct {
	rv      string
	inv     Inventory
	digests map[Ref]string
	full    time.Time
}

// known returns the source's memo: while the inventory's resourceVersion
// is the memo's, the inventory need not be read again.
func (s *SSA) known(source string) (*memo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.memos[source]
	return m, m != nil && m.rv != ""
}

// skip reports whether u, whose intent digest is digest, can be taken as
// unchanged without reading it: the memo is trusted (see trusted), the
// last apply recorded the same digest, and the inventory lists u with the
// fields it owns.
func (m *memo) skip(u *unstructured.Unstructured, digest string, inv Inventory) (Entry, bool) {
	if m == nil {
		return Entry{}, false
	}
	r := RefOf(u)
	if m.digests[r] != digest {
		return Entry{}, false
	}
	e, ok := inv.Lookup(r)
	if !ok || e.Fields == "" || e.Version != u.GroupVersionKind().Version {
		return Entry{}, false
	}
	return e, true
}

// same returns the inventory entries of the objects ApplyChanged was told
// are unchanged, or ErrFullPass when m is not trusted (nil) or does not
// remember one of them as applied with the inventory's API version.
func (m *memo) same(same []Entry, inv Inventory) ([]Entry, error) {
	if m == nil {
		return nil, ErrFullPass
	}
	out := make([]Entry, 0, len(same))
	for _, s := range same {
		e, ok := inv.Lookup(s.Ref)
		if _, known := m.digests[s.Ref]; !known || !ok || e.Fields == "" || e.Version != s.Version {
			return nil, fmt.Errorf("%w: %s is not as last applied", ErrFullPass, s.Ref)
		}
		out = append(out, e)
	}
	return out, nil
}

// trusted returns the source's memo when an Apply at now may rely on it:
// it exists, the stored inventory is the very one it wrote (the same
// resourceVersion: no one else applied for the source since), and its last full pass is less
// than Options.FullEvery old. Otherwise the pass is full: every object is
// compared with its live copy.
func (s *SSA) trusted(source string, prev stored, now time.Time) *memo {
	if s.opts.FullEvery < 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.memos[source]
	if m == nil || !prev.exists || m.rv != prev.rv || now.Sub(m.full) >= s.opts.FullEvery || now.Before(m.full) {
		return nil
	}
	return m
}

// Forget drops what earlier Applies remembered, so that the next Apply of
// every source is a full one: after a time in which this process did not
// apply (another replica led), objects may have drifted while the stored
// inventory stayed byte for byte the same.
func (s *SSA) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.memos)
}

// remember stores the memo of an Apply, or forgets the source (m nil).
func (s *SSA) remember(source string, m *memo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m == nil {
		delete(s.memos, source)
		return
	}
	s.memos[source] = m
}
