package kube

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-dev/ebb/proxy/route"
)

// TableState is what a gateway made of one route-table ConfigMap.
type TableState string

// Table states, the values of ebb_gateway_route_tables{state}.
const (
	// TableServed: served whole.
	TableServed TableState = "served"
	// TablePartial: served without the hosts its namespace does not own
	// (or the routes, splits and revisions of other namespaces).
	TablePartial TableState = "partial"
	// TableStale: this version does not decode or compile; the last good
	// version of the same ConfigMap is served.
	TableStale TableState = "stale"
	// TableRefused: does not decode or compile, and no good version of it
	// was seen: not served.
	TableRefused TableState = "refused"
	// TableIgnored: not rendered by ebb (no app.kubernetes.io/managed-by:
	// ebb label): not served.
	TableIgnored TableState = "ignored"
)

// TableStates lists every state, in the order reports print them.
var TableStates = []TableState{TableServed, TablePartial, TableStale, TableRefused, TableIgnored}

// TableReport is one route-table ConfigMap as the gateway took it.
type TableReport struct {
	Namespace, Name string
	State           TableState
	// Problems say what was left out, or why the table was refused, one
	// line each.
	Problems []string
}

// TableChoice is what a gateway serves from the route-table ConfigMaps.
type TableChoice struct {
	// Table is the merge of every table served, restricted.
	Table route.Table
	// Good holds the last good version (decoded, before restriction) of
	// every table, by namespace/name: the good argument of the next
	// ChooseTables.
	Good map[string]route.Table
	// Reports has one entry per ConfigMap, in namespace/name order.
	Reports []TableReport
}

// ChooseTables decides what a gateway serves from the route-table
// ConfigMaps cms, given the host claims and the last good version of each
// table (from the previous choice; nil at start). A table counts only when
// ebb rendered it; it is decoded, restricted to what its namespace owns
// (route.Restrict) and checked on its own with check (the gateway's
// compile). A table that does not decode or pass is replaced by its last
// good version when there is one, and never holds back the others.
func ChooseTables(cms []*corev1.ConfigMap, claims []route.Claim, good map[string]route.Table, check func(route.Table) error) TableChoice {
	cms = slices.Clone(cms)
	slices.SortFunc(cms, func(a, b *corev1.ConfigMap) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	type candidate struct {
		cm      *corev1.ConfigMap
		ebb     bool         // rendered by ebb
		current *route.Table // this version, nil when it does not decode
		err     error        // why it does not
	}
	owners := route.NewOwners(claims)
	cands := make([]candidate, 0, len(cms))
	for _, cm := range cms {
		c := candidate{cm: cm, ebb: cm.Labels[route.ManagedByKey] == route.ManagedByValue}
		if c.ebb {
			if t, err := route.Decode([]byte(cm.Data[route.DataKey])); err != nil {
				c.err = fmt.Errorf("%s: %w", route.DataKey, err)
			} else {
				c.current = &t
				owners.AddLocal(cm.Namespace, t)
			}
			if t, ok := good[cm.Namespace+"/"+cm.Name]; ok {
				owners.AddLocal(cm.Namespace, t)
			}
		}
		cands = append(cands, c)
	}
	ch := TableChoice{Good: map[string]route.Table{}, Reports: make([]TableReport, 0, len(cands))}
	var parts []route.Table
	for _, c := range cands {
		key := c.cm.Namespace + "/" + c.cm.Name
		rep := TableReport{Namespace: c.cm.Namespace, Name: c.cm.Name}
		if !c.ebb {
			rep.State, rep.Problems = TableIgnored, []string{fmt.Sprintf("not rendered by ebb: no label %s=%s", route.ManagedByKey, route.ManagedByValue)}
			ch.Reports = append(ch.Reports, rep)
			continue
		}
		if c.current != nil {
			t, dropped := route.Restrict(*c.current, c.cm.Namespace, owners)
			if c.err = check(t); c.err == nil {
				ch.Good[key] = *c.current
				rep.State, rep.Problems = TableServed, dropped
				if len(dropped) > 0 {
					rep.State = TablePartial
				}
				ch.Reports = append(ch.Reports, rep)
				parts = append(parts, t)
				continue
			}
		}
		rep.State, rep.Problems = TableRefused, []string{c.err.Error()}
		if last, ok := good[key]; ok {
			if t, _ := route.Restrict(last, c.cm.Namespace, owners); check(t) == nil {
				ch.Good[key] = last
				rep.State, rep.Problems = TableStale, []string{c.err.Error() + "; serving its last good version"}
				parts = append(parts, t)
			}
		}
		ch.Reports = append(ch.Reports, rep)
	}
	ch.Table = route.Merge(parts...)
	return ch
}

// counts returns how many reports are in each state.
func counts(reports []TableReport) map[TableState]int {
	out := make(map[TableState]int, len(TableStates))
	for _, r := range reports {
		out[r.State]++
	}
	return out
}
