package canary

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// Phase is where a rollout stands.
type Phase string

// The phases of a rollout.
const (
	// Progressing: the canary waits to be ready or takes steps.
	Progressing Phase = "Progressing"
	// Promoted: the canary took the full share; it is the stable revision.
	Promoted Phase = "Promoted"
	// RolledBack: the canary failed; the stable revision has its share
	// back and the canary is never routed again.
	RolledBack Phase = "RolledBack"
)

// State is a Service's rollout as its ledger records it: everything a
// restarted ebb needs to resume it.
type State struct {
	// Canary is the revision rolling out; Stable the one that had the
	// latestRevision traffic before it.
	Canary string `json:"canary"`
	Stable string `json:"stable"`
	Phase  Phase  `json:"phase"`
	// Weight is the canary's percent of the Service's traffic now (at
	// most the percent of its latestRevision targets); 0 until it is
	// ready.
	Weight traffic.Percent `json:"weight"`
	// FailedChecks counts the periods the canary failed.
	FailedChecks int64 `json:"failedChecks,omitempty"`
	// Started is when the canary was planned.
	Started metav1.Time `json:"started"`
	// ReadyBy is when the canary must have become ready: Started plus its
	// progress deadline (its template's serving.knative.dev/progress-deadline,
	// or config-deployment's), as planned then. One still not ready is
	// rolled back.
	ReadyBy metav1.Time `json:"readyBy"`
	// NextCheck is when the running period ends; nil until the first
	// step.
	NextCheck *metav1.MicroTime `json:"nextCheck,omitempty"`
	// Reason says why the rollout ended the way it did.
	Reason string `json:"reason,omitempty"`
	// Last is the latest judged period's figures.
	Last *Check `json:"last,omitempty"`
}

// Check is the figures of one judged period.
type Check struct {
	Canary Figures `json:"canary"`
	Stable Figures `json:"stable"`
}

// Figures is metric.Figures as a ledger keeps it.
type Figures struct {
	Requests int64 `json:"requests"`
	Failures int64 `json:"failures,omitempty"`
	// P99 is a Go duration, "12ms".
	P99 string `json:"p99,omitempty"`
}

// SuccessRate is the percentage of requests that did not fail, 100 with
// no requests.
func (f Figures) SuccessRate() float64 {
	return metric.Figures{Requests: f.Requests, Failures: f.Failures}.SuccessRate()
}

// String is one revision's figures of a period: "97.5% success (1 of 40
// requests failed), p99 12ms", or "no requests".
func (f Figures) String() string {
	if f.Requests == 0 {
		return "no requests"
	}
	out := fmt.Sprintf("%.1f%% success (%d of %d requests failed)", f.SuccessRate(), f.Failures, f.Requests)
	if f.P99 != "" {
		out += ", p99 " + f.P99
	}
	return out
}

func ledgerFigures(f metric.Figures) Figures {
	out := Figures{Requests: f.Requests, Failures: f.Failures}
	if f.P99 > 0 {
		out.P99 = roundLatency(f.P99).String()
	}
	return out
}

// roundLatency keeps two or three significant digits: 12ms, 1.25s.
func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// Verdict is what a decision did.
type Verdict string

// The verdicts of Decide.
const (
	// Wait: nothing is due; the state is unchanged.
	Wait Verdict = "wait"
	// Inconclusive: the period had fewer than MinRequests; the state is
	// unchanged and the next pass judges again.
	Inconclusive Verdict = "inconclusive"
	// Step: the canary passed and took the next weight.
	Step Verdict = "step"
	// Hold: the canary failed a check and keeps its weight.
	Hold Verdict = "hold"
	// Promote: the canary passed at the last weight.
	Promote Verdict = "promote"
	// Rollback: the canary failed Threshold checks.
	Rollback Verdict = "rollback"
)

// Period is the figures of the period that ends now.
type Period struct {
	Canary, Stable metric.Figures
}

