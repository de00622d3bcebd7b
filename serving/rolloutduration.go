package serving

import (
	"time"

	"github.com/ebb-dev/ebb/serving/config"
)

// RolloutDuration is how long s's latestRevision traffic takes to move to
// a new revision (Knative's gradual rollout): its rollout-duration
// annotation (or the rolloutDuration alias) when set and not zero, else
// config-network rollout-duration; 0 moves it at once. Validation has
// refused a malformed annotation, so one that does not parse counts as
// unset, as in Knative.
func (s *Service) RolloutDuration(network *config.Network) time.Duration {
	for _, key := range []string{RolloutDurationAnnotation, RolloutDurationAnnotationLegacy} {
		v, ok := s.Annotations[key]
		if !ok {
			continue
		}
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
		break
	}
	if network == nil {
		return 0
	}
	return network.RolloutDuration
}
