package serving

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving/config"
)

// ChangeKind classifies a ledger change.
type ChangeKind string

// The kinds of ledger change.
const (
	ChangeRevision   ChangeKind = "revision"    // a new revision
	ChangeRollback   ChangeKind = "rollback"    // an existing (BYO-named) revision is latest again
	ChangeTraffic    ChangeKind = "traffic"     // the resolved traffic changed
	ChangeRetired    ChangeKind = "retired"     // a revision stopped being routed
	ChangeRemoved    ChangeKind = "removed"     // the Service left the tree
	ChangeRestored   ChangeKind = "restored"    // a removed Service is back
	ChangeReady      ChangeKind = "ready"       // the latest revision became ready
	ChangeCanary     ChangeKind = "canary"      // an analysed canary started, stepped or held
	ChangePromote    ChangeKind = "promote"     // a canary took the full share
	ChangeRolledBack ChangeKind = "rolled-back" // a canary was rolled back
	ChangeGradual    ChangeKind = "rollout"     // a gradual rollout started, changed or ended
	ChangeCode       ChangeKind = "code"        // the latest revision records its code
)

// Observed is what the runtime has seen of the revisions it runs: an
// input of planning, like the stamp, so that planning stays a function of
// its inputs. The zero Observed has seen nothing.
type Observed struct {
	// Ready reports whether a revision has become ready (a pod of it
	// passed its readiness probe at least once, and, in a cluster, its
	// public Service has endpoints); nil knows of none.
	Ready func(namespace, revision string) bool
	// Now is the runtime's clock when it planned: analysed canaries are
	// stepped and judged at it. Zero judges no canary.
	Now time.Time
	// Since is when the runtime began to observe: figures before it are
	// not known, so a canary is judged only a whole period after it.
	Since time.Time
	// Figures reports a revision's traffic over [from, to); nil knows of
	// none.
	Figures func(namespace, revision string, from, to time.Time) metric.Figures
	// Programmed are what the controllers programming routes ebb does not
	// serve itself report of them: a gradual rollout steps past a share
	// only once its edge has programmed it. Nil holds none.
	Programmed Programmed
}

func (o Observed) ready(namespace, revision string) bool {
	return o.Ready != nil && revision != "" && o.Ready(namespace, revision)
}

// Pending reports whether planning l's Service with o would record its
// latest revision as ready, its canary has a step or check due, or its
// gradual rollout has ended: a pass is due even if nothing else changed.
func (o Observed) Pending(l *Ledger) bool {
	if l.Removed != nil {
		return false
	}
	return (l.Latest != l.LatestReady && o.ready(l.Namespace, l.Latest)) || o.rolloutDue(l) || o.gradualEnded(l)
}

// Change is one ledger change, in words fit for a commit message.
type Change struct {
	Namespace string
	Service   string
	Kind      ChangeKind
	// Revision is the revision the change is about, if one.
	Revision string
	// Message says what changed, e.g. "new revision hello-00002" or
	// "hello-00002 at 10% (latestRevision), hello-00001 at 90%".
	Message string
}

// String is "namespace/service: message".
func (c Change) String() string { return c.Namespace + "/" + c.Service + ": " + c.Message }

// Plan computes the next ledgers from the Services of a tree and their
// previous ledgers, stamping what changed with at. It is pure: the same
// input gives the same output, and planning its own output again with any
// stamp changes nothing. next holds one ledger per Service and per
// removed Service, sorted by namespace and name. On error (an ErrorList of
// FieldErrors naming their Service), next and changes are nil.
//
// latestRevision traffic goes to the newest revision seen ready (Knative's
// latestReadyRevisionName): a new revision that is not ready yet serves
// only its tags, and the one before keeps its traffic. seen says which
// revisions have become ready; the ledger records it, so the traffic
// holds across restarts.
//
// A Service that rolls out analysed (canary.ebb.dev/ annotations, or
// config-rollout in the tree's configuration) moves its new revision's
// latestRevision share step by step (see package canary), from seen's
// figures at seen.Now; Plan uses the default configuration.
func Plan(services []*Service, ledgers []*Ledger, at Stamp, seen Observed) (next []*Ledger, changes []Change, err error) {
	return plan(services, ledgers, at, seen, nil, nil, nil, config.Default())
}

