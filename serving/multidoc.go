package serving

// A Service written twice in one file: kubectl apply -f applies a file's
// documents in turn, so the earlier documents make their revisions and
// the last one is the Service.

// replaceService makes it the Service of its name when an earlier
// document of the same file defined that Service. kubectl apply applies a
// file's documents one after the other: the earlier ones make their
// revisions, the last one is the Service (see plan).
func (l *loader) replaceService(it *item) bool {
	t := l.tree
	for i, s := range t.Services {
		prev := t.items[s]
		if prev == nil || prev.ref != it.ref {
			continue
		}
		t.earlier[it.svc] = append(append([]*item(nil), t.earlier[s]...), prev)
		delete(t.earlier, s)
		delete(t.items, s)
		t.Services[i], t.items[it.svc], t.Sources[it.ref] = it.svc, it, it.src
		return true
	}
	return false
}

// planEarlier makes the revision of an earlier document of the Service
// unless the ledger has a revision of its template (of its name, when it
// names one). Its traffic is not planned: the last document's is.
func (p *planner) planEarlier(e *item, code Code) {
	p.newLedger()
	sums := code.of(e.ko)
	hash := combineHash(e.hash, sums)
	name := e.svc.Spec.Template.Name
	for _, r := range p.next.Revisions {
		if r.Hash == hash && (name == "" || r.Name == name) {
			return
		}
	}
	pe := &planner{svc: e.svc, hash: hash, code: sums, at: p.at, seen: p.seen, cfg: p.cfg, next: p.next, taken: p.taken}
	pe.planRevision()
	p.errs, p.changes = append(p.errs, pe.errs...), append(p.changes, pe.changes...)
}
