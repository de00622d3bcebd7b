package render

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// HostUse is one host a route of a state serves, and the object whose
// route serves it.
type HostUse struct {
	Host      string
	Namespace string
	Kind      string // serving.KindService or serving.KindDomainMapping
	Name      string
	// Local is set for a cluster-local name of the object's own namespace
	// in a cluster-local rule (route.IsLocalName): the namespace owns it
	// by construction and needs no claim.
	Local bool
	// Since is when the route's Service got its first revision (the first
	// revision of its ledger; for a DomainMapping, its target's): the
	// order of first come among uses that no claim decides. Zero when
	// unknown.
	Since time.Time
}

// Ref names the object of the use.
func (u HostUse) Ref() serving.ObjectRef {
	return serving.ObjectRef{Group: serving.Group, Kind: u.Kind, Namespace: u.Namespace, Name: u.Name}
}

// compare orders uses of one host by precedence: a known Since before an
// unknown one, the earlier Since first, then by namespace, kind and name.
func (u HostUse) compare(o HostUse) int {
	if u.Since.IsZero() != o.Since.IsZero() {
		if u.Since.IsZero() {
			return 1
		}
		return -1
	}
	return cmp.Or(u.Since.Compare(o.Since), strings.Compare(u.Namespace, o.Namespace),
		strings.Compare(u.Kind, o.Kind), strings.Compare(u.Name, o.Name))
}

// HostUses returns every host the routes of in serve, as Render renders
// them, in input order. Services and DomainMappings that render no route
// (removed, nothing routed, an unresolved target) use no host; routes that
// fail to render are left to Render to report.
func HostUses(in Input) []HostUse {
	var c hostCache
	return c.uses(in)
}

// hostCache keeps the host uses of each Service of the last state it saw,
// by pointer: a Service whose pointer and ledger pointer are those of the
// last state, under the same configuration, is not computed again (a push
// changes a few Services of many).
type hostCache struct {
	cfg  *config.Config
	svcs map[*serving.Service]servedHosts
}

type servedHosts struct {
	ledger *serving.Ledger
	uses   []HostUse
}

func (c *hostCache) uses(in Input) []HostUse {
	cfg := newRenderer(in.Config, in.Gateways).cfg
	if c.svcs == nil || !sameConfig(c.cfg, in.Config) {
		c.svcs = nil
	}
	ledgers := make(map[[2]string]*serving.Ledger, len(in.Ledgers))
	for _, l := range in.Ledgers {
		ledgers[[2]string{l.Namespace, l.Service}] = l
	}
	next := make(map[*serving.Service]servedHosts, len(in.Services))
	out := make([]HostUse, 0, 4*len(in.Services)+len(in.DomainMappings))
	for _, s := range in.Services {
		l := ledgers[[2]string{s.Namespace, s.Name}]
		h, ok := c.svcs[s]
		if !ok || h.ledger != l {
			h = servedHosts{ledger: l, uses: serviceUses(s, l, cfg)}
		}
		next[s] = h
		out = append(out, h.uses...)
	}
	c.cfg, c.svcs = in.Config, next
	for _, dm := range in.DomainMappings {
		ns, name, ok := domainMappingTarget(dm)
		l := ledgers[[2]string{ns, name}]
		if !ok || l == nil || l.Removed != nil {
			continue
		}
		if _, ok := domainMappingRoute(dm, l.Traffic); ok {
			out = append(out, HostUse{Host: dm.Name, Namespace: dm.Namespace, Kind: serving.KindDomainMapping, Name: dm.Name, Since: firstRevision(l)})
		}
	}
	return out
}

// serviceUses are the hosts of serviceRoute's rules, without building
// their paths: the main route's when some traffic has a share, and every
// tag's.
func serviceUses(s *serving.Service, l *serving.Ledger, cfg *config.Config) []HostUse {
	if l == nil || l.Removed != nil {
		return nil
	}
	names, routed := []trafficName{{}}, false
	for _, t := range l.Traffic {
		routed = routed || t.Percent > 0
		if t.Tag != "" {
			names = append(names, trafficName{tag: t.Tag})
		}
	}
	hs, err := routeHosts(cfg, &s.ObjectMeta, names)
	if err != nil {
		return nil
	}
	since := firstRevision(l)
	var out []HostUse
	for i, h := range hs {
		if i == 0 && !routed {
			continue
		}
		if h.external != "" {
			out = append(out, HostUse{Host: h.external, Namespace: s.Namespace, Kind: serving.KindService, Name: s.Name, Since: since})
		}
		for _, lh := range h.localHosts() {
			out = append(out, HostUse{Host: lh, Namespace: s.Namespace, Kind: serving.KindService, Name: s.Name, Since: since, Local: true})
		}
	}
	return out
}

