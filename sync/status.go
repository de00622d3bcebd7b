package sync

import (
	"cmp"
	"slices"
	"time"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

// ServiceStatus is one Service as `ebb get services` shows it.
type ServiceStatus struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Tags      []TagURL  `json:"tags,omitempty"`
	Latest    string    `json:"latest"`
	Ready     Condition `json:"ready"`
	// Reason explains a Ready that is not True.
	Reason    string           `json:"reason,omitempty"`
	Traffic   []serving.Target `json:"traffic"`
	Revisions []RevisionStatus `json:"revisions"`
}

// TagURL is a traffic tag and its URL.
type TagURL struct {
	Tag string `json:"tag"`
	URL string `json:"url"`
}

// RevisionStatus is one revision as `ebb get revisions` shows it.
type RevisionStatus struct {
	Name       string    `json:"name"`
	Generation int64     `json:"generation"`
	Created    time.Time `json:"created"`
	Percent    int64     `json:"percent"`
	Tags       []string  `json:"tags,omitempty"`
	Latest     bool      `json:"latest,omitempty"`
	Desired    int32     `json:"desired"`
	Actual     int       `json:"actual"`
	Ready      Condition `json:"ready"`
	Reason     string    `json:"reason,omitempty"`
}

// Condition is a Knative-style status: True, False or Unknown.
type Condition string

// Condition values.
const (
	True    Condition = "True"
	False   Condition = "False"
	Unknown Condition = "Unknown"
)

// RevisionHealth is what the target knows of a running revision.
type RevisionHealth struct {
	Desired int32
	Actual  int
	Ready   Condition
	Reason  string
}

// Status describes what d runs. health reports each revision from the
// target; a revision the target does not know is Unknown.
func Status(d *Desired, health func(namespace, revision string) (RevisionHealth, bool)) []ServiceStatus {
	if d == nil {
		return nil
	}
	svcs := map[[2]string]*serving.Service{}
	for _, s := range d.Tree.Services {
		svcs[[2]string{s.Namespace, s.Name}] = s
	}
	var out []ServiceStatus
	for _, l := range d.Ledgers {
		svc, ok := svcs[[2]string{l.Namespace, l.Service}]
		if !ok || l.Removed != nil {
			continue
		}
		st := ServiceStatus{Namespace: l.Namespace, Name: l.Service, Latest: l.Latest, Traffic: l.Traffic, Ready: True}
		if a, err := render.URLs(svc, l, d.Tree.Config); err == nil {
			st.URL = a.URL
			for _, t := range a.Tags {
				st.Tags = append(st.Tags, TagURL{Tag: t.Tag, URL: t.URL})
			}
		}
		for _, r := range l.Revisions {
			rs := RevisionStatus{Name: r.Name, Generation: r.Generation, Created: r.Created.Time.Time,
				Latest: r.Name == l.Latest, Ready: Unknown}
			for _, t := range l.Traffic {
				if t.RevisionName == r.Name {
					rs.Percent += t.Percent
					if t.Tag != "" {
						rs.Tags = append(rs.Tags, t.Tag)
					}
				}
			}
			if h, ok := health(l.Namespace, r.Name); ok {
				rs.Desired, rs.Actual, rs.Ready, rs.Reason = h.Desired, h.Actual, h.Ready, h.Reason
			}
			if (rs.Percent > 0 || len(rs.Tags) > 0) && rs.Ready != True && st.Ready != False {
				st.Ready, st.Reason = rs.Ready, "revision "+r.Name+": "+cmp.Or(rs.Reason, "not ready yet")
			}
			st.Revisions = append(st.Revisions, rs)
		}
		// Newest first, as kn lists them.
		slices.Reverse(st.Revisions)
		out = append(out, st)
	}
	return out
}
