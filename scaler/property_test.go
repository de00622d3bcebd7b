package scaler

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// TestProperties drives the whole pure pipeline — metric windows, decider,
// reconcile — with seeded random load, configuration and pod lag, and
// checks on every tick that the replicas asked for are
//   - never above max-scale,
//   - never below min-scale while the revision is reachable,
//   - never zero while requests are held (load seen in the stable window).
func TestProperties(t *testing.T) {
	const scenarios, ticks = 400, 300
	var applied, zeros, held int
	for seed := range uint64(scenarios) {
		r := rand.New(rand.NewPCG(seed, 0x5ca1e))
		cfg := autoscaling.DefaultConfig()
		ann := map[string]string{}
		minScale, maxScale := r.IntN(3), 0
		if r.IntN(2) == 0 {
			maxScale = minScale + 1 + r.IntN(20)
		}
		ann[autoscaling.MinScaleAnnotationKey] = strconv.Itoa(minScale)
		ann[autoscaling.MaxScaleAnnotationKey] = strconv.Itoa(maxScale)
		if r.IntN(3) == 0 {
			ann[autoscaling.ScaleDownDelayAnnotationKey] = strconv.Itoa(2*r.IntN(20)) + "s"
		}
		if r.IntN(3) == 0 {
			ann[autoscaling.TargetBurstCapacityKey] = []string{"-1", "0", "50"}[r.IntN(3)]
		}
		if r.IntN(3) == 0 && maxScale != 1 {
			ann[autoscaling.ActivationScaleKey] = "2"
			if maxScale != 0 && maxScale < 2 {
				delete(ann, autoscaling.ActivationScaleKey)
			}
		}
		if r.IntN(2) == 0 {
			ann[autoscaling.WindowAnnotationKey] = strconv.Itoa(6+r.IntN(25)) + "s"
		}
		if r.IntN(4) == 0 {
			ann[autoscaling.MetricAggregationAlgorithmKey] = autoscaling.MetricAggregationAlgorithmWeightedExponential
		}
		cfg.EnableScaleToZero = r.IntN(5) != 0
		if errs := autoscaling.ValidateAnnotations(cfg, ann); len(errs) != 0 {
			t.Fatalf("seed %d: generated invalid annotations %v: %v", seed, ann, errs)
		}
		reachable := r.IntN(4) != 0
		cc := int64([]int{0, 1, 10, 100}[r.IntN(4)])
		dspec := autoscaling.NewDeciderSpec(cfg, ann, cc, reachable)
		sspec := NewScaleSpec(cfg, ann, cc, reachable, 0)
		series := NewSeries(NewWindowSpec(cfg, ann))

		now := time.Unix(1_700_000_000, 0)
		replicas := int32(1)
		ready := 1
		dstate := NewDeciderState(dspec, ready, now)
		sstate := NewScaleState(now)
		desired, ebc := int32(-1), int32(-1)
		level := 0.0
		for i := range ticks {
			// Two one-second samples per tick.
			for range 2 {
				now = now.Add(time.Second)
				switch r.IntN(12) {
				case 0:
					level = 0
				case 2, 3, 4:
					if level == 0 {
						continue // quiet spells last
					}
				case 1:
					level = r.Float64() * 40 * dspec.TargetValue
				default:
					level *= 0.7 + 0.6*r.Float64()
				}
				if r.IntN(6) != 0 {
					series.Record(now, metric.Stat{AverageConcurrentRequests: level, RequestCount: level})
				}
			}
			obs := Observation{ReadyPods: ready}
			obs.Stable, obs.Panic, obs.NoData = series.StableAndPanic(dspec.ScalingMetric, now, dspec.TargetBurstCapacity != -1)
			d, next := Decide(dspec, obs, dstate, now)
			dstate = next
			if d.Valid {
				desired, ebc = d.DesiredScale, d.ExcessBurstCapacity
			}
			act, snext := Reconcile(sspec, ScaleInput{Desired: desired, EBC: ebc, Ready: ready, Replicas: replicas}, sstate, now)
			sstate = snext

			fail := func(what string) {
				t.Fatalf("seed %d tick %d: %s: ann %v reachable %v obs %+v decision %+v action %+v", seed, i, what, ann, reachable, obs, d, act)
			}
			if d.Valid && obs.Stable > 0 {
				held++
				if d.DesiredScale < 1 {
					fail("decided 0 while requests are held")
				}
			}
			if act.Apply {
				applied++
				if maxScale > 0 && act.Replicas > int32(maxScale) {
					fail("above max-scale")
				}
				if reachable && act.Replicas < int32(minScale) {
					fail("below min-scale while reachable")
				}
				if act.Replicas == 0 {
					zeros++
					if obs.Stable > 0 {
						fail("scaled to zero while requests are held")
					}
				}
				replicas = act.Replicas
			}
			// Pods catch up with the replicas after a random lag.
			if r.IntN(3) != 0 {
				ready = int(replicas)
			}
		}
	}
	t.Logf("%d scale actions, %d to zero, %d ticks with held requests", applied, zeros, held)
	if applied == 0 || zeros == 0 || held == 0 {
		t.Errorf("the scenarios exercise too little: %d actions, %d to zero, %d held", applied, zeros, held)
	}
}
