package rollout

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// scenario is a rollout plan as planning makes it, with the shape the
// traffic asks for after it.
type scenario struct {
	plan, desired Rollout
	start, end    time.Time
}

// randomConfig plans the rollouts of one (tag, configuration): one to
// three new revisions, each arriving at a random time (often during the
// previous one's rollout), the percent sometimes changed on the way.
func randomConfig(rng *rand.Rand, tag string, start time.Time) (plan, desired Rollout, end time.Time) {
	percent := traffic.Percent(2 + rng.IntN(99))
	duration := time.Duration(1+rng.IntN(300)) * time.Second
	plan = tagged(Desired("c", "c-0", percent), tag)
	now := start
	for i := 1; i <= 1+rng.IntN(3); i++ {
		if rng.IntN(4) == 0 {
			percent = traffic.Percent(2 + rng.IntN(99))
		}
		desired = tagged(Desired("c", fmt.Sprintf("c-%d", i), percent), tag)
		plan, _ = Plan(plan, desired, now, duration)
		now = now.Add(time.Duration(rng.Int64N(int64(duration))))
	}
	return plan, desired, now.Add(duration + 5*time.Second)
}

func tagged(r Rollout, tag string) Rollout {
	for i := range r.Configurations {
		r.Configurations[i].Tag = tag
	}
	return r
}

func randomScenario(rng *rand.Rand) scenario {
	start := time.Unix(0, rng.Int64N(1<<62)).UTC()
	plan, desired, end := randomConfig(rng, "", start)
	if rng.IntN(2) == 0 {
		// A second configuration, its own rollout at its own times.
		p2, d2, e2 := randomConfig(rng, "x", start.Add(time.Duration(rng.Int64N(int64(time.Minute)))))
		plan.Configurations = append(plan.Configurations, p2.Configurations...)
		desired.Configurations = append(desired.Configurations, d2.Configurations...)
		if e2.After(end) {
			end = e2
		}
	}
	return scenario{plan: plan, desired: desired, start: start, end: end}
}

// stepUntil applies Step at each step time up to now, as a loop that
// wakes exactly when Step asks would.
func stepUntil(t *testing.T, s scenario, now time.Time) Rollout {
	t.Helper()
	state := s.plan
	var wake time.Time
	for _, c := range state.Configurations {
		if nst := c.StepParams.NextStepTime; !nst.IsZero() && (wake.IsZero() || nst.Before(wake)) {
			wake = nst
		}
	}
	for n := 0; !wake.IsZero() && !wake.After(now); n++ {
		if n > 1000 {
			t.Fatalf("no end to the steps of %+v", s.plan)
		}
		state, wake = Step(s.desired, state, wake)
	}
	return state
}

// TestSplitAtIsStepAtEachStepTime checks, over many random plans and
// times, that the split of a recorded plan at any moment is what Knative's
// Step gives when applied at each step time in turn.
func TestSplitAtIsStepAtEachStepTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 2026))
	inFlight := 0
	for n := 0; n < 1000; n++ {
		s := randomScenario(rng)
		if err := s.plan.Validate(); err != nil {
			t.Fatalf("Plan made an invalid plan: %v", err)
		}
		if !s.plan.Done() {
			inFlight++
		}
		for k := 0; k < 8; k++ {
			now := s.start.Add(time.Duration(rng.Int64N(int64(s.end.Sub(s.start)) + 1)))
			if k == 0 {
				now = s.end
			}
			want := stepUntil(t, s, now)
			got := SplitAt(s.plan, now)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("plan %+v at %v: SplitAt (-Step at each step time +got):\n%s", s.plan, now, diff)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("SplitAt made an invalid state: %v", err)
			}
		}
	}
	t.Logf("%d of 1000 random plans have a rollout in progress", inFlight)
	if inFlight < 300 {
		t.Errorf("only %d of 1000 random plans have a rollout in progress", inFlight)
	}
}
