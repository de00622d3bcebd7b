package metric

import "time"

// Figures is a revision's traffic over a period, as its pods and the
// activators reported it.
type Figures struct {
	// Requests counts the answered requests in the period.
	Requests int64
	// Failures counts 5xx answers and failed connections.
	Failures int64
	// P99 is the 99th percentile latency, 0 with no requests.
	P99 time.Duration
}

// SuccessRate is the percent of requests that did not fail, 100 with no
// requests.
func (f Figures) SuccessRate() float64 {
	if f.Requests <= 0 {
		return 100
	}
	return 100 * float64(f.Requests-f.Failures) / float64(f.Requests)
}