// plan is Plan with the code of the Services' ko:// images, and their
// decoded documents known (nil for a Service not loaded through a Tree):
// their template hashes, and the ledger each last planned against without
// a change. Planning a Service
// reads nothing but the Service and its ledger when it changes nothing
// (the stamp and the names other Services took matter only to a new
// revision or a traffic change), so such a pair is not planned again: its
// ledger is shared, not copied and compared.
//
// earlier holds the documents of a file that defined a Service before the
// one planned: their revisions are made first, as kubectl apply would make
// them applying the file, unless the ledger has them already.
func plan(services []*Service, ledgers []*Ledger, at Stamp, obs Observed, code Code, items map[*Service]*item, earlier map[*Service][]*item, cfg *config.Config) (next []*Ledger, changes []Change, err error) {
	prev := map[string]*Ledger{}
	for _, l := range ledgers {
		prev[l.Namespace+"/"+l.Service] = l
	}
	// Revision names are Kubernetes names: unique in a namespace across
	// Services. taken maps namespace/revision to its Service.
	taken := map[string]string{}
	for _, l := range ledgers {
		for _, r := range l.Revisions {
			taken[l.Namespace+"/"+r.Name] = l.Service
		}
	}
	services = slices.Clone(services)
	sort.SliceStable(services, func(i, j int) bool {
		return services[i].Namespace+"/"+services[i].Name < services[j].Namespace+"/"+services[j].Name
	})
	var errs ErrorList
	seen := map[string]bool{}
	for _, s := range services {
		key := s.Namespace + "/" + s.Name
		if seen[key] {
			errs = append(errs, &FieldError{Object: ServiceRef(s.Namespace, s.Name), Path: "metadata.name", Message: "Service is defined twice"})
			continue
		}
		seen[key] = true
		it, old := items[s], prev[key]
		var hash string
		var sums map[string]string
		if it != nil {
			if st := it.settled.Load(); old != nil && st != nil && st.ledger == old && st.same(it.ko, code) && !obs.Pending(old) {
				next = append(next, old)
				continue
			}
			sums = code.of(it.ko)
			hash = combineHash(it.hash, sums)
		} else {
			sums = code.of(KoImages(&s.Spec.Template))
			hash = RevisionHash(&s.Spec.Template, sums)
		}
		p := &planner{svc: s, hash: hash, code: sums, at: at, seen: obs, cfg: cfg, next: old.DeepCopy(), wasNamed: old.Named(), taken: taken}
		for _, e := range earlier[s] {
			p.planEarlier(e, code)
		}
		p.plan()
		errs = append(errs, p.errs...)
		if old != nil && len(p.errs) == 0 && len(p.changes) == 0 && reflect.DeepEqual(old, p.next) {
			// Unchanged: the planned ledger is the one read, shared
			// rather than held twice.
			p.next = old
			if it != nil {
				it.settled.Store(&settled{ledger: old, code: p.code})
			}
		}
		next, changes = append(next, p.next), append(changes, p.changes...)
	}
	for _, l := range ledgers {
		if seen[l.Namespace+"/"+l.Service] {
			continue
		}
		n, c := remove(l, at)
		next, changes = append(next, n), append(changes, c...)
	}
	if len(errs) > 0 {
		return nil, nil, errs.Err()
	}
	sort.SliceStable(next, func(i, j int) bool {
		return next[i].Namespace+"/"+next[i].Service < next[j].Namespace+"/"+next[j].Service
	})
	return next, changes, nil
}

// Plan plans the tree's Services against its ledgers; errors are located
// in the tree's files.
func (t *Tree) Plan(at Stamp, seen Observed) ([]*Ledger, []Change, error) {
	next, changes, err := plan(t.Services, t.Ledgers, at, seen, t.Code, t.items, t.earlier, t.Config)
	if err != nil {
		return nil, nil, t.Locate(err)
	}
	return next, changes, nil
}

