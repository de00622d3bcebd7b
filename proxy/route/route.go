// Package route defines the route table the ebb gateway serves from: hosts
// and paths, the percent split across revisions, and the per-revision facts
// the activator needs. The renderer produces it, the gateway consumes it.
package route

import (
	"cmp"
	"slices"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// How a route table travels in a cluster: one ConfigMap per Service (or
// DomainMapping), labelled LabelKey=LabelValue, holding a JSON Table under
// DataKey. The gateway merges every such ConfigMap into one Table.
const (
	LabelKey   = "ebb.dev/route-table"
	LabelValue = "true"
	DataKey    = "routes.json"
)

// RevisionLabel, Knative's serving.knative.dev/revision, names the
// revision of the objects ebb renders for it (its Deployment, pods and
// Services). The renderer writes it; runtimes and the gateway find a
// revision's objects by it.
const RevisionLabel = "serving.knative.dev/revision"

// Visibility of a rule, as in Knative's KIngress.
type Visibility string

const (
	ExternalIP   Visibility = "ExternalIP"
	ClusterLocal Visibility = "ClusterLocal"
)

// Protocols a revision speaks to its queue-proxy.
const (
	ProtocolHTTP1 = "http1"
	ProtocolH2C   = "h2c"
)

// Table is the whole routing state of a gateway.
type Table struct {
	Routes    []Route    `json:"routes"`
	Revisions []Revision `json:"revisions"`
}

// Route is the routing of one Service or DomainMapping.
type Route struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Rules     []Rule `json:"rules"`
}

// Rule matches any of its hosts (no port, lower case) and then the first
// matching path.
type Rule struct {
	Hosts      []string   `json:"hosts"`
	Visibility Visibility `json:"visibility"`
	Paths      []Path     `json:"paths"`
}

// Path matches a path prefix ("" means "/") and exact request headers, and
// splits matching requests across revisions by percent.
type Path struct {
	Path          string            `json:"path,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	AppendHeaders map[string]string `json:"appendHeaders,omitempty"`
	Splits        []Split           `json:"splits"`
}

// Split sends Percent of a path's requests to one revision. Percents of a
// path sum to 100.
type Split struct {
	Namespace     string            `json:"namespace"`
	Revision      string            `json:"revision"`
	Percent       traffic.Percent   `json:"percent"`
	AppendHeaders map[string]string `json:"appendHeaders,omitempty"`
}

// Revision carries what the gateway and activator need to know of a
// revision they route to.
type Revision struct {
	Namespace                   string `json:"namespace"`
	Name                        string `json:"name"`
	Service                     string `json:"service"`
	Protocol                    string `json:"protocol"`
	ContainerConcurrency        int    `json:"containerConcurrency"`
	TimeoutSeconds              int64  `json:"timeoutSeconds"`
	ResponseStartTimeoutSeconds int64  `json:"responseStartTimeoutSeconds,omitempty"`
	IdleTimeoutSeconds          int64  `json:"idleTimeoutSeconds,omitempty"`
}

// Merge joins route table fragments into one table, sorted by namespace and
// name, so that the result does not depend on the order of its parts. A
// revision listed by several fragments is kept once.
func Merge(parts ...Table) Table {
	var t Table
	seen := map[[2]string]bool{}
	for _, p := range parts {
		t.Routes = append(t.Routes, p.Routes...)
		for _, r := range p.Revisions {
			k := [2]string{r.Namespace, r.Name}
			if !seen[k] {
				seen[k] = true
				t.Revisions = append(t.Revisions, r)
			}
		}
	}
	slices.SortStableFunc(t.Routes, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	slices.SortStableFunc(t.Revisions, func(a, b Revision) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return t
}
