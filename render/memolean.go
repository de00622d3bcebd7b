package render

import (
	"maps"
	"slices"

	"github.com/ebb-dev/ebb/serving"
)

// leanChunk is about how many Services, ledgers and DomainMappings
// RenderLean renders at once: whole namespaces are added to a chunk until
// it holds at least this many. A variable for tests.
var leanChunk = 128

// RenderLean is Render for a caller that renders the objects again itself
// when it needs them, a namespace at a time (what one namespace renders
// depends on nothing in another). When Render would render everything or
// much of it — there is no base, Config or Gateways changed, or more than
// a chunk of Services and ledgers are new values (an image bumped in every
// Service) — and the state spans more than one chunk of namespaces,
// RenderLean renders it chunk by chunk and keeps only the names: the
// Delta has neither Objects nor Same, and Keep makes its state the base
// as it would Render's. A state never holds more than one chunk's objects
// at once. Otherwise, or with Whole set, RenderLean is Render.
//
// Errors are Render's, with the same messages in the same order. (The
// chunks are rendered to names only, never converted to unstructured
// form: converting the typed objects render builds does not fail.)
func (m *Memo) RenderLean(in Input) (*Delta, error) {
	if err := m.CheckHosts(in); err != nil {
		return nil, err
	}
	if m.Whole || m.base != nil && sameConfig(m.base.cfg, in.Config) && sameGateways(m.base.gw, in.Gateways) && !m.base.manyNew(in) {
		return m.render(in)
	}
	steps := leanSteps(in)
	if len(steps) < 2 {
		return m.render(in)
	}
	// Each step is the state so far and one chunk more: rendered relative
	// to the step before, only the new chunk renders, and only to its
	// objects' names (they are never converted): the names join the base
	// of the next step.
	var state *memoState
	for _, step := range steps {
		d, cut, err := renderFrom(state, step, true)
		if !cut || err != nil {
			// A state that cannot be cut, or does not render: Render's
			// answer, errors in its order, comes from the whole.
			return m.render(in)
		}
		state = d.state
	}
	return &Delta{state: state}, nil
}

// manyNew reports whether more than leanChunk of in's Services and
// ledgers are not the base's: pointers only, so an equal copy counts as
// new (the cost is a lean render, never a wrong one).
func (b *memoState) manyNew(in Input) bool {
	old := make(map[any]bool, 2*len(b.ledgers))
	for _, p := range b.ledgers {
		old[p.ledger] = true
		if p.service != nil {
			old[p.service] = true
		}
	}
	n := 0
	for _, l := range in.Ledgers {
		if !old[l] {
			n++
		}
	}
	for _, s := range in.Services {
		if !old[s] {
			n++
		}
	}
	return n > leanChunk
}

// leanSteps cuts in into growing inputs: the first holds the pass-through
// objects and a first chunk of namespaces, each next one a chunk more, the
// last all of in. Every step shares in's pointers; nil when in is one
// chunk.
func leanSteps(in Input) []Input {
	count := map[string]int{}
	for _, s := range in.Services {
		count[s.Namespace]++
	}
	for _, l := range in.Ledgers {
		count[l.Namespace]++
	}
	for _, dm := range in.DomainMappings {
		count[dm.Namespace]++
	}
	// chunkOf numbers the chunks in namespace order.
	chunkOf := map[string]int{}
	chunks, size := 0, 0
	for _, ns := range slices.Sorted(maps.Keys(count)) {
		if size >= leanChunk {
			chunks, size = chunks+1, 0
		}
		chunkOf[ns] = chunks
		size += count[ns]
	}
	if size > 0 {
		chunks++
	}
	if chunks < 2 {
		return nil
	}
	// Ordered by chunk, the parts of the first i+1 chunks are a prefix.
	services := byChunk(in.Services, chunks, func(s *serving.Service) int { return chunkOf[s.Namespace] })
	ledgers := byChunk(in.Ledgers, chunks, func(l *serving.Ledger) int { return chunkOf[l.Namespace] })
	dms := byChunk(in.DomainMappings, chunks, func(dm *serving.DomainMapping) int { return chunkOf[dm.Namespace] })
	steps := make([]Input, chunks)
	for i := range steps {
		steps[i] = Input{
			Services:       services.prefix(i),
			Ledgers:        ledgers.prefix(i),
			DomainMappings: dms.prefix(i),
			Config:         in.Config,
			Gateways:       in.Gateways,
			Programmed:     in.Programmed,
			Objects:        in.Objects,
		}
	}
	return steps
}

// chunked is a slice ordered by chunk, with where each chunk ends.
type chunked[T any] struct {
	items []T
	ends  []int
}

func byChunk[T any](items []T, chunks int, chunk func(T) int) chunked[T] {
	c := chunked[T]{items: slices.Clone(items), ends: make([]int, chunks)}
	slices.SortStableFunc(c.items, func(a, b T) int { return chunk(a) - chunk(b) })
	for _, it := range items {
		c.ends[chunk(it)]++
	}
	for i := 1; i < chunks; i++ {
		c.ends[i] += c.ends[i-1]
	}
	return c
}

// prefix is the items of chunks 0 to i.
func (c chunked[T]) prefix(i int) []T { return c.items[:c.ends[i]:c.ends[i]] }