type planner struct {
	svc *Service
	// hash is the revision hash of svc's template and code, code the
	// digests of its ko:// images (RevisionHash).
	hash string
	code map[string]string
	at   Stamp
	seen Observed
	cfg  *config.Config
	// minted is the revision planning made latest (new, or a BYO name
	// latest again), if it did.
	minted string
	// wasNamed is what the previous ledger's routes named (Ledger.Named).
	wasNamed map[string]bool
	next     *Ledger
	taken    map[string]string
	errs     ErrorList
	changes  []Change
}

func (p *planner) errorf(path, details, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{
		Object: ServiceRef(p.svc.Namespace, p.svc.Name), Path: path,
		Message: fmt.Sprintf(format, args...), Details: details,
	})
}

func (p *planner) change(kind ChangeKind, rev, format string, args ...any) {
	p.changes = append(p.changes, Change{
		Namespace: p.svc.Namespace, Service: p.svc.Name, Kind: kind, Revision: rev,
		Message: fmt.Sprintf(format, args...),
	})
}

func (p *planner) find(name string) *Revision {
	for i := range p.next.Revisions {
		if p.next.Revisions[i].Name == name {
			return &p.next.Revisions[i]
		}
	}
	return nil
}

// newLedger starts the ledger of a Service that has none.
func (p *planner) newLedger() {
	if p.next == nil {
		p.next = &Ledger{
			APIVersion: LedgerAPIVersion, Kind: LedgerKind,
			Namespace: p.svc.Namespace, Service: p.svc.Name,
			Revisions: []Revision{}, Traffic: []Target{},
		}
	}
}

func (p *planner) plan() {
	p.newLedger()
	if p.next.Removed != nil {
		p.next.Removed = nil
		p.change(ChangeRestored, "", "service is back")
	}
	p.noteReady()
	stable := p.readyRouted()
	if !p.revert() {
		p.planRevision()
	}
	if len(p.errs) > 0 {
		return
	}
	p.noteReady()
	p.planRollout(stable)
	p.planGradual()
	p.planTraffic()
	if len(p.errs) > 0 {
		return
	}
	p.retire()
}

// revisionHash is the hash of the Service's template and the code of its
// ko:// images (RevisionHash).
func (p *planner) revisionHash() string {
	if p.hash == "" {
		p.hash = RevisionHash(&p.svc.Spec.Template, p.code)
	}
	return p.hash
}

// planRevision makes or reuses the revision of the current template.
func (p *planner) planRevision() {
	s, l := p.svc, p.next
	tmpl := &s.Spec.Template
	hash := p.revisionHash()
	latest := p.find(l.Latest)
	if latest != nil && latest.Hash == hash {
		return
	}
	if latest != nil && p.adoptCode(latest) {
		return
	}
	if l.Generation < 0 || l.Generation >= MaxGeneration {
		p.errorf("spec.template", "", "a new revision needs generation %d, and a ledger holds at most %d", uint64(l.Generation)+1, int64(MaxGeneration))
		return
	}
	name := tmpl.Name
	const namePath = "spec.template.metadata.name"
	if name != "" {
		if !strings.HasPrefix(name, s.Name+"-") {
			p.errorf(namePath, "", "%q must have prefix %q", name, s.Name+"-")
			return
		}
		if latest != nil && latest.Name == name {
			details := templateDiff(&latest.Template, tmpl)
			details += codeDiff(latest.Code, p.code)
			p.errorf(namePath, details, "Saw the following changes without a name change (-old +new)")
			return
		}
		if r := p.find(name); r != nil {
			if r.Hash != hash {
				p.errorf(namePath, "", "The revision name %q is taken by a conflicting Revision, so traffic will not be migrated", name)
				return
			}
			l.Generation++
			l.Latest = name
			p.change(ChangeRollback, name, "revision %s is latest again", name)
			p.minted = name
			return
		}
	} else {
		name = RevisionName(s.Name, l.Generation+1)
		if p.find(name) != nil {
			p.errorf(namePath, "", "The revision name %q is taken by a conflicting Revision, so traffic will not be migrated", name)
			return
		}
	}
	if owner, ok := p.taken[s.Namespace+"/"+name]; ok && owner != s.Name {
		p.errorf(namePath, "", "The revision name %q is taken by a conflicting Revision, so traffic will not be migrated", name)
		return
	}
	p.taken[s.Namespace+"/"+name] = s.Name
	l.Generation++
	l.Revisions = append(l.Revisions, Revision{
		Name:       name,
		Generation: l.Generation,
		Hash:       hash,
		Code:       maps.Clone(p.code),
		Created:    *p.at.DeepCopy(),
		Template:   *tmpl.DeepCopy(),
	})
	l.Latest = name
	p.change(ChangeRevision, name, "new revision %s", name)
	p.minted = name
}

