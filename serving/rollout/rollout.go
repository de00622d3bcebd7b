package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// Rollout is the gradual-rollout state of one route: one entry per
// (tag, configuration) whose latestRevision traffic rolls out. It is a
// plain value, encoded deterministically as JSON (times in RFC 3339 with
// nanoseconds, UTC; durations as Go durations), so that it can be
// recorded in the ledger.
type Rollout struct {
	// Configurations are sorted by tag, then by configuration name.
	Configurations []ConfigurationRollout `json:"configurations,omitempty"`
}

// ConfigurationRollout is the state of one (tag, configuration) pair.
type ConfigurationRollout struct {
	// ConfigurationName and Tag identify the pair; Tag is empty for the
	// route's main host.
	ConfigurationName string `json:"configurationName"`
	Tag               string `json:"tag,omitempty"`

	// Percent is the share of the whole route that the configuration's
	// latestRevision targets ask for; Revisions add up to it.
	Percent traffic.Percent `json:"percent"`

	// Revisions share the configuration's traffic, oldest first. One
	// revision (or none) means no rollout is in progress; during one the
	// newest, last, grows step by step until it holds all of Percent.
	Revisions []RevisionRollout `json:"revisions,omitempty"`

	// StepParams say when and by how much the newest revision grows.
	StepParams Params `json:"stepParams,omitzero"`
}

// Params are the timing and sizing of a configuration's rollout.
type Params struct {
	// StartTime is when the newest revision was given its first 1 %.
	StartTime time.Time `json:"startTime,omitzero"`
	// NextStepTime is when the next step is due.
	NextStepTime time.Time `json:"nextStepTime,omitzero"`
	// StepDuration is the time between two steps; zero until the step
	// parameters are computed (ObserveReady).
	StepDuration metav1.Duration `json:"stepDuration,omitzero"`
	// StepSize is how many percent each step moves to the newest revision.
	StepSize traffic.Percent `json:"stepSize,omitempty"`
}

// RevisionRollout is one revision's share, in percent of the whole route
// (not of the configuration).
type RevisionRollout struct {
	RevisionName string          `json:"revisionName"`
	Percent      traffic.Percent `json:"percent"`
}

// Desired is the shape the traffic asks for when no rollout is in
// progress: the route's main host sends percent of its traffic to
// configuration's latest routed revision. A percent of 0 takes no part in
// a rollout: the result is empty.
func Desired(configuration, revision string, percent traffic.Percent) Rollout {
	if percent <= 0 {
		return Rollout{}
	}
	return Rollout{Configurations: []ConfigurationRollout{{
		ConfigurationName: configuration,
		Percent:           percent,
		Revisions:         []RevisionRollout{{RevisionName: revision, Percent: percent}},
	}}}
}

// DeepCopy returns a copy of r that shares no memory with it.
func (r Rollout) DeepCopy() Rollout {
	if r.Configurations == nil {
		return Rollout{}
	}
	out := Rollout{Configurations: make([]ConfigurationRollout, len(r.Configurations))}
	for i, c := range r.Configurations {
		c.Revisions = slices.Clone(c.Revisions)
		out.Configurations[i] = c
	}
	return out
}

// ByTag returns the configuration rollouts of tag, in name order.
func (r Rollout) ByTag(tag string) []ConfigurationRollout {
	out := []ConfigurationRollout{}
	for _, c := range r.Configurations {
		if c.Tag == tag {
			out = append(out, c)
		}
	}
	return out
}

// Find returns the rollout of (tag, configuration), or nil.
func (r Rollout) Find(tag, configuration string) *ConfigurationRollout {
	for i := range r.Configurations {
		if c := &r.Configurations[i]; c.Tag == tag && c.ConfigurationName == configuration {
			return c
		}
	}
	return nil
}

// Done reports whether no configuration is rolling out.
func (r Rollout) Done() bool {
	for i := range r.Configurations {
		if !r.Configurations[i].Done() {
			return false
		}
	}
	return true
}

// Done reports whether the configuration is not rolling out: it has one
// revision, or none.
func (c *ConfigurationRollout) Done() bool { return len(c.Revisions) < 2 }

// Validate checks a state read from outside (a ledger) for what the
// functions of this package never produce. A state that fails it is to be
// discarded: the rollout restarts from the desired shape, as Knative does
// with a bad rollout annotation. The error names the configuration and
// the field.
func (r Rollout) Validate() error {
	var msgs []string
	seen := map[[2]string]bool{}
	for i, c := range r.Configurations {
		bad := func(format string, args ...any) {
			msgs = append(msgs, fmt.Sprintf("configurations[%d] (%s): ", i, c.label())+fmt.Sprintf(format, args...))
		}
		key := [2]string{c.Tag, c.ConfigurationName}
		if seen[key] {
			bad("listed twice")
		}
		seen[key] = true
		if c.ConfigurationName == "" {
			bad("configurationName: must not be empty")
		}
		if !c.Percent.Valid() {
			bad("percent: %d, want 0 to 100", c.Percent)
		}
		if s := c.StepParams.StepSize; s < 0 || s > c.Percent {
			bad("stepParams.stepSize: %d, want 0 to percent (%d)", s, c.Percent)
		}
		if d := c.StepParams.StepDuration.Duration; d < 0 {
			bad("stepParams.stepDuration: %s must not be negative", d)
		}
		if c.StepParams.StepSize > 0 && (c.StepParams.StepDuration.Duration == 0 || c.StepParams.NextStepTime.IsZero()) {
			bad("stepParams: a step size needs a step duration and a next step time")
		}
		if !c.Done() && c.StepParams.StartTime.IsZero() {
			bad("stepParams.startTime: a rollout of %d revisions needs a start time", len(c.Revisions))
		}
		var tot traffic.Percent
		for j, rr := range c.Revisions {
			tot += rr.Percent
			if rr.RevisionName == "" {
				bad("revisions[%d].revisionName: must not be empty", j)
			}
			if rr.Percent < 0 || (rr.Percent == 0 && len(c.Revisions) > 1) {
				bad("revisions[%d].percent: %d, want at least 1 during a rollout", j, rr.Percent)
			}
		}
		if tot != c.Percent {
			bad("revisions sum to %d, want percent (%d)", tot, c.Percent)
		}
	}
	if !slices.IsSortedFunc(r.Configurations, compareConfigurations) {
		msgs = append(msgs, "configurations: not sorted by tag and configurationName")
	}
	if len(msgs) > 0 {
		return fmt.Errorf("invalid rollout: %s", strings.Join(msgs, "; "))
	}
	return nil
}

func (c *ConfigurationRollout) label() string {
	if c.Tag == "" {
		return c.ConfigurationName
	}
	return c.ConfigurationName + ", tag " + c.Tag
}

func compareConfigurations(a, b ConfigurationRollout) int {
	if c := strings.Compare(a.Tag, b.Tag); c != 0 {
		return c
	}
	return strings.Compare(a.ConfigurationName, b.ConfigurationName)
}

func sortConfigurations(r *Rollout) {
	slices.SortStableFunc(r.Configurations, compareConfigurations)
}
