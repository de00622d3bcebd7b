package stats

import (
	"bufio"
	"net"
	"net/http"
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
	answers   answers     // answers in the open bucket
	prev      metric.Stat // the last full bucket
}

// answers are a bucket's answered requests: how many, how many failed,
// and their latencies by metric.Bucket.
type answers struct {
	n, failed int64
	latency   [metric.Buckets]uint32
}

// New returns a tracker whose buckets are the wall-clock seconds, the
// first one from now to the end of its second (its average is over the
// whole second). pod names the reporter in the stats it returns.
func New(pod string, now time.Time) *Tracker {
	return &Tracker{pod: pod, start: now, bucket: time.Second, bucketEnd: now.Truncate(time.Second).Add(time.Second), last: now,
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

// Out records a request leaving at now, answered with status code after
// latency. The answer counts in the stat's Responses, Failures (5xx) and
// Latency unless the request came through an activator, which counts it
// itself, or the code is below 200 (an upgraded connection, 101, or none).
func (t *Tracker) Out(now time.Time, proxied bool, code int, latency time.Duration) {
	b := metric.Bucket(latency)
	t.mu.Lock()
	t.advance(now)
	t.conc--
	if proxied {
		t.pconc--
	} else {
		t.answer(code, b)
	}
	t.mu.Unlock()
}

// Pass records a request that arrived and left at now, answered at once
// with code (such as a rejection): In and Out at the same instant, under
// one lock.
func (t *Tracker) Pass(now time.Time, proxied bool, code int) {
	t.mu.Lock()
	t.advance(now)
	t.count++
	if proxied {
		t.pcount++
	} else {
		t.answer(code, 0)
	}
	t.mu.Unlock()
}

// answer counts an answer in the open bucket. t.mu is held.
func (t *Tracker) answer(code, bucket int) {
	if code < 200 {
		return
	}
	t.answers.n++
	if code >= 500 {
		t.answers.failed++
	}
	t.answers.latency[bucket]++
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

// Quiet reports whether no request is in flight and none arrived in the
// open second: the stats after the last full second hold nothing yet.
func (t *Tracker) Quiet() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conc == 0 && t.count == 0
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
		t.closeAnswers(&t.prev)
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

// closeAnswers moves the open bucket's answers into st, its histogram
// without trailing empty buckets. t.mu is held.
func (t *Tracker) closeAnswers(st *metric.Stat) {
	a := &t.answers
	if a.n == 0 {
		return
	}
	last := len(a.latency) - 1
	for last > 0 && a.latency[last] == 0 {
		last--
	}
	st.Responses, st.Failures = a.n, a.failed
	st.Latency = append([]uint32(nil), a.latency[:last+1]...)
	*a = answers{}
}

// StatusWriter remembers the status code a handler sent, for Out.
type StatusWriter struct {
	http.ResponseWriter
	code     int
	hijacked bool
}

// WriteHeader records the first final status code and sends it.
func (w *StatusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush flushes the underlying writer.
func (w *StatusWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack takes over the connection; the status is then 101.
func (w *StatusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

// Status is the status code sent: 101 after a hijack, 200 when the
// handler sent nothing.
func (w *StatusWriter) Status() int {
	switch {
	case w.hijacked:
		return http.StatusSwitchingProtocols
	case w.code == 0:
		return http.StatusOK
	}
	return w.code
}
