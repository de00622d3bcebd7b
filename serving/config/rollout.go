package config

import (
	"errors"

	"github.com/ebb-dev/ebb/serving/canary"
)

// Rollout is config-rollout: the analysis of every Service's canary,
// under the keys of the canary.ebb.dev/ annotations (which win).
type Rollout struct {
	// Analysis is canary.Default overlaid with the ConfigMap's keys.
	Analysis canary.Analysis
	// Set reports whether the ConfigMap has any of the keys: then every
	// Service rolls out analysed.
	Set bool
}

// NewRolloutFromMap parses config-rollout.
func NewRolloutFromMap(data map[string]string) (*Rollout, error) {
	a, set, errs := canary.Parse(canary.Default(), data, "")
	if len(errs) > 0 {
		all := make([]error, len(errs))
		for i, e := range errs {
			all[i] = e
		}
		return nil, errors.Join(all...)
	}
	return &Rollout{Analysis: a, Set: set}, nil
}

// AnalysisOf is the analysis of a Service with annotations, and whether it
// rolls out analysed: when config-rollout or an annotation sets a key.
// Bad annotations are reported by the Service's validation; here they
// keep the ConfigMap's value.
func (r *Rollout) AnalysisOf(annotations map[string]string) (canary.Analysis, bool) {
	a, set, _ := canary.Parse(r.Analysis, annotations, canary.AnnotationPrefix)
	return a, set || r.Set
}
