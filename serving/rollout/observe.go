package rollout

import (
	"math"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// ObserveReady computes the step parameters of every configuration that
// has started a rollout (a start time) but has none yet (no step
// duration), as Knative does when the ingress carrying the first 1 % has
// become ready at now: the time that took, rounded up to whole seconds and
// at least 1 s, is the shortest step (minStep), and duration is the whole
// rollout's (see computeProperties). r is not modified.
func (r Rollout) ObserveReady(now time.Time, duration time.Duration) Rollout {
	r = r.DeepCopy()
	now = now.UTC().Round(0)
	for i := range r.Configurations {
		c := &r.Configurations[i]
		if c.StepParams.StepDuration.Duration != 0 || c.StepParams.StartTime.IsZero() {
			continue
		}
		minStepSec := math.Max(1, math.Ceil(now.Sub(c.StepParams.StartTime).Seconds()))
		c.computeProperties(now, minStepSec, duration.Seconds())
	}
	return r
}

// computeProperties sets the step size, the step duration and the first
// step's time of a rollout whose first 1 % took minStepSec (≥ 1) seconds,
// for a rollout of durationSecs seconds in all:
//
//	dur      = max(1, durationSecs − minStepSec)   the first 1 % used minStepSec
//	steps    = min(max(1, dur/minStepSec), percent − 1)
//	stepSize = round((percent − 1) / steps)
//	stepDuration = dur/steps seconds; next step at now + stepDuration
//
// Rounding the step size to nearest rather than down keeps, say, 100 % in
// 4 steps at 1 → 26 → 51 → 76 → 100 instead of doubling the time.
func (c *ConfigurationRollout) computeProperties(now time.Time, minStepSec, durationSecs float64) {
	durationSecs = math.Max(1, durationSecs-minStepSec)
	numSteps := math.Max(1, durationSecs/minStepSec)
	remPercent := float64(c.Percent - 1)
	if remPercent < numSteps {
		numSteps = remPercent
	}
	if numSteps < 1 {
		// A configuration at 1 % has nothing left to move (Step never
		// starts one; this guards a state read from outside).
		numSteps = 1
	}
	stepSize := math.Round(remPercent / numSteps)
	stepDuration := time.Duration(durationSecs / numSteps * float64(time.Second))
	c.StepParams.StepDuration = metav1.Duration{Duration: stepDuration}
	c.StepParams.StepSize = traffic.Percent(stepSize)
	c.StepParams.NextStepTime = now.Add(stepDuration)
}
