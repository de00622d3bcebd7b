package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/canary"
	"github.com/ebb-dev/ebb/serving/config"
	"github.com/ebb-dev/ebb/serving/names"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// ServiceStatus is one Service as `ebb get services` shows it.
type ServiceStatus struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	Tags      []TagURL `json:"tags,omitempty"`
	Latest    string   `json:"latest"`
	// LatestReady is the newest revision that became ready, where
	// latestRevision traffic goes.
	LatestReady string    `json:"latestReady,omitempty"`
	Ready       Condition `json:"ready"`
	// Reason explains a Ready that is not True.
	Reason    string           `json:"reason,omitempty"`
	Traffic   []serving.Target `json:"traffic"`
	Revisions []RevisionStatus `json:"revisions"`
	// Rollout is the Service's analysed canary: in progress, or how the
	// last one ended; nil when it never rolled out analysed.
	Rollout *RolloutStatus `json:"rollout,omitempty"`
	// LoadBalancer is where the net-* controller programming the
	// Service's KIngress serves it (its public load balancer, else its
	// private one); empty for the classes ebb serves itself.
	LoadBalancer string `json:"loadBalancer,omitempty"`
}

// RolloutStatus is a Service's analysed canary as its ledger records it
// (canary, stable, phase, weight, failed checks, next check, reason, the
// last period's figures), with the analysis it runs under.
type RolloutStatus struct {
	canary.State
	// Threshold is how many failed checks roll the canary back, and
	// Interval the analysis period, under the Service's analysis; unset
	// when the Service no longer rolls out analysed.
	Threshold int64  `json:"threshold,omitempty"`
	Interval  string `json:"interval,omitempty"`
}

// RolloutOf is l's rollout, under the analysis the Service's annotations
// and cfg give it; nil when l has none.
func RolloutOf(l *serving.Ledger, annotations map[string]string, cfg *config.Config) *RolloutStatus {
	if l.Rollout == nil {
		return nil
	}
	if cfg == nil || cfg.Rollout == nil {
		cfg = config.Default()
	}
	st := &RolloutStatus{State: *l.Rollout.DeepCopy()}
	if a, analysed := cfg.Rollout.AnalysisOf(annotations); analysed {
		st.Threshold, st.Interval = a.Threshold, a.Interval.String()
	}
	return st
}

// Summary is the rollout on one line: "web-00002 20% Progressing",
// "web-00002 20% Progressing, 1 of 5 checks failed", "web-00002
// Progressing: waiting to be ready", "web-00002 Promoted" or "web-00002
// RolledBack: <reason>".
func (r *RolloutStatus) Summary() string {
	if r == nil {
		return ""
	}
	switch r.Phase {
	case canary.Progressing:
		if r.Weight == 0 {
			return r.Canary + " Progressing: waiting to be ready"
		}
		out := fmt.Sprintf("%s %d%% Progressing", r.Canary, r.Weight)
		if r.FailedChecks > 0 {
			out += ", " + r.Checks() + " failed"
		}
		return out
	case canary.RolledBack:
		return r.Canary + " RolledBack: " + r.Reason
	}
	return r.Canary + " " + string(r.Phase)
}

// Checks is the failed checks of the threshold: "1 of 5 checks", or "1
// check" when the threshold is not known.
func (r *RolloutStatus) Checks() string {
	switch {
	case r.Threshold > 0:
		return fmt.Sprintf("%d of %d checks", r.FailedChecks, r.Threshold)
	case r.FailedChecks == 1:
		return "1 check"
	}
	return fmt.Sprintf("%d checks", r.FailedChecks)
}

// The parts a revision plays in its Service's rollout (RevisionStatus.Rollout).
const (
	RoleCanary   = "canary"   // rolling out
	RoleStable   = "stable"   // what the canary is measured against, and falls back to
	RolePromoted = "promoted" // the canary of a rollout that was promoted
	RoleFailed   = "failed"   // a canary rolled back, never routed by latestRevision again
)

// rolloutRole is the part revision r plays in l's rollout, or "".
func rolloutRole(l *serving.Ledger, r *serving.Revision) string {
	ro := l.Rollout
	switch {
	case r.Failed != nil:
		return RoleFailed
	case ro == nil:
		return ""
	case r.Name == ro.Canary && ro.Phase == canary.Progressing:
		return RoleCanary
	case r.Name == ro.Canary && ro.Phase == canary.Promoted:
		return RolePromoted
	case r.Name == ro.Stable && ro.Phase != canary.Promoted:
		return RoleStable
	}
	return ""
}

