package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// result is one round's measurements.
type result struct {
	load string
	// push is when the bad template was written (ebb up reads the work
	// tree); t0, t1, t2 as the package comment says; stdout is when ebb
	// up printed the rollback, after it routed it.
	push, t0, t1, t2, stdout time.Time
	rollback                 string
	answers, missed          int
	// failedPush is the percent of answers from push to t2 that failed;
	// canary and failedCanary the percent of answers from t0 to t2 that
	// came from the canary and that failed.
	failedPush, canary, failedCanary float64
	// failed counts the answers from push to t2 that failed.
	failed int
	// after counts the answers from t2 on, and strays those of them not
	// from the stable revision.
	after, strays int
	// promote is the time from a healthy canary's first step to its
	// promotion (with -healthy).
	promote time.Duration
}

// round runs ebb up on a fresh work tree, rolls a bad canary out under
// load and measures its rollback.
func (b bench) round(ctx context.Context, c config) (result, error) {
	dir, err := os.MkdirTemp(b.tmp, "repo-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	if err := writeRepo(dir, b.root, c); err != nil {
		return result{}, err
	}
	u, err := startUp(b.ebb, dir)
	if err != nil {
		return result{}, err
	}
	defer u.stop()
	if err := serves(ctx, u.gateway, stableAnswer); err != nil {
		return result{}, err
	}

	stopWatch := make(chan struct{})
	commits := watchBranch(dir, stopWatch)
	ctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loaded := make(chan *load, 1)
	go func() { loaded <- runLoad(ctx, u.gateway, host, b.rate, b.workers, b.limit) }()
	// Two seconds of load on the stable revision first.
	time.Sleep(2 * time.Second)

	r := result{load: loadAvg(), push: time.Now()}
	if err := push(dir, c.service("bad", 50), "web: fail every second request"); err != nil {
		return r, err
	}
	var ready, promoted time.Time
	var log []string
	tail := max(3*time.Second, c.interval)
	deadline := time.After(b.limit)
	for r.t1.IsZero() || b.healthy && promoted.IsZero() {
		var cm commit
		select {
		case cm = <-commits:
		case <-deadline:
			return r, fmt.Errorf("no rollback (or promotion) within %s; ebb's commits:\n%s", b.limit, strings.Join(log, "\n"))
		case <-ctx.Done():
			return r, ctx.Err()
		}
		if cm.author != "ebb" {
			continue
		}
		log = append(log, fmt.Sprintf("%s %s", cm.seen.Sub(r.push).Round(time.Millisecond), cm.subject))
		switch {
		case r.t1.IsZero() && strings.Contains(cm.subject, "default/web: rollback "):
			r.t1, r.rollback = cm.seen, cm.subject
		case !r.t1.IsZero() && strings.Contains(cm.subject, "% (ready)"):
			ready = cm.seen
		case !r.t1.IsZero() && strings.Contains(cm.subject, "default/web: promote "):
			promoted = cm.seen
		}
		if r.t1 == cm.seen && b.healthy {
			// The rollback shows in the answers before the next push.
			time.Sleep(tail)
			if err := push(dir, c.service("good", 0), "web: healthy"); err != nil {
				return r, err
			}
		}
	}
	if !b.healthy {
		// Keep the load on a while: every answer after t2 must be v1's.
		time.Sleep(tail)
	}
	stopLoad()
	l := <-loaded
	close(stopWatch)
	for range commits {
	}
	r.stdout = u.firstLine("default/web: rollback ")
	if promoted.After(ready) && !ready.IsZero() {
		r.promote = promoted.Sub(ready)
	}
	fmt.Fprintf(os.Stderr, "round at %s, ebb's commits (seen after the push):\n  %s\n", r.push.UTC().Format("15:04:05"), strings.Join(log, "\n  "))
	return r, r.measure(l, r.t1.Add(tail))
}

// The stable revision's answer, and how the bad canary's read: the app
// answers "<revision> (<version>)", or "<revision> failed on purpose".
const stableAnswer = "web-00001 (v1)"

func bad(a answer) bool {
	return strings.HasSuffix(a.body, " (bad)") || a.code == 500 && strings.HasSuffix(a.body, " failed on purpose")
}

// measure reads t0, t2 and the shares from the answers to the bad canary.
// Answers after end (the push of the healthy canary, if any) are left
// out.
func (r *result) measure(l *load, end time.Time) error {
	r.missed = l.missed
	for _, a := range l.answers {
		if a.at.Before(r.push) || a.at.After(end) {
			continue
		}
		r.answers++
		if bad(a) {
			if r.t0.IsZero() {
				r.t0 = a.at
			}
			r.t2 = a.at
		}
	}
	if r.t0.IsZero() {
		return errors.New("no answer from the bad canary")
	}
	failed, all := count(l.answers, r.push, r.t2, answer.failed)
	r.failed, r.failedPush = failed, percent(failed, all)
	canary, all := count(l.answers, r.t0, r.t2, bad)
	r.canary = percent(canary, all)
	failed, _ = count(l.answers, r.t0, r.t2, answer.failed)
	r.failedCanary = percent(failed, all)
	stray, after := count(l.answers, r.t2.Add(time.Nanosecond), end, func(a answer) bool { return a.code != 200 || a.body != stableAnswer })
	r.strays, r.after = stray, after
	return nil
}

func percent(n, all int) float64 {
	if all == 0 {
		return 0
	}
	return 100 * float64(n) / float64(all)
}

func (r result) row(c config, round int) string {
	stdout, promote := "–", "–"
	if !r.stdout.IsZero() {
		stdout = sec(r.stdout.Sub(r.t0))
	}
	if r.promote > 0 {
		promote = fmt.Sprintf("%s (%d × %s = %s)", sec(r.promote), c.steps(), c.interval, sec(time.Duration(c.steps())*c.interval))
	}
	return fmt.Sprintf("| %s/%d | %d | %s | %d | %s | %s | %s | %s | %s | %d (%.2f%%) | %.1f%% | %.2f%% | %d | %d, %d not v1 | %s |",
		c.interval, c.threshold, round, r.load, r.answers, sec(r.t0.Sub(r.push)), sec(r.t1.Sub(r.t0)), sec(r.t2.Sub(r.t0)),
		sec(c.target()), stdout, r.failed, r.failedPush, r.canary, r.failedCanary, r.missed, r.after, r.strays, promote)
}

// serves waits (up to 2 minutes) until web answers body.
func serves(ctx context.Context, gateway, body string) error {
	c := &http.Client{Timeout: 10 * time.Second}
	var last answer
	for range 1200 {
		if last = send(c, gateway, host); last.code == 200 && last.body == body {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("web did not answer %q: last %d %q", body, last.code, last.body)
}
