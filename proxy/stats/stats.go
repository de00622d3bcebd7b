package stats

import (
	"sync"
	"time"

	"github.com/ebb-dev/ebb/scaler/metric"
)

// Tracker accumulates requests in flight over one-second buckets. Time is
// passed in by the caller, so a test drives it by hand. It is safe for
// concurrent use.
type Tracker struct {
	pod    string
	start  time.Time
	bucket time.Duration

	mu        sync.Mutex
	bucketEnd time.Time
	last      time.Time // last time the areas were brought up to date
	conc      float64   // requests in flight now
	pconc     float64   // of which came via an activator
	area      float64   // concurrency × seconds in the open bucket
	parea     float64
	count     float64 // arrivals in the open bucket
	pcount    float64
	prev      metric.Stat // the last full bucket
}

// New returns a tracker whose first bucket starts at now. pod names the
// reporter in the stats it returns.
func New(pod string, now time.Time) *Tracker {
	return &Tracker{pod: pod, start: now, bucket: time.Second, bucketEnd: now.Add(time.Second), last: now,
		prev: metric.Stat{PodName: pod}}
}

// In records a request arriving at now; proxied means it came through an
// activator.
func (t *Tracker) In(now time.Time, proxied bool) {
	t.mu.Lock()
	t.advance(now)
	t.conc++
	t.count++
	if proxied {
		t.pconc++
		t.pcount++
	}
	t.mu.Unlock()
}

// Out records a request leaving at now.
func (t *Tracker) Out(now time.Time, proxied bool) {
	t.mu.Lock()
	t.advance(now)
	t.conc--
	if proxied {
		t.pconc--
	}
	t.mu.Unlock()
}

// Pass records a request that arrived and left at now (one answered at
// once, such as a rejection): In and Out at the same instant, under one
// lock.
func (t *Tracker) Pass(now time.Time, proxied bool) {
	t.mu.Lock()
	t.advance(now)
	t.count++
	if proxied {
		t.pcount++
	}
	t.mu.Unlock()
}

// Stat returns the stat of the last full second before now.
func (t *Tracker) Stat(now time.Time) metric.Stat {
	t.mu.Lock()
	t.advance(now)
	s := t.prev
	t.mu.Unlock()
	s.ProcessUptime = now.Sub(t.start).Seconds()
	return s
}

// InFlight returns the number of requests in flight.
func (t *Tracker) InFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int(t.conc)
}

// advance brings the open bucket up to now, closing it (and any whole
// buckets since) when now is past its end. t.mu is held.
func (t *Tracker) advance(now time.Time) {
	if now.Before(t.last) {
		now = t.last // a clock that steps back adds nothing
	}
	if !now.Before(t.bucketEnd) {
		d := t.bucketEnd.Sub(t.last).Seconds()
		t.area += t.conc * d
		t.parea += t.pconc * d
		sec := t.bucket.Seconds()
		t.prev = metric.Stat{
			PodName:                          t.pod,
			AverageConcurrentRequests:        t.area / sec,
			AverageProxiedConcurrentRequests: t.parea / sec,
			RequestCount:                     t.count,
			ProxiedRequestCount:              t.pcount,
			Timestamp:                        t.bucketEnd.Unix(),
		}
		t.area, t.parea, t.count, t.pcount = 0, 0, 0, 0
		t.last = t.bucketEnd
		t.bucketEnd = t.bucketEnd.Add(t.bucket)
		if !now.Before(t.bucketEnd) {
			// Whole buckets with no event: the concurrency stood still.
			n := now.Sub(t.last) / t.bucket
			t.last = t.last.Add(n * t.bucket)
			t.bucketEnd = t.last.Add(t.bucket)
			t.prev = metric.Stat{
				PodName:                          t.pod,
				AverageConcurrentRequests:        t.conc,
				AverageProxiedConcurrentRequests: t.pconc,
				Timestamp:                        t.last.Unix(),
			}
		}
	}
	d := now.Sub(t.last).Seconds()
	t.area += t.conc * d
	t.parea += t.pconc * d
	t.last = now
}