// TagURL is a traffic tag and its URL.
type TagURL struct {
	Tag string `json:"tag"`
	URL string `json:"url"`
}

// RevisionStatus is one revision as `ebb get revisions` shows it.
type RevisionStatus struct {
	Name       string          `json:"name"`
	Generation int64           `json:"generation"`
	Created    time.Time       `json:"created"`
	Percent    traffic.Percent `json:"percent"`
	Tags       []string        `json:"tags,omitempty"`
	Latest     bool            `json:"latest,omitempty"`
	Desired    int32           `json:"desired"`
	Actual     int             `json:"actual"`
	Ready      Condition       `json:"ready"`
	Reason     string          `json:"reason,omitempty"`
	// Figures are the revision's answers over the last minute, where the
	// runtime measures them; none without requests.
	Figures *Figures `json:"figures,omitempty"`
	// Rollout is the part the revision plays in its Service's rollout:
	// canary, stable, promoted or failed (rolled back); "" for none.
	Rollout string `json:"rollout,omitempty"`
}

// Figures are a revision's answers over a period, as ebb's data plane
// counted them (metric.Figures, for people and JSON).
type Figures struct {
	Requests int64 `json:"requests"`
	// Failures are 5xx answers, failed connections to the app included.
	Failures int64 `json:"failures"`
	// SuccessRate is the percentage of requests that did not fail.
	SuccessRate float64 `json:"successRate"`
	// P99 is the 99th percentile latency, a Go duration.
	P99 string `json:"p99"`
}

// FiguresOf returns f for a status, nil when it has no requests.
func FiguresOf(f metric.Figures) *Figures {
	if f.Requests == 0 {
		return nil
	}
	return &Figures{Requests: f.Requests, Failures: f.Failures,
		SuccessRate: math.Round(f.SuccessRate()*100) / 100, P99: f.P99.Round(10 * time.Microsecond).String()}
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
	// Figures are the last minute's answers (nil: none or not measured).
	Figures *Figures
}

// IngressHealth is what a net-* controller reports on a KIngress: its
// Ready condition, why it is not True, and its load balancer's address.
type IngressHealth struct {
	Ready        Condition
	Reason       string
	LoadBalancer string
}

// Status describes what d runs. health reports each revision from the
// target; a revision the target does not know is Unknown.
func Status(d *Desired, health func(namespace, revision string) (RevisionHealth, bool)) []ServiceStatus {
	return StatusWithIngress(d, health, nil)
}

// StatusWithIngress is Status where the routes of a Service whose class
// is programmed from a KIngress are ready only when ingress reports that
// KIngress (by namespace and name) Ready, as Knative's Route waits for
// its Ingress. A KIngress ingress does not know is Unknown; a nil ingress
// reads no KIngress.
func StatusWithIngress(d *Desired, health func(namespace, revision string) (RevisionHealth, bool), ingress func(namespace, name string) (IngressHealth, bool)) []ServiceStatus {
	if d == nil {
		return nil
	}
	svcs := map[[2]string]*serving.Service{}
	for _, s := range d.Tree.Services {
		svcs[[2]string{s.Namespace, s.Name}] = s
	}
	refused := refusals(d, serving.KindService)
	var out []ServiceStatus
	// The traffic as routed: a gradual rollout's split when d was planned.
	for _, l := range d.Routed() {
		svc, ok := svcs[[2]string{l.Namespace, l.Service}]
		if !ok || l.Removed != nil {
			continue
		}
		st := ServiceStatus{Namespace: l.Namespace, Name: l.Service, Latest: l.Latest, LatestReady: l.LatestReady, Traffic: l.Traffic, Ready: True,
			Rollout: RolloutOf(l, svc.Annotations, d.Tree.Config)}
		if a, err := render.URLs(svc, l, d.Tree.Config); err == nil {
			st.URL = a.URL
			for _, t := range a.Tags {
				st.Tags = append(st.Tags, TagURL{Tag: t.Tag, URL: t.URL})
			}
		}
		for _, r := range l.Revisions {
			rs := RevisionStatus{Name: r.Name, Generation: r.Generation, Created: r.Created.Time.Time,
				Percent: serving.Share(l.Traffic, r.Name), Latest: r.Name == l.Latest, Ready: Unknown, Rollout: rolloutRole(l, &r)}
			for _, t := range l.Traffic {
				if t.RevisionName == r.Name && t.Tag != "" {
					rs.Tags = append(rs.Tags, t.Tag)
				}
			}
			if h, ok := health(l.Namespace, r.Name); ok {
				rs.Desired, rs.Actual, rs.Ready, rs.Reason, rs.Figures = h.Desired, h.Actual, h.Ready, h.Reason, h.Figures
			}
			if (rs.Percent > 0 || len(rs.Tags) > 0) && rs.Ready != True && st.Ready != False {
				st.Ready, st.Reason = rs.Ready, "revision "+r.Name+": "+cmp.Or(rs.Reason, "not ready yet")
			}
			// A latest revision that failed leaves the traffic where it was,
			// and the Service not Ready, as in Knative.
			if r.Name == l.Latest && rs.Ready == False && st.Ready != False {
				st.Ready, st.Reason = False, fmt.Sprintf("RevisionFailed: Revision %q failed with message: %s.", r.Name, rs.Reason)
			}
			st.Revisions = append(st.Revisions, rs)
		}
		if ingress != nil && len(l.Traffic) > 0 && RendersKIngress(svc, d.Tree.Config) {
			ingressStatus(&st, ingress)
		}
		if r, ok := refused[[2]string{l.Namespace, l.Service}]; ok {
			st.Ready, st.Reason = False, r
		}
		// Newest first, as kn lists them.
		slices.Reverse(st.Revisions)
		out = append(out, st)
	}
	return out
}