// firstRevision is when a ledger's first revision was made.
func firstRevision(l *serving.Ledger) time.Time {
	if len(l.Revisions) == 0 {
		return time.Time{}
	}
	return l.Revisions[0].Created.Time.Time
}

// HostRefusal is a use of a host that another namespace owns: its route
// is not served for that host.
type HostRefusal struct {
	HostUse
	// Owner is the namespace that owns the host.
	Owner string
	// By is the use that holds it when it is one of the same state.
	By *HostUse
}

// Message says why, without naming the owner: the refused object may
// belong to another tenant than the owner.
func (r HostRefusal) Message() string {
	if _, ok := route.LocalNamespace(r.Host); ok {
		return fmt.Sprintf("host %s is a cluster-local name of another namespace", r.Host)
	}
	return fmt.Sprintf("host %s is already in use by another namespace", r.Host)
}

// HostOwners decides which namespace owns each host of uses: the
// namespace a cluster-local name names (a <name>.<ns>.svc… host, or a
// <name>.<ns> host that ns uses as a local name), else the namespace
// claimed names, else the namespace of the first use in order of
// precedence. It returns the uses that need a new claim (the first use of
// each host that no claim or local name decides), sorted by host, and the
// uses of every other namespace, refused, sorted by host and precedence.
// claimed may be nil (no claims: a render of one repository).
func HostOwners(uses []HostUse, claimed func(host string) (string, bool)) (claim []HostUse, refused []HostRefusal) {
	first := make(map[string]int, len(uses))
	var more map[string][]HostUse // hosts of more than one use: every use
	for i, u := range uses {
		j, ok := first[u.Host]
		if !ok {
			first[u.Host] = i
			continue
		}
		if more == nil {
			more = map[string][]HostUse{}
		}
		if more[u.Host] == nil {
			more[u.Host] = []HostUse{uses[j]}
		}
		more[u.Host] = append(more[u.Host], u)
	}
	for host, i := range first {
		group := more[host]
		if group == nil {
			group = uses[i : i+1 : i+1]
		} else {
			slices.SortFunc(group, HostUse.compare)
		}
		c, r := owner(host, group, claimed)
		if c != nil {
			claim = append(claim, *c)
		}
		refused = append(refused, r...)
	}
	slices.SortFunc(claim, func(a, b HostUse) int { return strings.Compare(a.Host, b.Host) })
	slices.SortFunc(refused, func(a, b HostRefusal) int { return cmp.Or(strings.Compare(a.Host, b.Host), a.compare(b.HostUse)) })
	return claim, refused
}

// owner decides one host among its uses, sorted by precedence.
func owner(host string, group []HostUse, claimed func(string) (string, bool)) (claim *HostUse, refused []HostRefusal) {
	owner, by := "", -1
	if ns, ok := route.LocalNamespace(host); ok {
		owner = ns
	} else if k := slices.IndexFunc(group, func(u HostUse) bool { return u.Local }); k >= 0 {
		owner, by = group[k].Namespace, k
	} else if ns, ok := claimedBy(claimed, host); ok {
		owner = ns
	} else {
		owner, by, claim = group[0].Namespace, 0, &group[0]
	}
	if by < 0 {
		by = slices.IndexFunc(group, func(u HostUse) bool { return u.Namespace == owner })
	}
	for _, u := range group {
		if u.Namespace == owner {
			continue
		}
		r := HostRefusal{HostUse: u, Owner: owner}
		if by >= 0 {
			r.By = &group[by]
		}
		refused = append(refused, r)
	}
	return claim, refused
}

func claimedBy(claimed func(string) (string, bool), host string) (string, bool) {
	if claimed == nil {
		return "", false
	}
	return claimed(host)
}

// CheckHosts refuses a state in which two namespaces' routes serve one
// host, naming each later use (HostOwners' order) with the one that
// holds the host: one repository never decides a host by accident of
// order. The errors are serving.FieldErrors that name their object
// (serving.Tree.Locate gives them a file and line). Render runs it; a
// loop runs it when planning, before it commits a ledger.
func CheckHosts(in Input) error {
	var c hostCache
	return c.check(in)
}

// check is CheckHosts over c.
func (c *hostCache) check(in Input) error {
	_, refused := HostOwners(c.uses(in), nil)
	if len(refused) == 0 {
		return nil
	}
	var errs serving.ErrorList
	for _, r := range refused {
		msg := r.Message()
		if r.By != nil {
			msg += fmt.Sprintf(" (%s %s/%s)", r.By.Kind, r.By.Namespace, r.By.Name)
		}
		errs = append(errs, &serving.FieldError{Object: r.Ref(), Path: "metadata.name", Message: msg})
	}
	return errs.Err()
}
