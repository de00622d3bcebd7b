package route

import (
	"fmt"
	"slices"
)

// Owners says which namespace owns each host: a <name>.<ns>.svc… host
// belongs to ns; a <name>.<ns> host that a route of ns lists in a
// cluster-local rule belongs to ns; any other host belongs to the
// namespace its claim names, and to none without a claim.
type Owners struct {
	claims map[string]string // host → namespace
	local  map[string]string // <name>.<ns> → ns
}

// NewOwners returns the owners the claims name.
func NewOwners(claims []Claim) *Owners {
	o := &Owners{claims: make(map[string]string, len(claims)), local: map[string]string{}}
	for _, c := range claims {
		o.claims[c.Host] = c.Namespace
	}
	return o
}

// AddLocal records the <name>.<ns> hosts that t, a table of namespace ns,
// lists in its own cluster-local rules.
func (o *Owners) AddLocal(ns string, t Table) {
	for _, rt := range t.Routes {
		if rt.Namespace != ns {
			continue
		}
		for _, rule := range rt.Rules {
			if rule.Visibility != ClusterLocal {
				continue
			}
			for _, h := range rule.Hosts {
				if _, svc := LocalNamespace(h); !svc && IsLocalName(h, ns) {
					o.local[h] = ns
				}
			}
		}
	}
}

// Owner returns the namespace that owns host, if any.
func (o *Owners) Owner(host string) (string, bool) {
	if ns, ok := LocalNamespace(host); ok {
		return ns, true
	}
	if ns, ok := o.local[host]; ok {
		return ns, true
	}
	ns, ok := o.claims[host]
	return ns, ok
}

// Restrict keeps of t, a table read from namespace ns, what ns may route:
// its own routes and revisions, paths that split to its own revisions
// only, and the hosts ns owns. A rule left without hosts or paths, and a
// route left without rules, are dropped. It returns one line for each
// thing it left out, in table order.
func Restrict(t Table, ns string, owners *Owners) (Table, []string) {
	var dropped []string
	out := Table{Routes: make([]Route, 0, len(t.Routes)), Revisions: make([]Revision, 0, len(t.Revisions))}
	for _, rt := range t.Routes {
		if rt.Namespace != ns {
			dropped = append(dropped, fmt.Sprintf("route %s/%s: not in namespace %s", rt.Namespace, rt.Name, ns))
			continue
		}
		keep := Route{Namespace: rt.Namespace, Name: rt.Name}
		for ri, rule := range rt.Rules {
			var hosts []string
			for _, h := range rule.Hosts {
				owner, ok := owners.Owner(h)
				switch {
				case !ok:
					dropped = append(dropped, fmt.Sprintf("host %s: not claimed by namespace %s", h, ns))
				case owner != ns:
					dropped = append(dropped, fmt.Sprintf("host %s: owned by another namespace", h))
				default:
					hosts = append(hosts, h)
				}
			}
			var paths []Path
			for pi, p := range rule.Paths {
				if i := slices.IndexFunc(p.Splits, func(s Split) bool { return s.Namespace != ns }); i >= 0 {
					s := p.Splits[i]
					dropped = append(dropped, fmt.Sprintf("route %s/%s rule %d path %d: splits to %s/%s, not in namespace %s",
						rt.Namespace, rt.Name, ri, pi, s.Namespace, s.Revision, ns))
					continue
				}
				paths = append(paths, p)
			}
			if len(hosts) == 0 || len(paths) == 0 {
				continue
			}
			rule.Hosts, rule.Paths = hosts, paths
			keep.Rules = append(keep.Rules, rule)
		}
		if len(keep.Rules) > 0 {
			out.Routes = append(out.Routes, keep)
		}
	}
	for _, r := range t.Revisions {
		if r.Namespace != ns {
			dropped = append(dropped, fmt.Sprintf("revision %s/%s: not in namespace %s", r.Namespace, r.Name, ns))
			continue
		}
		out.Revisions = append(out.Revisions, r)
	}
	return out, dropped
}
