package knativedecider

import (
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
)

// randomSpec draws a decider spec across the whole valid range, with the
// round values (defaults, boundaries) over-represented.
func randomSpec(r *rand.Rand) autoscaling.DeciderSpec {
	pick := func(round float64, lo, hi float64) float64 {
		if r.IntN(3) == 0 {
			return round
		}
		return lo + r.Float64()*(hi-lo)
	}
	s := autoscaling.DeciderSpec{
		MaxScaleUpRate:    pick(1000, 1.01, 20),
		MaxScaleDownRate:  pick(2, 1.01, 10),
		ScalingMetric:     []string{autoscaling.Concurrency, autoscaling.RPS}[r.IntN(2)],
		TotalValue:        []float64{1, 10, 100, 200, 37.5}[r.IntN(5)],
		ActivatorCapacity: pick(100, 1, 500),
		PanicThreshold:    pick(2, 1.1, 10),
		StableWindow:      time.Duration(6+r.IntN(115)) * time.Second,
		InitialScale:      int32(r.IntN(4)),
		Reachable:         r.IntN(5) != 0,
	}
	s.TargetValue = math.Max(autoscaling.TargetMin, s.TotalValue*pick(0.7, 0.01, 1))
	switch r.IntN(4) {
	case 0:
		s.TargetBurstCapacity = -1
	case 1:
		s.TargetBurstCapacity = 0
	case 2:
		s.TargetBurstCapacity = 211
	default:
		s.TargetBurstCapacity = math.Round(r.Float64()*5000) / 10
	}
	if r.IntN(2) == 0 {
		s.ScaleDownDelay = time.Duration(1+r.IntN(90)) * time.Second
	}
	if r.IntN(3) == 0 {
		s.ActivationScale = int32(2 + r.IntN(5))
	}
	return s
}

// load produces a concurrency sequence with quiet spells, steps, bursts
// and values exactly on pod boundaries.
type load struct {
	r      *rand.Rand
	level  float64
	target float64
}

func (l *load) next() (stable, panic float64) {
	switch l.r.IntN(20) {
	case 0:
		l.level = 0
	case 1:
		l.level = l.r.Float64() * 50 * l.target
	case 2:
		l.level *= 3
	default:
		l.level = math.Max(0, l.level*(0.8+0.4*l.r.Float64()))
	}
	stable = l.level
	panic = l.level * (0.5 + 2.5*l.r.Float64())
	if l.r.IntN(6) == 0 {
		// Exactly k pods' worth: ceil() boundaries and the panic threshold.
		panic = float64(l.r.IntN(30)) * l.target
	}
	if l.r.IntN(8) == 0 {
		stable = math.Round(stable)
	}
	return stable, panic
}

// TestDecidersAgree feeds ebb's and Knative's deciders the same randomized
// observations (fixed seeds, varied specs, irregular tick times) and
// requires the same validity, desired scale and excess burst capacity on
// every tick.
func TestDecidersAgree(t *testing.T) {
	const seeds, ticks = 300, 400
	var compared, valid, panics int
	for seed := range uint64(seeds) {
		synctest.Test(t, func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0xeb))
			spec := randomSpec(r)
			f := &feed{ready: r.IntN(12)}
			if r.IntN(10) == 0 {
				f.readyErr = true
			}
			p := newPair(spec, f)
			l := &load{r: r, target: spec.TargetValue}
			now := time.Now()
			for i := range ticks {
				switch r.IntN(10) {
				case 0: // a poke between ticks
					now = now.Add(time.Duration(r.IntN(2000)) * time.Millisecond)
				case 1: // a late tick
					now = now.Add(time.Duration(2000+r.IntN(5000)) * time.Millisecond)
				default:
					now = now.Add(2 * time.Second)
				}
				f.stable, f.panic = l.next()
				f.noData = r.IntN(25) == 0
				f.readyErr = r.IntN(40) == 0
				ebb, kn := p.tick(now)
				compared++
				if ebb.Valid {
					valid++
				}
				if !p.state.PanicTime.IsZero() {
					panics++
				}
				if ebb != kn {
					t.Fatalf("seed %d tick %d at +%v, spec %+v, input %+v:\nebb     %+v\nknative %+v",
						seed, i, now.Sub(time.Unix(946684800, 0)), spec, *f, ebb, kn)
				}
				// Pods follow the decision with some lag and noise.
				if ebb.Valid && r.IntN(3) != 0 {
					f.ready = max(0, int(ebb.Desired)+r.IntN(3)-1)
				}
			}
		})
	}
	t.Logf("%d ticks compared, %d valid, %d in panic mode", compared, valid, panics)
	if valid < compared/2 || panics == 0 {
		t.Errorf("the sequences exercise too little: %d valid, %d panicking of %d", valid, panics, compared)
	}
}

// TestDecidersAgreeSeedScenario is the worked example: containerConcurrency
// 10 at 70 % utilization and 100 concurrent requests want 15 pods.
func TestDecidersAgreeSeedScenario(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := autoscaling.DefaultConfig()
		spec := autoscaling.NewDeciderSpec(cfg, nil, 10, true)
		f := &feed{ready: 1, stable: 100, panic: 100}
		p := newPair(spec, f)
		now := time.Now()
		for i := range 5 {
			now = now.Add(2 * time.Second)
			ebb, kn := p.tick(now)
			if ebb != kn {
				t.Fatalf("tick %d: ebb %+v, knative %+v", i, ebb, kn)
			}
			if ebb.Desired != 15 {
				t.Errorf("tick %d: desired %d, want 15", i, ebb.Desired)
			}
			f.ready = int(ebb.Desired)
		}
	})
}