// noteReady records the latest revision as the latest ready one once it
// has become ready. Before the template's revision is planned, this
// records the revision that was latest until now, which a ledger written
// before ebb recorded readiness has not marked.
func (p *planner) noteReady() {
	l := p.next
	if l.Latest == l.LatestReady || !p.seen.ready(l.Namespace, l.Latest) {
		return
	}
	l.LatestReady = l.Latest
	p.change(ChangeReady, l.Latest, "revision %s is ready", l.Latest)
}

// planTraffic resolves spec.traffic to revision names.
func (p *planner) planTraffic() {
	l := p.next
	out := []Target{}
	split, gradual := p.canarySplit(), p.gradualSplit()
	for i, t := range DefaultTraffic(p.svc.Spec.Traffic) {
		name := t.RevisionName
		if *t.LatestRevision {
			name = l.LatestRouted()
		} else if p.find(name) == nil {
			p.errorf(fmt.Sprintf("spec.traffic[%d].revisionName", i), "", "Revision %q referenced in traffic not found.", name)
			continue
		}
		target := Target{Tag: t.Tag, RevisionName: name, LatestRevision: *t.LatestRevision, Percent: *t.Percent}
		for _, t := range split(target) {
			out = append(out, gradual(t)...)
		}
	}
	if len(p.errs) > 0 || slices.Equal(l.Traffic, out) {
		return
	}
	l.Traffic = out
	p.change(ChangeTraffic, "", "%s", FormatTraffic(out))
}

// retire follows Knative's routing states: a revision the routes name
// (Ledger.Named) is active and has no retired stamp; one they named
// before this plan and no longer name is stamped retired (reserve); one
// never named yet keeps no stamp (pending), as does the latest while no
// route ever named it.
func (p *planner) retire() {
	named := p.next.Named()
	for i := range p.next.Revisions {
		r := &p.next.Revisions[i]
		switch {
		case named[r.Name]:
			r.Retired = nil
		case r.Retired == nil && p.wasNamed[r.Name]:
			r.Retired = p.at.DeepCopy()
			p.change(ChangeRetired, r.Name, "revision %s retired (no traffic, no tag)", r.Name)
		}
	}
}

// remove withdraws the routes of a Service that left the tree; its
// revisions stay for garbage collection.
func remove(prev *Ledger, at Stamp) (*Ledger, []Change) {
	l := prev.DeepCopy()
	if l.Removed != nil {
		return l, nil
	}
	l.Removed = at.DeepCopy()
	l.Traffic = []Target{}
	l.Gradual = nil
	for i := range l.Revisions {
		if l.Revisions[i].Retired == nil {
			l.Revisions[i].Retired = at.DeepCopy()
		}
	}
	return l, []Change{{Namespace: l.Namespace, Service: l.Service, Kind: ChangeRemoved,
		Message: "service removed: routes withdrawn, revisions kept for garbage collection"}}
}

// templateDiff is the (-old +new) diff of two templates, as plain values.
func templateDiff(old, new *RevisionTemplateSpec) string {
	return cmp.Diff(plain(old), plain(new))
}

func plain(v any) any {
	var out any
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		return err.Error()
	}
	return out
}
