package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// canaryApp answers "<TARGET>\n"; with FAIL_EVERY=n every n-th request
// gets a 500.
const canaryApp = `package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
)

func main() {
	every, _ := strconv.ParseInt(os.Getenv("FAIL_EVERY"), 10, 64)
	var n atomic.Int64
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if every > 0 && n.Add(1)%every == 0 {
			http.Error(w, "failing on purpose", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, os.Getenv("TARGET"))
	})
	fmt.Println(http.ListenAndServe(":"+os.Getenv("PORT"), nil))
}
`

// canaryWeb is the Service "web", analysed with interval and the other
// keys given, running the app as target (failing every failEvery-th
// request when not 0).
func canaryWeb(interval, keys, target string, failEvery int) string {
	return fmt.Sprintf(`apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations:
    canary.ebb.dev/interval: %s
    canary.ebb.dev/min-requests: "5"
%sspec:
  template:
    spec:
      containers:
        - image: ko://example.test/canary/app
          env:
            - name: TARGET
              value: %s
            - name: FAIL_EVERY
              value: "%d"
`, interval, keys, target, failEvery)
}

// canaryRepo is a Git work tree serving canaryWeb(v1).
func canaryRepo(t *testing.T, interval, keys string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":       "module example.test/canary\n\ngo 1.26\n",
		"app/main.go":  canaryApp,
		"service.yaml": canaryWeb(interval, keys, "v1", 0),
	} {
		writeFile(t, filepath.Join(dir, name), body)
	}
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "web v1")
	return dir
}

// answer is one request of a recorder.
type answer struct {
	at   time.Time
	code int
	body string
}

// recorder sends requests for host one after another (about 40 a
// second) and keeps every answer, until stopped.
type recorder struct {
	mu      sync.Mutex
	answers []answer
	stop    chan struct{}
	done    chan struct{}
}

func record(u *upProcess, host string) *recorder {
	r := &recorder{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			select {
			case <-r.stop:
				return
			case <-time.After(25 * time.Millisecond):
			}
			code, body, err := u.get(host)
			if err != nil {
				body = err.Error()
			}
			r.mu.Lock()
			r.answers = append(r.answers, answer{time.Now(), code, strings.TrimSpace(body)})
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *recorder) finish() []answer {
	close(r.stop)
	<-r.done
	return r.answers
}

// since is a copy of the answers from t on.
func (r *recorder) since(t time.Time) []answer {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []answer
	for _, a := range r.answers {
		if !a.at.Before(t) {
			out = append(out, a)
		}
	}
	return out
}

// ledgerSubjects are the subjects of ebb's commits on the work tree's
// branch, oldest first.
func ledgerSubjects(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for line := range strings.SplitSeq(strings.TrimSpace(git(t, dir, "log", "--reverse", "--author=ebb", "--format=%s")), "\n") {
		out = append(out, line)
	}
	return out
}

// waitSubject waits for an ebb commit whose subject contains each of
// parts and returns it.
func waitSubject(t *testing.T, dir string, limit time.Duration, parts ...string) string {
	t.Helper()
	var found string
	eventually(t, fmt.Sprintf("a ledger commit with %q", parts), limit, func() string {
		for _, s := range ledgerSubjects(t, dir) {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(s, p)
			}
			if ok {
				found = s
				return ""
			}
		}
		return strings.Join(ledgerSubjects(t, dir), "\n")
	})
	return found
}

const canaryMain = "web.default.svc.cluster.local"

