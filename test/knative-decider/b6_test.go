package knativedecider

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/serving/pkg/autoscaler/aggregation"
	am "knative.dev/serving/pkg/autoscaler/metrics"
	"knative.dev/serving/pkg/autoscaler/scaling"

	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// B6: a step of load from 10 to 1000 concurrent requests. Each decider
// gets the same one-second samples through its own metric windows (ebb's
// scaler.Series, Knative's aggregation buckets behind its MetricClient); a
// tick runs every 2 s, and the pods follow the previous tick's decision.

const (
	stepLow, stepHigh = 10.0, 1000.0
	stepAt            = 90 // seconds of low load before the step
	stepRunFor        = 150
)

// knWindows is Knative's metric client over Knative's own buckets: like
// Knative's collection, it keeps concurrency and RPS windows.
type knWindows struct {
	stable, panic, rpsStable, rpsPanic *aggregation.TimedFloat64Buckets
}

func newKnWindows(stable, panic time.Duration) *knWindows {
	return &knWindows{
		stable:    aggregation.NewTimedFloat64Buckets(stable, time.Second),
		panic:     aggregation.NewTimedFloat64Buckets(panic, time.Second),
		rpsStable: aggregation.NewTimedFloat64Buckets(stable, time.Second),
		rpsPanic:  aggregation.NewTimedFloat64Buckets(panic, time.Second),
	}
}

func (k *knWindows) record(now time.Time, v float64) {
	k.stable.Record(now, v)
	k.panic.Record(now, v)
	k.rpsStable.Record(now, 0)
	k.rpsPanic.Record(now, 0)
}

func (k *knWindows) StableAndPanicConcurrency(_ types.NamespacedName, now time.Time) (float64, float64, error) {
	if k.stable.IsEmpty(now) {
		return 0, 0, am.ErrNoData
	}
	return k.stable.WindowAverage(now), k.panic.WindowAverage(now), nil
}

func (k *knWindows) StableAndPanicRPS(key types.NamespacedName, now time.Time) (float64, float64, error) {
	return k.StableAndPanicConcurrency(key, now)
}

// podCount is Knative's pod counter.
type podCount struct{ ready int }

func (p *podCount) ReadyCount() (int, error)    { return p.ready, nil }
func (p *podCount) NotReadyCount() (int, error) { return 0, nil }

type stepTick struct {
	at            int // seconds since the start
	stable, panic float64
	ebb, kn       int32
	ebbEBC, knEBC int32
}

// stepStart is when the high load begins: on a tick for warm runs; for
// cold runs between two ticks, so that the stat's poke is what decides.
func stepStart(cold bool) int {
	if cold {
		return stepAt + 1
	}
	return stepAt
}

// stepLoad is the concurrency sampled at second s. A cold revision was
// idle (zero load, scaled to zero) and then had no samples at all.
func stepLoad(s int, cold bool) (float64, bool) {
	switch {
	case s >= stepStart(cold):
		return stepHigh, true
	case cold && s < 20:
		return 0, true
	case cold:
		return 0, false
	}
	return stepLow, true
}