// refusals are the reasons of the refused hosts of d's objects of kind,
// by namespace and name (the first host's, when several are refused).
func refusals(d *Desired, kind string) map[[2]string]string {
	out := map[[2]string]string{}
	for _, r := range d.Refused {
		k := [2]string{r.Namespace, r.Name}
		if _, ok := out[k]; !ok && r.Kind == kind {
			out[k] = r.Message()
		}
	}
	return out
}

// DomainMappingStatus is one DomainMapping as `ebb get domainmappings`
// shows it.
type DomainMappingStatus struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	// Service is the Service the domain maps to (spec.ref, in Namespace).
	Service string    `json:"service"`
	Ready   Condition `json:"ready"`
	// Reason explains a Ready that is not True.
	Reason string `json:"reason,omitempty"`
}

// DomainMappingStatuses describes d's DomainMappings: Ready when the
// domain routes to its Service; not when its Service has no routed
// revision, or another namespace owns the domain.
func DomainMappingStatuses(d *Desired) []DomainMappingStatus {
	if d == nil || d.Tree == nil {
		return nil
	}
	routed := map[string]bool{}
	for _, u := range render.HostUses(render.Input{DomainMappings: d.Tree.DomainMappings, Ledgers: d.Ledgers, Config: d.Tree.Config}) {
		routed[u.Namespace+"/"+u.Name] = true
	}
	refused := refusals(d, serving.KindDomainMapping)
	cfg := d.Tree.Config
	if cfg == nil {
		cfg = config.Default()
	}
	scheme := cfg.Network.DefaultExternalScheme
	var out []DomainMappingStatus
	for _, dm := range d.Tree.DomainMappings {
		st := DomainMappingStatus{Namespace: dm.Namespace, Name: dm.Name, URL: scheme + "://" + dm.Name, Service: dm.Spec.Ref.Name, Ready: True}
		if r, ok := refused[[2]string{dm.Namespace, dm.Name}]; ok {
			st.Ready, st.Reason = False, r
		} else if !routed[dm.Namespace+"/"+dm.Name] {
			st.Ready, st.Reason = False, fmt.Sprintf("Service %q has no routed revision", dm.Spec.Ref.Name)
		}
		out = append(out, st)
	}
	return out
}

// RendersKIngress reports whether svc's routes are rendered as a KIngress
// under cfg (nil: the defaults).
func RendersKIngress(svc *serving.Service, cfg *config.Config) bool {
	if cfg == nil {
		cfg = config.Default()
	}
	return cfg.Network.RendersKIngress(render.IngressClass(svc.Annotations, cfg))
}

// ingressStatus folds the health of st's KIngress into st.
func ingressStatus(st *ServiceStatus, ingress func(namespace, name string) (IngressHealth, bool)) {
	name := names.Ingress(st.Name)
	h, ok := ingress(st.Namespace, name)
	if !ok {
		h = IngressHealth{Ready: Unknown, Reason: "not yet reported by its ingress controller"}
	}
	st.LoadBalancer = h.LoadBalancer
	if h.Ready != True && st.Ready == True {
		st.Ready, st.Reason = cmp.Or(h.Ready, Unknown), "ingress "+name+": "+cmp.Or(h.Reason, "not ready yet")
	}
}