// userCommit commits every change in the work tree as the user, again
// when ebb's own ledger commit moved HEAD under git (a user committing
// in the tree ebb serves sees the same and commits again).
func userCommit(t *testing.T, dir, message string) {
	t.Helper()
	for range 20 {
		out, ok := gitOK(dir, "-c", "user.name=user", "-c", "user.email=user@example.com", "commit", "-q", "-am", message)
		if ok {
			return
		}
		if !strings.Contains(out, "cannot lock ref") && !strings.Contains(out, "index.lock") {
			t.Fatalf("git commit: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("git commit %q: HEAD kept moving", message)
}

// TestUpCanaryRolledBackAndPromoted: with an interval of 2 s and a
// threshold of 2, a canary that fails half its requests is rolled back
// within threshold × interval + 2 s of its first request, never having
// had more than its first step (20 %); a healthy one is promoted after
// its steps; every step is one ledger commit naming its figures.
func TestUpCanaryRolledBackAndPromoted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	const interval, threshold, step = 2 * time.Second, 2, 20
	keys := "    canary.ebb.dev/step-weight: \"20\"\n    canary.ebb.dev/max-weight: \"40\"\n    canary.ebb.dev/threshold: \"2\"\n"
	dir := canaryRepo(t, "2s", keys)
	u := startUp(t, dir)
	eventually(t, "web-00001 serving", 2*time.Minute, func() string {
		if code, body, err := u.get(canaryMain); err != nil || code != 200 || body != "v1\n" {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	rec := record(u, canaryMain)

	// A canary failing every second request.
	badAt := time.Now()
	writeFile(t, filepath.Join(dir, "service.yaml"), canaryWeb("2s", keys, "bad", 2))
	userCommit(t, dir, "web: bad")
	rollback := waitSubject(t, dir, 2*time.Minute, "default/web: rollback web-00002", "< 99%, 2 of 2 checks")
	time.Sleep(time.Second)
	var first, last time.Time
	var onCanary, all int
	answers := rec.since(badAt)
	for _, a := range answers {
		if a.body == "bad" || a.code == http.StatusInternalServerError {
			if first.IsZero() {
				first = a.at
			}
			last = a.at
		}
	}
	for _, a := range answers {
		switch {
		case a.at.Before(first) || a.at.After(last):
		case a.body == "bad" || a.code == http.StatusInternalServerError:
			onCanary++
			all++
		default:
			all++
		}
		if a.code != http.StatusOK && a.code != http.StatusInternalServerError || a.code == http.StatusOK && a.body != "v1" && a.body != "bad" {
			t.Errorf("answer at %s: %d %q", a.at.Format("15:04:05.000"), a.code, a.body)
		}
	}
	if first.IsZero() {
		t.Fatalf("the bad canary answered nothing before %q", rollback)
	}
	took := last.Sub(first)
	share := 100 * float64(onCanary) / float64(all)
	t.Logf("bad canary: first answer to last %v, %d of %d answers (%.1f%%); %q", took, onCanary, all, share, rollback)
	if limit := threshold*interval + 2*time.Second; took > limit {
		t.Errorf("the bad canary answered for %v, want at most threshold × interval + 2s = %v", took, limit)
	}
	// The share is a sample of a 20 % split: allow for its spread.
	if share > step+10 {
		t.Errorf("the bad canary had %.1f%% of the answers, want at most about %d%%", share, step)
	}
	for _, s := range ledgerSubjects(t, dir) {
		if strings.Contains(s, "web-00002 20% -> ") {
			t.Errorf("the bad canary stepped past %d%%: %q", step, s)
		}
	}
	after := rec.since(last.Add(500 * time.Millisecond))
	for _, a := range after {
		if a.code != http.StatusOK || a.body != "v1" {
			t.Errorf("after the rollback: %d %q", a.code, a.body)
			break
		}
	}

	// A healthy canary steps to 40 % and is promoted.
	writeFile(t, filepath.Join(dir, "service.yaml"), canaryWeb("2s", keys, "good", 0))
	userCommit(t, dir, "web: good")
	waitSubject(t, dir, 2*time.Minute, "default/web: promote web-00003 (success 100.0%")
	eventually(t, "web-00003 taking all the traffic", 30*time.Second, func() string {
		if a := rec.since(time.Now().Add(-time.Second)); len(a) < 10 || a[0].body != "good" || a[len(a)-1].body != "good" {
			return fmt.Sprint(a)
		}
		return ""
	})
	for _, a := range rec.finish() {
		if a.code != http.StatusOK && a.body != "bad" && !(a.code == http.StatusInternalServerError) {
			t.Errorf("a request failed outside the bad canary: %d %q at %s", a.code, a.body, a.at.Format("15:04:05.000"))
		}
	}
	subjects := ledgerSubjects(t, dir)
	t.Logf("ledger commits:\n%s", strings.Join(subjects, "\n"))
	want := []string{"default/web: canary web-00003 0% -> 20% (ready)", "default/web: canary web-00003 20% -> 40% (success 100.0%",
		"default/web: promote web-00003 (success 100.0%"}
	var got []string
	for _, s := range subjects {
		if strings.Contains(s, "web-00003") {
			got = append(got, s)
		}
	}
	i := 0
	for _, s := range got {
		if i < len(want) && strings.Contains(s, want[i]) {
			i++
		}
	}
	if i != len(want) {
		t.Errorf("web-00003's commits %q, want one per step: %q", got, want)
	}
	for _, s := range got {
		if strings.Contains(s, "->") && !strings.Contains(s, "(ready)") && (!strings.Contains(s, " req; stable ") || !strings.Contains(s, "p99 ")) {
			t.Errorf("a step's subject without its figures: %q", s)
		}
	}
}

// TestUpCanaryResumesAfterAKill: ebb up killed (SIGKILL) mid-rollout and
// started again routes the weight its last ledger commit recorded at
// once, waits a whole fresh interval before judging, and finishes the
// rollout.
func TestUpCanaryResumesAfterAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	const interval = 4 * time.Second
	keys := "    canary.ebb.dev/step-weights: \"20,40,60\"\n"
	dir := canaryRepo(t, "4s", keys)
	u := startUp(t, dir)
	eventually(t, "web-00001 serving", 2*time.Minute, func() string {
		if code, body, err := u.get(canaryMain); err != nil || code != 200 || body != "v1\n" {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	rec := record(u, canaryMain)
	writeFile(t, filepath.Join(dir, "service.yaml"), canaryWeb("4s", keys, "v2", 0))
	userCommit(t, dir, "web: v2")
	waitSubject(t, dir, 2*time.Minute, "default/web: canary web-00002 20% -> 40%")
	if err := u.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-u.exited
	u.exited <- nil
	rec.finish()
	ledger := git(t, dir, "show", "HEAD:.ebb/default/web.yaml")
	if !strings.Contains(ledger, "  weight: 40\n") || !strings.Contains(ledger, "  phase: Progressing\n") {
		t.Fatalf("the last ledger commit is not at 40%%:\n%s", ledger)
	}

	restarted := time.Now()
	u = startUp(t, dir)
	rec = record(u, canaryMain)
	defer rec.finish()
	// ebb up routes nothing before its first pass: count from the first
	// answer.
	var serving time.Time
	eventually(t, "web answering after the restart", 2*time.Minute, func() string {
		a := rec.since(restarted)
		if len(a) == 0 || a[len(a)-1].code != 200 {
			return fmt.Sprint(a)
		}
		serving = a[len(a)-1].at
		return ""
	})
	// Until the next step, the committed split: 40 % on web-00002.
	time.Sleep(2 * time.Second)
	var v2, all int
	for _, a := range rec.since(serving) {
		if a.code != http.StatusOK {
			continue
		}
		all++
		if a.body == "v2" {
			v2++
		}
	}
	share := 100 * float64(v2) / float64(all)
	t.Logf("after the restart, before the next step: %d of %d answers from web-00002 (%.1f%%)", v2, all, share)
	if all < 20 || share < 25 || share > 55 {
		t.Errorf("after the restart web-00002 had %.1f%% of %d answers, want about 40%%", share, all)
	}
	waitSubject(t, dir, 2*time.Minute, "default/web: promote web-00002")
	log := git(t, dir, "log", "--reverse", "--author=ebb", "--format=%ct %s")
	t.Logf("ledger commits:\n%s", log)
	if n := strings.Count(log, "canary web-00002 0% -> "); n != 1 {
		t.Errorf("web-00002 started from 0%% %d times, want once", n)
	}
	for line := range strings.SplitSeq(log, "\n") {
		var at int64
		if _, err := fmt.Sscan(line, &at); err != nil || !strings.Contains(line, "web-00002 40% -> 60%") {
			continue
		}
		if judged := time.Unix(at, 0); judged.Before(restarted.Add(interval - time.Second)) {
			t.Errorf("the first check after the restart came %v after it, want a whole interval (%v)", judged.Sub(restarted), interval)
		}
	}
	for _, a := range rec.since(serving) {
		if a.code != http.StatusOK {
			t.Errorf("after the restart: %d %q at %s", a.code, a.body, a.at.Format("15:04:05.000"))
			break
		}
	}
}
