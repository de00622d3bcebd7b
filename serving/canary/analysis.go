// Package canary decides analysed canaries: how a Service's new revision
// takes traffic step by step while its figures pass, and when it is
// promoted or rolled back. Its decisions are pure functions of the
// rollout's state, the figures of a period and now; the state is kept in
// the Service's ledger, so a restarted ebb resumes where the last commit
// left off.
package canary

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// AnnotationPrefix starts the Service annotations that configure its
// analysis; the keys after it are those of the config-rollout ConfigMap.
const AnnotationPrefix = "canary.ebb.dev/"

// The analysis keys (annotations canary.ebb.dev/<key>, config-rollout
// keys <key>), named after Flagger's analysis fields.
const (
	KeyInterval           = "interval"
	KeyStepWeight         = "step-weight"
	KeyStepWeights        = "step-weights"
	KeyMaxWeight          = "max-weight"
	KeyThreshold          = "threshold"
	KeyRequestSuccessRate = "request-success-rate"
	KeyRequestDuration    = "request-duration"
	KeyMinRequests        = "min-requests"
)

// Keys lists the analysis keys.
func Keys() []string {
	return []string{KeyInterval, KeyStepWeight, KeyStepWeights, KeyMaxWeight, KeyThreshold,
		KeyRequestSuccessRate, KeyRequestDuration, KeyMinRequests}
}

// Analysis is how a canary is judged and stepped.
type Analysis struct {
	// Interval is the analysis period and the time between steps.
	Interval time.Duration
	// StepWeight is the percent added to the canary after each passing
	// check, up to MaxWeight; StepWeights, when set, is the ladder
	// instead.
	StepWeight  traffic.Percent
	StepWeights []traffic.Percent
	MaxWeight   traffic.Percent
	// Threshold is how many failed checks roll the canary back.
	Threshold int64
	// SuccessRate is the least percent of requests that must not fail in
	// a period.
	SuccessRate float64
	// Duration, when not 0, is the longest p99 latency a period may have.
	Duration time.Duration
	// MinRequests is how many requests a period needs to be judged;
	// fewer hold the step and count neither way.
	MinRequests int64
}

// Default is the analysis of a Service that sets none of the keys.
func Default() Analysis {
	return Analysis{Interval: time.Minute, StepWeight: 10, MaxWeight: 50, Threshold: 5, SuccessRate: 99, MinRequests: 10}
}

// Ladder is the canary's weights in order: StepWeights, or StepWeight,
// 2×StepWeight, … up to MaxWeight. A passing check at the last one
// promotes.
func (a Analysis) Ladder() []traffic.Percent {
	if len(a.StepWeights) > 0 {
		return a.StepWeights
	}
	var out []traffic.Percent
	for w := a.StepWeight; ; w += a.StepWeight {
		if w >= a.MaxWeight {
			return append(out, a.MaxWeight)
		}
		out = append(out, w)
	}
}

// KeyError is a bad value of one key.
type KeyError struct {
	Key     string
	Message string
}

func (e KeyError) Error() string { return e.Key + ": " + e.Message }

// Parse overlays base with the keys of data that start with prefix ("" for
// the config-rollout ConfigMap, AnnotationPrefix for a Service's
// annotations). set reports whether data had any of the keys. Keys data
// does not know are ignored; each bad value is an error naming its key
// (with prefix).
func Parse(base Analysis, data map[string]string, prefix string) (a Analysis, set bool, errs []KeyError) {
	a = base
	a.StepWeights = slices.Clone(base.StepWeights)
	bad := func(key, format string, args ...any) {
		errs = append(errs, KeyError{Key: prefix + key, Message: fmt.Sprintf(format, args...)})
	}
	for _, key := range Keys() {
		v, ok := data[prefix+key]
		if !ok {
			continue
		}
		set = true
		switch key {
		case KeyInterval, KeyRequestDuration:
			d, err := time.ParseDuration(v)
			switch {
			case err != nil:
				bad(key, "invalid value %q: want a duration such as 30s or 1m", v)
			case key == KeyInterval && d < time.Second:
				bad(key, "%s must be at least 1s", v)
			case key == KeyRequestDuration && d <= 0:
				bad(key, "%s must be positive", v)
			case key == KeyInterval:
				a.Interval = d
			default:
				a.Duration = d
			}
		case KeyStepWeight, KeyMaxWeight:
			n, ok := percent(v)
			switch {
			case !ok || n < 1:
				bad(key, "invalid value %q: want a whole percent in [1, 100]", v)
			case key == KeyStepWeight:
				a.StepWeight = n
			default:
				a.MaxWeight = n
			}
		case KeyStepWeights:
			ws, msg := ladder(v)
			if msg != "" {
				bad(key, "invalid value %q: %s", v, msg)
				continue
			}
			a.StepWeights = ws
		case KeyThreshold, KeyMinRequests:
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			switch {
			case err != nil || n < 0 || (key == KeyThreshold && n < 1):
				low := 0
				if key == KeyThreshold {
					low = 1
				}
				bad(key, "invalid value %q: want a whole number, at least %d", v, low)
			case key == KeyThreshold:
				a.Threshold = n
			default:
				a.MinRequests = n
			}
		case KeyRequestSuccessRate:
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 100 {
				bad(key, "invalid value %q: want a percent in [0, 100]", v)
				continue
			}
			a.SuccessRate = f
		}
	}
	if len(a.StepWeights) == 0 && a.StepWeight > a.MaxWeight && len(errs) == 0 {
		bad(KeyStepWeight, "%d is above max-weight %d", a.StepWeight, a.MaxWeight)
	}
	return a, set, errs
}

// percent parses a whole percent in [0, 100].
func percent(v string) (traffic.Percent, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	p := traffic.Percent(n)
	return p, err == nil && p.Valid()
}

// ladder parses "5,10,25,50": rising percents in [1, 99].
func ladder(v string) ([]traffic.Percent, string) {
	var out []traffic.Percent
	for f := range strings.SplitSeq(v, ",") {
		n, ok := percent(f)
		switch {
		case !ok || n < 1 || n > 99:
			return nil, "each weight must be a whole percent in [1, 99]"
		case len(out) > 0 && n <= out[len(out)-1]:
			return nil, "weights must rise"
		}
		out = append(out, n)
	}
	return out, ""
}