// Due reports whether s's period has ended at now, given that figures are
// known from since on (when the runtime began observing): a period is
// judged only once a whole Interval of figures is there, so a restarted
// ebb waits a fresh period.
func Due(s *State, a Analysis, since, now time.Time) bool {
	return s.Phase == Progressing && s.Weight > 0 && s.NextCheck != nil &&
		!now.Before(s.NextCheck.Time) && now.Sub(since) >= a.Interval
}

// Window is the period Decide judges at now: the last Interval.
func Window(a Analysis, now time.Time) (from, to time.Time) { return now.Add(-a.Interval), now }

// Decide judges a due period of s (see Due) and returns the next state
// and what it did. It is pure.
func Decide(s State, a Analysis, p Period, now time.Time) (State, Verdict) {
	if p.Canary.Requests < a.MinRequests {
		return s, Inconclusive
	}
	next := s
	next.Last = &Check{Canary: ledgerFigures(p.Canary), Stable: ledgerFigures(p.Stable)}
	if why := a.failing(p.Canary); why != "" {
		next.FailedChecks++
		if next.FailedChecks >= a.Threshold {
			next.Phase, next.Weight, next.NextCheck = RolledBack, 0, nil
			next.Reason = fmt.Sprintf("%s, %d of %d checks", why, next.FailedChecks, a.Threshold)
			return next, Rollback
		}
		next.NextCheck = at(s.following(a, now))
		return next, Hold
	}
	ladder := a.Ladder()
	for _, w := range ladder {
		if w > s.Weight {
			next.Weight, next.NextCheck = w, at(s.following(a, now))
			return next, Step
		}
	}
	next.Phase, next.NextCheck, next.Reason = Promoted, nil, ""
	return next, Promote
}

// following is when the check after the one due at s.NextCheck is due.
// A check that ran less than half an interval late keeps the schedule
// (an interval after the one due), so that the tick and the pass do not
// push every later check back; one later than that (held for want of
// requests, or a new leader's first) starts the schedule again an
// interval after now, so that the weight it sets is held and judged for
// a whole interval of its own.
func (s State) following(a Analysis, now time.Time) time.Time {
	if s.NextCheck != nil && now.Sub(s.NextCheck.Time) < a.Interval/2 {
		return s.NextCheck.Add(a.Interval)
	}
	return now.Add(a.Interval)
}

// failing says which figure of f fails a, or "".
func (a Analysis) failing(f metric.Figures) string {
	if rate := f.SuccessRate(); rate < a.SuccessRate {
		return fmt.Sprintf("success %s < %v%%", rateString(rate), a.SuccessRate)
	}
	if a.Duration > 0 && f.P99 > a.Duration {
		return fmt.Sprintf("p99 %s > %s", roundLatency(f.P99), a.Duration)
	}
	return ""
}

// Start is the first step of a canary that became ready at now.
func Start(s State, a Analysis, now time.Time) State {
	s.Weight, s.NextCheck = a.Ladder()[0], at(now.Add(a.Interval))
	return s
}

// Describe is the figures of p as a commit subject gives them:
// "success 100.0%, p99 12ms, 611 req; stable 99.9%".
func Describe(p Period) string {
	out := "success " + rateString(p.Canary.SuccessRate())
	if p.Canary.P99 > 0 {
		out += ", p99 " + roundLatency(p.Canary.P99).String()
	}
	out += fmt.Sprintf(", %d req; stable %s", p.Canary.Requests, rateString(p.Stable.SuccessRate()))
	return out
}

func rateString(r float64) string { return fmt.Sprintf("%.1f%%", r) }

// at is a ledger time to the microsecond, as the ledger file keeps it, so
// that the state planned equals the state read back.
func at(t time.Time) *metav1.MicroTime {
	m := metav1.NewMicroTime(t.UTC().Truncate(time.Microsecond))
	return &m
}

// DeepCopy copies s; nil stays nil.
func (s *State) DeepCopy() *State {
	if s == nil {
		return nil
	}
	out := *s
	s.Started.DeepCopyInto(&out.Started)
	s.ReadyBy.DeepCopyInto(&out.ReadyBy)
	if s.NextCheck != nil {
		out.NextCheck = s.NextCheck.DeepCopy()
	}
	if s.Last != nil {
		last := *s.Last
		out.Last = &last
	}
	return &out
}
