package render

import (
	"encoding/json"
	"slices"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// kRollout is Knative's traffic.Rollout as its route reconciler writes it
// into the KIngress rollout annotation (the same JSON fields).
type kRollout struct {
	Configurations []kConfigurationRollout `json:"configurations,omitempty"`
}

type kConfigurationRollout struct {
	ConfigurationName string             `json:"configurationName"`
	Tag               string             `json:"tag,omitempty"`
	Percent           traffic.Percent    `json:"percent"`
	Revisions         []kRevisionRollout `json:"revisions,omitempty"`
	StepParams        kRolloutParams     `json:"stepParams"`
}

type kRolloutParams struct {
	StartTime    int64           `json:"starttime,omitempty"`
	NextStepTime int64           `json:"nextStepTime,omitempty"`
	StepDuration int64           `json:"stepDuration,omitempty"`
	StepSize     traffic.Percent `json:"stepSize,omitempty"`
}

type kRevisionRollout struct {
	RevisionName string          `json:"revisionName"`
	Percent      traffic.Percent `json:"percent"`
}

// rolloutAnnotation is the rollout annotation of a Service's KIngress,
// from its ledger's traffic as routed now: per traffic name (the main
// route, then the tags, sorted) each latestRevision target with a share,
// its revisions and percents (Knative's BuildRollout, the targets of a
// name consolidated by revision). While a gradual rollout is in progress
// the main route's latestRevision targets are the revisions sharing it,
// oldest first, with the step parameters the ledger recorded.
func rolloutAnnotation(l *serving.Ledger) string {
	ro := kRollout{}
	for _, name := range rolloutNames(l.Traffic) {
		var revs []kRevisionRollout
		var percent traffic.Percent
		for _, t := range consolidate(l.Traffic, name) {
			if !t.LatestRevision || t.Percent == 0 {
				continue
			}
			revs = append(revs, kRevisionRollout{RevisionName: t.RevisionName, Percent: t.Percent})
			percent += t.Percent
		}
		if len(revs) == 0 {
			continue
		}
		if name != "" || len(revs) == 1 {
			for _, r := range revs {
				ro.Configurations = append(ro.Configurations, kConfigurationRollout{
					ConfigurationName: l.Service, Tag: name, Percent: r.Percent, Revisions: []kRevisionRollout{r},
				})
			}
			continue
		}
		c := kConfigurationRollout{ConfigurationName: l.Service, Percent: percent, Revisions: revs}
		if l.Gradual != nil {
			if g := l.Gradual.Find("", l.Service); g != nil {
				p := g.StepParams
				c.StepParams = kRolloutParams{StepDuration: int64(p.StepDuration.Duration), StepSize: p.StepSize}
				if !p.StartTime.IsZero() {
					c.StepParams.StartTime = p.StartTime.UnixNano()
				}
				if !p.NextStepTime.IsZero() {
					c.StepParams.NextStepTime = p.NextStepTime.UnixNano()
				}
			}
		}
		ro.Configurations = append(ro.Configurations, c)
	}
	b, _ := json.Marshal(ro) // plain strings and numbers: cannot fail
	return string(b)
}

// rolloutNames are the traffic names of a route: "" and each tag, sorted.
func rolloutNames(targets []serving.Target) []string {
	names := []string{""}
	for _, t := range targets {
		if t.Tag != "" {
			names = append(names, t.Tag)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// consolidate is Knative's consolidation of one traffic name's targets:
// the main route holds every target, a tag its own; targets of one
// revision add up, keeping the first one's latestRevision; a single
// target holds 100 %.
func consolidate(targets []serving.Target, name string) []serving.Target {
	var out []serving.Target
	for _, t := range targets {
		if name != "" && t.Tag != name {
			continue
		}
		if i := slices.IndexFunc(out, func(o serving.Target) bool { return o.RevisionName == t.RevisionName }); i >= 0 {
			out[i].Percent += t.Percent
			continue
		}
		out = append(out, t)
	}
	if len(out) == 1 {
		out[0].Percent = 100
	}
	return out
}

// RolloutNewest reads a KIngress rollout annotation as Knative's route
// reconciler and ebb write it: the newest revision of configuration's
// main-route entry and its percent of the route; ok is false when the
// annotation holds none (or does not parse).
func RolloutNewest(annotation, configuration string) (revision string, percent traffic.Percent, ok bool) {
	var ro kRollout
	if json.Unmarshal([]byte(annotation), &ro) != nil {
		return "", 0, false
	}
	for _, c := range ro.Configurations {
		if c.Tag == "" && c.ConfigurationName == configuration && len(c.Revisions) > 0 {
			r := c.Revisions[len(c.Revisions)-1]
			return r.RevisionName, r.Percent, true
		}
	}
	return "", 0, false
}
