package scaler

import (
	"math"
	"sync"
	"time"

	"github.com/ebb-dev/ebb/scaler/metric"
)

// FiguresHistory is how far back Figures can look: a revision's answers
// are kept per second for this long.
const FiguresHistory = 10 * time.Minute

// historySeconds is FiguresHistory in seconds, the size of a log's ring.
const historySeconds = int64(FiguresHistory / time.Second)

// maxSkew is how far ahead of the autoscaler's clock a reporter's
// seconds may be.
const maxSkew = 60

// answerLog is one revision's answers per second over the last
// FiguresHistory, added up over its pods and the activators. Each
// reporter's second is counted once: a second a reporter already gave (a
// pod scraped twice within its second) is not added again. Its memory is
// bounded: a ring of historySeconds seconds (about 110 KiB), allocated at
// the first answer and dropped once the revision has been idle for the
// whole history. It is safe for concurrent use.
type answerLog struct {
	mu   sync.Mutex
	ring []answerSecond   // indexed by second mod historySeconds
	last map[string]int64 // reporter → the last second added from it
	top  int64            // the newest second added
}

// answerSecond is the answers of the second that ends at Unix time at.
type answerSecond struct {
	at                 int64
	requests, failures int64
	latency            [metric.Buckets]uint32
}

// record adds a reporter's stat, its counts multiplied by scale (the
// scraped sample's pods / sampled) and rounded. A stat without a
// timestamp is for the second that ends at now.
func (l *answerLog) record(st metric.Stat, scale float64, now time.Time) {
	if st.Responses == 0 {
		return
	}
	at := st.Timestamp
	if at == 0 {
		at = now.Unix()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Seconds older than the history, or further ahead than clocks drift
	// apart, are dropped.
	if at <= l.last[st.PodName] || at <= now.Unix()-historySeconds || at > now.Unix()+maxSkew {
		return
	}
	if l.ring == nil {
		l.ring = make([]answerSecond, historySeconds)
		l.last = map[string]int64{}
	}
	l.last[st.PodName] = at
	if at > l.top {
		l.top = at
		l.forget(at - historySeconds)
	}
	s := &l.ring[at%historySeconds]
	if s.at != at {
		*s = answerSecond{at: at}
	}
	n := func(v int64) int64 {
		if scale == 1 {
			return v
		}
		return int64(math.Round(float64(v) * scale))
	}
	s.requests += n(st.Responses)
	s.failures += n(st.Failures)
	for i, c := range st.Latency[:min(len(st.Latency), metric.Buckets)] {
		s.latency[i] += uint32(n(int64(c)))
	}
}

// forget drops the reporters last heard before the second cutoff. l.mu is
// held.
func (l *answerLog) forget(cutoff int64) {
	for k, at := range l.last {
		if at <= cutoff {
			delete(l.last, k)
		}
	}
}

// figures adds up the seconds that end in (from, to].
func (l *answerLog) figures(from, to time.Time) metric.Figures {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ring == nil {
		return metric.Figures{}
	}
	first, last := from.Unix()+1, to.Unix()
	if to.Before(from) {
		return metric.Figures{}
	}
	first = max(first, last-historySeconds+1)
	var t metric.Tally
	for at := first; at <= last; at++ {
		s := &l.ring[at%historySeconds]
		if s.at != at {
			continue
		}
		t.Requests += s.requests
		t.Failures += s.failures
		for i, c := range s.latency {
			t.Latency[i] += int64(c)
		}
	}
	return t.Figures()
}

// trim frees the ring once no second in it is younger than the history.
func (l *answerLog) trim(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ring != nil && l.top <= now.Unix()-historySeconds {
		l.ring, l.last, l.top = nil, nil, 0
	}
}

// Figures returns a revision's answers in the seconds that end in
// (from, to], as its pods and the activators reported them: each second
// of each pod once; with more than 3 pods, from the scraped sample scaled
// to all of them (see SampleSize). Only the last FiguresHistory is kept.
// An unknown revision has no figures.
func (a *Autoscaler) Figures(key RevisionKey, from, to time.Time) metric.Figures {
	a.mu.Lock()
	r, ok := a.revisions[key]
	a.mu.Unlock()
	if !ok {
		return metric.Figures{}
	}
	return r.answers.figures(from, to)
}
