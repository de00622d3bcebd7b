package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

// gradualHello is the hello Service with TARGET set, rolled out over
// 20 s by Knative's annotation.
func gradualHello(target string) string {
	return strings.Replace(helloWith(target, "    - latestRevision: true\n      percent: 100\n"),
		"  namespace: default\n",
		"  namespace: default\n  annotations:\n    serving.knative.dev/rollout-duration: 20s\n", 1)
}

// sample is one answer of the load, by when its request was sent.
type sample struct {
	at   time.Time
	body string
	code int
}

// samples is a bounded load on one host from a few clients, keeping every
// answer with the time its request left.
type samples struct {
	mu   gosync.Mutex
	all  []sample
	stop chan struct{}
	wg   gosync.WaitGroup
}

func startSamples(u *upProcess, host string, clients int) *samples {
	s := &samples{stop: make(chan struct{})}
	for range clients {
		s.wg.Go(func() {
			for {
				select {
				case <-s.stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				at := time.Now()
				code, body, _ := u.get(host)
				s.mu.Lock()
				s.all = append(s.all, sample{at: at, body: strings.TrimSpace(body), code: code})
				s.mu.Unlock()
			}
		})
	}
	return s
}

func (s *samples) finish() []sample {
	close(s.stop)
	s.wg.Wait()
	return s.all
}

// knativeShare is Knative's split for a 20 s rollout of a revision taking
// 100 %, t after its start: 1 % for the shortest step (1 s); then
// dur = 20 − 1 = 19 s, steps = min(19/1, 100 − 1) = 19, stepSize =
// round(99/19) = 5 %, stepDuration = 19/19 = 1 s, the first step 1 s after
// that: 1 % before 2 s, 6 % at 2 s, 11 % at 3 s, …, 96 % at 20 s, 100 % at
// 21 s.
func knativeShare(t time.Duration) float64 {
	if t < 2*time.Second {
		return 1
	}
	steps := int((t-2*time.Second)/time.Second) + 1
	return float64(min(100, 1+5*steps))
}

var startTimeLine = regexp.MustCompile(`(?m)^\s*startTime: "?([0-9TZ:.\-]+)"?$`)

// TestUpGradualRollout: a Service annotated rollout-duration: 20s moves
// its traffic to a new revision over 20 s as Knative does, through the
// gateway, with one ledger commit at the start of the rollout and one at
// its end.
func TestUpGradualRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := copyExample(t, "hello", map[string]string{})
	svc := filepath.Join(dir, "service.yaml")
	writeFile(t, svc, gradualHello("World"))
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(dir, ".gitignore"), "go.work\n")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "hello, world")

	u := startUp(t, dir)
	const host = "hello.default.svc.cluster.local"
	eventually(t, "Hello World!", 2*time.Minute, func() string {
		if _, body, _ := u.get(host); body != "Hello World!\n" {
			return body
		}
		return ""
	})

	readyCommitted(t, dir, "hello-00001")
	load := startSamples(u, host, 4)
	writeFile(t, svc, gradualHello("Ebb"))
	// ebb commits hello-00002's ledger as soon as the file is saved:
	// retry a commit that lost the race for HEAD.
	eventually(t, "the user's commit", 30*time.Second, func() string {
		if out, err := userGit(dir, "commit", "-q", "-am", "hello: say Ebb"); err != nil {
			return fmt.Sprintf("%v: %s", err, out)
		}
		return ""
	})

	// The start: one commit recording the plan.
	var start time.Time
	eventually(t, "the rollout's plan committed", 2*time.Minute, func() string {
		ledger, ok := gitOK(dir, "show", "main:.ebb/default/hello.yaml")
		m := startTimeLine.FindStringSubmatch(ledger)
		if !ok || m == nil {
			return "no plan in the ledger yet"
		}
		var err error
		if start, err = time.Parse(time.RFC3339Nano, m[1]); err != nil {
			t.Fatalf("startTime %q: %v", m[1], err)
		}
		return ""
	})
	t.Logf("rollout started at %s", start.Format(time.RFC3339Nano))
	// The end: every answer from hello-00002, and a commit saying so.
	eventually(t, "the rollout's end committed", time.Minute, func() string {
		ledger, _ := gitOK(dir, "show", "main:.ebb/default/hello.yaml")
		if strings.Contains(ledger, "startTime:") {
			return "plan still in the ledger"
		}
		return ""
	})
	for range 50 {
		if code, body, err := u.get(host); err != nil || code != 200 || body != "Hello Ebb!\n" {
			t.Fatalf("after the rollout: %d %q %v", code, body, err)
		}
	}
	all := load.finish()

	// The split about 10 s in: the share of hello-00002's answers among
	// the requests sent between 9.5 s and 10.5 s, against Knative's
	// formula at each request's time.
	var n, ebb int
	var want float64
	for _, s := range all {
		if s.code != 200 {
			t.Errorf("a request at %s answered %d %q", s.at.Sub(start), s.code, s.body)
			continue
		}
		if d := s.at.Sub(start); d >= 9500*time.Millisecond && d < 10500*time.Millisecond {
			n++
			want += knativeShare(d)
			if s.body == "Hello Ebb!" {
				ebb++
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d requests around 10 s", n)
	}
	got, want := 100*float64(ebb)/float64(n), want/float64(n)
	t.Logf("around 10 s: hello-00002 answered %.1f%% of %d requests; Knative's formula: %.1f%%", got, n, want)
	if got < want-15 || got > want+15 {
		t.Errorf("hello-00002 answered %.1f%% of %d requests around 10 s, want %.1f%% ± 15", got, n, want)
	}
	log := git(t, dir, "log", "--format=%s", "main")
	t.Logf("git log:\n%s", log)
	var rollout []string
	for _, s := range strings.Split(log, "\n") {
		if strings.Contains(s, "rollout") {
			rollout = append(rollout, s)
		}
	}
	if len(rollout) != 2 {
		t.Errorf("%d commits about the rollout, want one at its start and one at its end:\n%s", len(rollout), fmt.Sprint(rollout))
	}
}
