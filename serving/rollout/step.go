package rollout

import (
	"time"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// Step merges the desired shape (one revision per configuration, as
// Desired builds it from the traffic) with the previous state at now, and
// returns the state to serve and the time of the earliest step still due
// (zero when none is). It is Knative's Rollout.Step:
//
//   - a configuration whose latest revision is not the newest of its
//     previous state starts a rollout: 1 % is taken from the newest
//     previous revision that has any (the newest is drained first),
//     revisions left at 0 % are dropped, the new revision is appended at
//     1 % and the start time is now;
//   - otherwise a rollout in progress keeps its step parameters and, once
//     they are known and the next step time has come, moves StepSize
//     percent to the newest revision (see stepRevisions);
//   - a change of the configuration's percent is applied first
//     (adjustPercentage);
//   - a configuration at 1 % does not roll out, one at 0 % is left out,
//     a new configuration or a new tag takes its desired shape at once.
//
// Neither argument is modified. With no previous state, desired is the
// answer and nothing is due.
func Step(desired, prev Rollout, now time.Time) (Rollout, time.Time) {
	desired, prev = desired.DeepCopy(), prev.DeepCopy()
	sortConfigurations(&desired)
	sortConfigurations(&prev)
	if len(prev.Configurations) == 0 {
		return desired, time.Time{}
	}
	now = now.UTC().Round(0)
	var (
		out  Rollout
		wake time.Time
	)
	curs, prevs := desired.Configurations, prev.Configurations
	for len(curs) > 0 {
		tag := curs[0].Tag
		ccfgs := curs[:countTag(curs, tag)]
		curs = curs[len(ccfgs):]
		for len(prevs) > 0 && prevs[0].Tag < tag {
			prevs = prevs[1:]
		}
		pcfgs := prevs[:countTag(prevs, tag)]
		prevs = prevs[len(pcfgs):]
		if len(pcfgs) == 0 {
			// A new tag: nothing to roll from, so its configurations
			// take their desired shape at once.
			for _, c := range ccfgs {
				if c.Percent != 0 {
					out.Configurations = append(out.Configurations, c)
				}
			}
			continue
		}
		// Both lists are sorted by name: walk them together.
		for i, j := 0, 0; i < len(ccfgs); {
			switch {
			case j >= len(pcfgs) || ccfgs[i].ConfigurationName < pcfgs[j].ConfigurationName:
				// A configuration added now: no rollout yet.
				if ccfgs[i].Percent != 0 {
					out.Configurations = append(out.Configurations, ccfgs[i])
				}
				i++
			case ccfgs[i].ConfigurationName == pcfgs[j].ConfigurationName:
				switch p := ccfgs[i].Percent; {
				case p > 1:
					sc := stepConfig(ccfgs[i], pcfgs[j], now)
					out.Configurations = append(out.Configurations, sc)
					if nst := sc.StepParams.NextStepTime; !nst.IsZero() && (wake.IsZero() || nst.Before(wake)) {
						wake = nst
					}
				case p == 1:
					// The common A/B case of a configuration at 1 %:
					// nothing to step.
					out.Configurations = append(out.Configurations, ccfgs[i])
				}
				// p == 0 takes no part in a rollout.
				i++
				j++
			default:
				// A configuration removed now: nothing to roll out.
				j++
			}
		}
	}
	sortConfigurations(&out)
	return out, wake
}

func countTag(cfgs []ConfigurationRollout, tag string) int {
	n := 0
	for n < len(cfgs) && cfgs[n].Tag == tag {
		n++
	}
	return n
}

// stepConfig merges the desired shape of one configuration (a single
// revision) with its previous state; prev is the caller's copy and is
// changed.
func stepConfig(goal, prev ConfigurationRollout, now time.Time) ConfigurationRollout {
	ret := ConfigurationRollout{
		ConfigurationName: goal.ConfigurationName,
		Tag:               goal.Tag,
		Percent:           goal.Percent,
		Revisions:         goal.Revisions,
		// A new revision resets the step parameters: they stay empty
		// here and are set below when a rollout starts.
	}
	if len(prev.Revisions) > 0 {
		adjustPercentage(goal.Percent, &prev)
	}
	pc := len(prev.Revisions)
	if pc == 0 || goal.Revisions[0].RevisionName == prev.Revisions[pc-1].RevisionName {
		// No new revision. Work is left only if a rollout is in
		// progress (more than one revision).
		if pc > 1 {
			ret.Revisions = prev.Revisions
			ret.StepParams = prev.StepParams
			// Until the step parameters are known (ObserveReady),
			// nothing moves.
			if ret.StepParams.StepSize > 0 {
				stepRevisions(&ret, now)
			}
		}
		return ret
	}

	// A new revision: start its rollout. The step parameters other than
	// the start time are computed by ObserveReady.
	ret.StepParams = Params{StartTime: now}
	// Take 1 % from the newest revision that has any: the newest is
	// drained first.
	for i := pc - 1; i >= 0; i-- {
		if prev.Revisions[i].Percent > 0 {
			prev.Revisions[i].Percent--
			break
		}
	}
	out := make([]RevisionRollout, 0, pc+1)
	for _, r := range prev.Revisions {
		if r.Percent > 0 {
			out = append(out, r)
		}
	}
	newest := goal.Revisions[0]
	newest.Percent = 1
	ret.Revisions = append(out, newest)
	return ret
}

// adjustPercentage applies a change of the configuration's percent to a
// rollout: an increase goes to the newest revision, a decrease is taken
// from the oldest ones (those cut to 0 % are dropped), and 0 % ends the
// rollout.
func adjustPercentage(goal traffic.Percent, cr *ConfigurationRollout) {
	switch diff := goal - cr.Percent; {
	case goal == 0:
		cr.Revisions = nil
	case diff > 0:
		cr.Revisions[len(cr.Revisions)-1].Percent += diff
	case diff < 0:
		diff = -diff
		i := 0
		for diff > 0 && i < len(cr.Revisions) {
			if cr.Revisions[i].Percent > diff {
				cr.Revisions[i].Percent -= diff
				break
			}
			diff -= cr.Revisions[i].Percent
			i++
		}
		cr.Revisions = cr.Revisions[i:]
	}
}

// stepRevisions moves StepSize percent to the newest revision once now has
// reached NextStepTime. The points come from the older revisions, starting
// with the one just before the newest and moving towards the oldest; a
// revision left with nothing is dropped, and the newest never exceeds the
// configuration's percent. While more than one revision is left the next
// step is due StepDuration after now; otherwise the rollout is done and
// the step parameters are cleared.
func stepRevisions(goal *ConfigurationRollout, now time.Time) {
	if now.Before(goal.StepParams.NextStepTime) || len(goal.Revisions) < 2 {
		return
	}
	revLen := len(goal.Revisions)
	remaining := goal.StepParams.StepSize
	writePos := revLen - 1
	// The step can be larger than what the older revisions hold (the
	// configuration's percent was cut below it): then they all go, and
	// the newest is capped below.
	for readPos := revLen - 2; remaining > 0 && readPos >= 0; readPos-- {
		if goal.Revisions[readPos].Percent > remaining {
			goal.Revisions[readPos].Percent -= remaining
			break
		}
		remaining -= goal.Revisions[readPos].Percent
		writePos--
	}
	goal.Revisions[writePos] = goal.Revisions[revLen-1]
	goal.Revisions[writePos].Percent = min(goal.Revisions[writePos].Percent+goal.StepParams.StepSize, goal.Percent)
	goal.Revisions = goal.Revisions[:writePos+1]
	if len(goal.Revisions) > 1 {
		goal.StepParams.NextStepTime = now.Add(goal.StepParams.StepDuration.Duration)
	} else {
		goal.StepParams = Params{}
	}
}
