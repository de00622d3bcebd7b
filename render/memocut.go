package render

import (
	"slices"

	"github.com/ebb-dev/ebb/serving"
)

// A state is cut into parts, each matched by key against the base's parts
// of the same kind (see Memo): a merge-join of two sorted lists.

// sameRefs are b's refs of every part not dropped, in order; none
// without a base.
func (b *memoState) sameRefs(dropped map[uint32]bool) []objRef {
	if b == nil {
		return nil
	}
	if len(dropped) == 0 {
		return b.refs
	}
	same := make([]objRef, 0, len(b.refs))
	for _, r := range b.refs {
		if !dropped[r.part] {
			same = append(same, r)
		}
	}
	return same
}

// keyed is a part with a key and an id: a ledgerPart or a dmPart.
type keyed[P any] interface {
	*P
	keyID() (partKey, uint32)
	// drop marks in dropped the part and its placeholders' part, if any.
	drop(dropped map[uint32]bool)
}

func (p *ledgerPart) keyID() (partKey, uint32) { return p.key, p.id }
func (p *dmPart) keyID() (partKey, uint32)     { return p.key, p.id }

func (p *ledgerPart) drop(dropped map[uint32]bool) {
	dropped[p.id], dropped[p.placeholders] = true, true
}
func (p *dmPart) drop(dropped map[uint32]bool) { dropped[p.id] = true }

// joinBase pairs each of keys, sorted, with the part of base (sorted by
// key) of the same key, nil when there is none, and marks in dropped the
// parts of base no key names.
func joinBase[P any, PP keyed[P]](keys []partKey, base []P, dropped map[uint32]bool) []PP {
	old := make([]PP, len(keys))
	j := 0
	for i, k := range keys {
		for ; j < len(base); j++ {
			if bk, _ := PP(&base[j]).keyID(); bk.compare(k) >= 0 {
				break
			}
			PP(&base[j]).drop(dropped)
		}
		if j < len(base) {
			if bk, _ := PP(&base[j]).keyID(); bk == k {
				old[i] = &base[j]
				j++
			}
		}
	}
	for ; j < len(base); j++ {
		PP(&base[j]).drop(dropped)
	}
	return old
}

// partID is the id of the part that takes o's place: o's, or a new one.
func partID[P any, PP keyed[P]](o PP, types *refTypes) uint32 {
	if o == nil {
		return types.newPart()
	}
	_, id := o.keyID()
	return id
}

// cutLedgers sets next's ledger parts and returns those to render again
// (new, changed, or reading a changed ledger), and those of which only
// the placeholder Services are rendered again (their load balancer alone
// moved), marking the base parts they replace in dropped; and which
// ledgers differ from the base's of their key.
func cutLedgers(base, next *memoState, ledgers []*serving.Ledger, paired []*serving.Service, dropped map[uint32]bool) (redo, rebalanced []*ledgerWork, newLedger []bool) {
	next.ledgers = make([]ledgerPart, len(ledgers))
	keys := make([]partKey, len(ledgers))
	for i, l := range ledgers {
		keys[i] = partKey{l.Namespace, l.Service}
		next.ledgers[i] = ledgerPart{key: keys[i], ledger: l, service: paired[i]}
	}
	var old []*ledgerPart
	if base != nil {
		old = joinBase(keys, base.ledgers, dropped)
	} else {
		old = make([]*ledgerPart, len(ledgers))
	}
	newLedger = make([]bool, len(ledgers)) // the ledger differs from the base's of its key
	for i, l := range ledgers {
		newLedger[i] = old[i] == nil || !same(old[i].ledger, l)
	}
	for i := range next.ledgers {
		p, o := &next.ledgers[i], old[i]
		p.id = partID(o, next.types)
		if o == nil {
			p.placeholders = next.types.newPart()
		} else {
			p.placeholders = o.placeholders
		}
		switch {
		case o == nil || newLedger[i] || !same(o.service, p.service) || changedDeps(ledgers, newLedger, o.deps):
			redo = append(redo, &ledgerWork{part: p})
			if o != nil {
				o.drop(dropped)
			}
			continue
		case p.service != nil && base.rebalanced(next.programmed, p.key):
			rebalanced = append(rebalanced, &ledgerWork{part: p})
			dropped[o.placeholders] = true
		}
		p.deps = o.deps
	}
	return redo, rebalanced, newLedger
}

// cutDMs sets next's DomainMapping parts and returns those to render
// again, marking the base parts they replace in dropped.
func cutDMs(base, next *memoState, ledgers []*serving.Ledger, dms []*serving.DomainMapping, newLedger []bool, dropped map[uint32]bool) []*dmWork {
	next.dms = make([]dmPart, len(dms))
	keys := make([]partKey, len(dms))
	for i, dm := range dms {
		keys[i] = partKey{dm.Namespace, dm.Name}
	}
	var old []*dmPart
	if base != nil {
		old = joinBase(keys, base.dms, dropped)
	} else {
		old = make([]*dmPart, len(dms))
	}
	var redo []*dmWork
	for i, dm := range dms {
		p, o := &next.dms[i], old[i]
		*p = dmPart{key: keys[i], dm: dm}
		target := -1
		if ns, name, ok := domainMappingTarget(dm); ok {
			if t, found := findLedger(ledgers, partKey{ns, name}); found {
				target = t
				p.target = ledgers[t]
			}
		}
		p.id = partID(o, next.types)
		// o.target, when set, is the base's ledger of target's key when
		// the DomainMapping is the same, so newLedger says whether the
		// target changed.
		if o == nil || !same(o.dm, dm) || (o.target == nil) != (target < 0) || (target >= 0 && newLedger[target]) || changedDeps(ledgers, newLedger, o.deps) {
			redo = append(redo, &dmWork{part: p})
			if o != nil {
				dropped[o.id] = true
			}
			continue
		}
		p.deps = o.deps
	}
	return redo
}

// rebalanced reports whether the load balancer the edge of k's route
// reports in programmed differs from the one b's placeholders followed.
func (b *memoState) rebalanced(programmed serving.Programmed, k partKey) bool {
	if len(programmed) == 0 && len(b.programmed) == 0 {
		return false
	}
	return !routeBalancer(programmed, k.namespace, k.name).Equal(routeBalancer(b.programmed, k.namespace, k.name))
}

// findLedger is the index of the ledger of key k in sorted ledgers.
func findLedger(ledgers []*serving.Ledger, k partKey) (int, bool) {
	return slices.BinarySearchFunc(ledgers, k, func(l *serving.Ledger, k partKey) int {
		return partKey{l.Namespace, l.Service}.compare(k)
	})
}

// changedDeps reports whether one of deps is a ledger that is gone or
// differs from the base's (newLedger, by index in ledgers).
func changedDeps(ledgers []*serving.Ledger, newLedger []bool, deps []partKey) bool {
	return slices.ContainsFunc(deps, func(k partKey) bool {
		i, found := findLedger(ledgers, k)
		return !found || newLedger[i]
	})
}