// runStep drives both deciders (or one, for benchmarks) through the step.
func runStep(spec autoscaling.DeciderSpec, cold, withEbb, withKn bool) []stepTick {
	start := time.Now()
	ready := 1
	if cold {
		ready = 0
	}
	series := scaler.NewSeries(scaler.WindowSpec{StableWindow: spec.StableWindow, PanicWindow: 6 * time.Second})
	state := scaler.NewDeciderState(spec, ready, start)
	kw := newKnWindows(spec.StableWindow, 6*time.Second)
	pc := &podCount{ready: ready}
	var kn scaling.UniScaler
	if withKn {
		kn = scaling.New(attribute.NewSet(), noop.NewMeterProvider(), "default", "step", kw, pc, &scaling.DeciderSpec{
			MaxScaleUpRate: spec.MaxScaleUpRate, MaxScaleDownRate: spec.MaxScaleDownRate, ScalingMetric: spec.ScalingMetric,
			TargetValue: spec.TargetValue, TotalValue: spec.TotalValue, TargetBurstCapacity: spec.TargetBurstCapacity,
			ActivatorCapacity: spec.ActivatorCapacity, PanicThreshold: spec.PanicThreshold, StableWindow: spec.StableWindow,
			ScaleDownDelay: spec.ScaleDownDelay, InitialScale: spec.InitialScale, Reachable: spec.Reachable, ActivationScale: spec.ActivationScale,
		})
	}
	log := zap.NewNop().Sugar()
	var ticks []stepTick
	lastDesired := int32(-1)
	for s := 0; s < stepRunFor; s++ {
		now := start.Add(time.Duration(s) * time.Second)
		v, ok := stepLoad(s, cold)
		if ok {
			if withEbb {
				series.Record(now, metric.Stat{AverageConcurrentRequests: v})
			}
			if withKn {
				kw.record(now, v)
			}
		}
		// A tick every 2 s, and a poke when load reaches a revision at 0.
		poke := ok && v != 0 && lastDesired == 0 && s%2 != 0
		if s%2 != 0 && !poke {
			continue
		}
		t := stepTick{at: s}
		if withEbb {
			obs := scaler.Observation{ReadyPods: ready}
			obs.Stable, obs.Panic, obs.NoData = series.StableAndPanic(autoscaling.Concurrency, now, true)
			var d scaler.Decision
			d, state = scaler.Decide(spec, obs, state, now)
			t.stable, t.panic, t.ebb, t.ebbEBC = obs.Stable, obs.Panic, d.DesiredScale, d.ExcessBurstCapacity
			if d.Valid {
				lastDesired = d.DesiredScale
			}
		}
		if withKn {
			r := kn.Scale(log, now)
			t.kn, t.knEBC = r.DesiredPodCount, r.ExcessBurstCapacity
			if !r.ScaleValid {
				t.kn, t.knEBC = -1, -1
			}
			if !withEbb && r.ScaleValid {
				lastDesired = r.DesiredPodCount
			}
		}
		ticks = append(ticks, t)
		// The pods follow the decision by the next tick.
		if lastDesired >= 0 {
			ready = int(lastDesired)
			pc.ready = ready
		}
	}
	return ticks
}

// TestB6StepLoad requires identical decisions from both deciders on every
// tick, warm (10 → 1000 with history) and cold (1000 arriving at an idle
// revision at zero), and reports how fast each reaches the need.
func TestB6StepLoad(t *testing.T) {
	spec := autoscaling.NewDeciderSpec(autoscaling.DefaultConfig(), nil, 0, true)
	needed := int32(math.Ceil(stepHigh / spec.TargetValue)) // 15
	for _, cold := range []bool{false, true} {
		name := map[bool]string{false: "warm", true: "cold"}[cold]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ticks := runStep(spec, cold, true, true)
				var table strings.Builder
				firstShown, reached := -1, -1
				at := stepStart(cold)
				for _, tk := range ticks {
					if tk.ebb != tk.kn || (tk.ebb >= 0 && tk.ebbEBC != tk.knEBC) {
						t.Fatalf("t=%ds: ebb %d (EBC %d), knative %d (EBC %d)", tk.at, tk.ebb, tk.ebbEBC, tk.kn, tk.knEBC)
					}
					if tk.at < at-4 || tk.at > at+12 {
						continue
					}
					fmt.Fprintf(&table, "t=%3ds stable=%8.3f panic=%8.3f desired=%3d\n", tk.at, tk.stable, tk.panic, tk.ebb)
					if tk.at >= at && firstShown < 0 {
						firstShown = tk.at
						// What the first metric shows must be acted on at
						// the first tick that sees it.
						if need := int32(math.Ceil(tk.panic / spec.TargetValue)); tk.ebb < need {
							t.Errorf("t=%ds: desired %d below the %d the panic window shows", tk.at, tk.ebb, need)
						}
					}
					if tk.at >= at && reached < 0 && tk.ebb >= needed {
						reached = tk.at
					}
				}
				t.Logf("%s step at t=%ds, first decision on it at t=%ds, desired ≥ %d at t=%ds (+%ds)\n%s",
					name, at, firstShown, needed, reached, reached-at, table.String())
				if firstShown-at > 2 {
					t.Errorf("first decision %ds after the first metric", firstShown-at)
				}
				if cold && reached != at {
					t.Errorf("cold: %d pods only at t=%ds, want at the poke (t=%ds)", needed, reached, at)
				}
				if reached < 0 {
					t.Errorf("never reached %d pods", needed)
				}
			})
		})
	}
}

// BenchmarkB6StepLoad times one whole warm step run (150 one-second
// samples, 75 ticks) through each side's windows and decider.
func BenchmarkB6StepLoad(b *testing.B) {
	spec := autoscaling.NewDeciderSpec(autoscaling.DefaultConfig(), nil, 0, true)
	for _, side := range []string{"ebb", "knative"} {
		b.Run(side, func(b *testing.B) {
			var ticks int
			for b.Loop() {
				ticks += len(runStep(spec, false, side == "ebb", side == "knative"))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(ticks), "ns/tick")
		})
	}
}
