package scaler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/scaler/metric"
)

// answered is a stat of reporter for the second that ends at t0+sec: n
// answers, failed of them 5xx, all with latency d.
func answered(reporter string, sec int64, n, failed int64, d time.Duration) metric.Stat {
	lat := make([]uint32, metric.Bucket(d)+1)
	lat[metric.Bucket(d)] = uint32(n)
	return metric.Stat{PodName: reporter, Timestamp: 1000 + sec, Responses: n, Failures: failed, Latency: lat}
}

func TestAnswerLog(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(sec int64) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	ms := time.Millisecond
	type rec struct {
		st    metric.Stat
		scale float64
		now   int64 // seconds after t0
	}
	for _, tc := range []struct {
		name     string
		recs     []rec
		from, to int64
		want     metric.Figures
	}{
		{"empty", nil, 0, 10, metric.Figures{}},
		{"pods and activator add up", []rec{
			{answered("pod-a", 1, 10, 1, 5*ms), 1, 1},
			{answered("pod-b", 1, 20, 0, 5*ms), 1, 1},
			{answered("activator", 2, 70, 4, 5*ms), 1, 2},
		}, 0, 2, metric.Figures{Requests: 100, Failures: 5, P99: 4*ms + 990*time.Microsecond}},
		{"a pod's second once", []rec{
			{answered("pod-a", 1, 10, 1, 5*ms), 1, 1},
			{answered("pod-a", 1, 10, 1, 5*ms), 1, 2},
			{answered("pod-a", 2, 10, 0, 5*ms), 1, 2},
			{answered("pod-a", 1, 10, 1, 5*ms), 1, 3}, // late: older than one given
		}, 0, 5, metric.Figures{Requests: 20, Failures: 1, P99: 4*ms + 990*time.Microsecond}},
		{"period is (from, to]", []rec{
			{answered("pod-a", 1, 1, 0, ms), 1, 1},
			{answered("pod-a", 2, 10, 0, ms), 1, 2},
			{answered("pod-a", 3, 100, 0, ms), 1, 3},
			{answered("pod-a", 4, 1000, 0, ms), 1, 4},
		}, 1, 3, metric.Figures{Requests: 110, P99: 990 * time.Microsecond}},
		{"sample scaled", []rec{
			{answered("pod-a", 1, 3, 1, 100*ms), 10.0 / 7, 1},
		}, 0, 1, metric.Figures{Requests: 4, Failures: 1, P99: 80*ms + 19800*time.Microsecond}},
		{"history drops old seconds", []rec{
			{answered("pod-a", 1, 5, 5, ms), 1, 1},
			{answered("pod-a", 1+historySeconds, 7, 0, ms), 1, 1 + historySeconds},
		}, 0, 1 + historySeconds, metric.Figures{Requests: 7, P99: 990 * time.Microsecond}},
		{"too old to record", []rec{
			{answered("pod-a", 1, 5, 5, ms), 1, 1 + historySeconds},
		}, 0, 1 + historySeconds, metric.Figures{}},
		{"too far ahead", []rec{
			{answered("pod-a", 100, 5, 5, ms), 1, 1},
			{answered("pod-a", 2, 5, 0, ms), 1, 2},
		}, 0, 200, metric.Figures{Requests: 5, P99: 990 * time.Microsecond}},
		{"no timestamp is now", []rec{
			{metric.Stat{PodName: "activator", Responses: 2, Latency: []uint32{2}}, 1, 3},
		}, 2, 3, metric.Figures{Requests: 2, P99: 990 * time.Microsecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l answerLog
			for _, r := range tc.recs {
				l.record(r.st, r.scale, at(r.now))
			}
			got := l.figures(at(tc.from), at(tc.to))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("figures (-want +got):\n%s", diff)
			}
			if n := len(l.ring); n != 0 && n != int(historySeconds) {
				t.Errorf("ring of %d seconds, want %d", n, historySeconds)
			}
		})
	}
}

// TestAnswerLogBounded: the memory stays one ring however long it runs,
// reporters that left are forgotten, and an idle revision frees it.
func TestAnswerLogBounded(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var l answerLog
	for sec := int64(1); sec < 3*historySeconds; sec++ {
		pod := "pod-" + string(rune('a'+sec/historySeconds)) // a new pod every history
		l.record(answered(pod, sec, 1, 0, time.Millisecond), 1, t0.Add(time.Duration(sec)*time.Second))
	}
	end := t0.Add(3 * FiguresHistory)
	if len(l.ring) != int(historySeconds) || len(l.last) != 1 {
		t.Errorf("ring %d seconds, %d reporters; want %d, 1", len(l.ring), len(l.last), historySeconds)
	}
	if got := l.figures(t0, end); got.Requests != historySeconds-1 {
		t.Errorf("requests over the whole run = %d, want %d (the last history, the run stopped a second before its end)", got.Requests, historySeconds-1)
	}
	last := end.Add(-time.Second) // the last second recorded
	l.trim(last.Add(FiguresHistory - time.Second))
	if l.ring == nil {
		t.Errorf("trimmed before the history passed")
	}
	l.trim(last.Add(FiguresHistory))
	if l.ring != nil || l.last != nil {
		t.Errorf("idle for the whole history: ring and reporters kept")
	}
}

func TestMidSecond(t *testing.T) {
	for _, tc := range []struct{ now, want time.Duration }{
		{0, 500 * time.Millisecond},
		{100 * time.Millisecond, 400*time.Millisecond + time.Second},
		{499 * time.Millisecond, time.Second + time.Millisecond},
		{500 * time.Millisecond, time.Second},
		{700 * time.Millisecond, 800 * time.Millisecond},
	} {
		if got := midSecond(time.Unix(50, 0).Add(tc.now)); got != tc.want {
			t.Errorf("midSecond(50 s + %v) = %v, want %v", tc.now, got, tc.want)
		}
	}
}
