package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMeasure: t0 and t2 are the first and last canary answers after the
// push, the shares count the answers between them, and answers after t2
// that are not the stable revision's are strays.
func TestMeasure(t *testing.T) {
	push := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return push.Add(time.Duration(ms) * time.Millisecond) }
	v1 := func(ms int) answer { return answer{at: at(ms), code: 200, body: stableAnswer} }
	bad := func(ms int) answer { return answer{at: at(ms), code: 200, body: "web-00002 (bad)"} }
	fail := func(ms int) answer { return answer{at: at(ms), code: 500, body: "web-00002 failed on purpose"} }
	type got struct {
		T0, T2                           time.Duration
		Answers, Failed, After, Strays   int
		FailedPush, Canary, FailedCanary float64
	}
	for _, tc := range []struct {
		name    string
		answers []answer
		end     time.Time
		want    got
	}{{
		name: "a canary between stable answers",
		// Before the push, a bad-looking answer does not count.
		answers: []answer{bad(-10), v1(100), v1(200), fail(300), v1(400), bad(500), v1(600), fail(700), v1(800), v1(900)},
		end:     at(1000),
		want: got{T0: 300 * time.Millisecond, T2: 700 * time.Millisecond, Answers: 9, Failed: 2, After: 2,
			FailedPush: 100 * 2.0 / 7, Canary: 100 * 3.0 / 5, FailedCanary: 100 * 2.0 / 5},
	}, {
		name:    "an answer after t2 that is not v1's is a stray; answers after end are left out",
		answers: []answer{v1(100), bad(200), v1(300), {at: at(400), code: 503, body: "no"}, v1(500), bad(2000)},
		end:     at(1000),
		want: got{T0: 200 * time.Millisecond, T2: 200 * time.Millisecond, Answers: 5, Failed: 0, After: 3, Strays: 1,
			FailedPush: 0, Canary: 100, FailedCanary: 0},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := result{push: push}
			if err := r.measure(&load{answers: tc.answers}, tc.end); err != nil {
				t.Fatal(err)
			}
			g := got{T0: r.t0.Sub(push), T2: r.t2.Sub(push), Answers: r.answers, Failed: r.failed, After: r.after, Strays: r.strays,
				FailedPush: r.failedPush, Canary: r.canary, FailedCanary: r.failedCanary}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("measure (-want +got):\n%s", diff)
			}
		})
	}
	r := result{push: push}
	if err := r.measure(&load{answers: []answer{v1(100)}}, at(1000)); err == nil {
		t.Error("measure without a canary answer: no error")
	}
}
