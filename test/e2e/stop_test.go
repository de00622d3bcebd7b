package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// stubbornApp serves on $PORT and ignores SIGTERM.
const stubbornApp = `package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signal.Ignore(syscall.SIGTERM)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "still here") })
	fmt.Println(http.ListenAndServe(":"+os.Getenv("PORT"), nil))
}
`

// stubbornRepo is a serving repository whose one revision runs
// stubbornApp; spec is added to its template's spec.
func stubbornRepo(t *testing.T, spec string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":  "module example.test/stubborn\n\ngo 1.26\n",
		"main.go": stubbornApp,
		"service.yaml": `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: stubborn
  namespace: default
spec:
  template:
    spec:
` + spec + `      containers:
        - image: ko://example.test/stubborn
`,
	} {
		writeFile(t, filepath.Join(dir, name), body)
	}
	return dir
}

var waitingLine = regexp.MustCompile(`ebb: stopping: waiting up to (\S+) for stubborn-00001 \(pid (\d+)\)`)

// serveStubborn starts ebb up on dir and waits until the app answers;
// it returns the app's process.
func serveStubborn(t *testing.T, dir string) (*upProcess, int) {
	t.Helper()
	u := startUp(t, dir)
	eventually(t, "the stubborn app answering", 2*time.Minute, func() string {
		if code, body, err := u.get("stubborn.default.svc.cluster.local"); err != nil || code != 200 || body != "still here\n" {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	apps := appProcesses(u)
	if len(apps) != 1 {
		t.Fatalf("app processes %v, want one", apps)
	}
	return u, apps[0]
}

// waitExit waits, boundedly, for ebb up to exit and returns when it did;
// the exit stays there for the test's cleanup.
func waitExit(t *testing.T, u *upProcess, limit time.Duration) time.Time {
	t.Helper()
	select {
	case err := <-u.exited:
		at := time.Now()
		u.exited <- err
		if err != nil {
			t.Errorf("ebb up exit: %v", err)
		}
		return at
	case <-time.After(limit):
		t.Fatalf("ebb up did not stop within %v", limit)
		return time.Time{}
	}
}

// TestUpStopsAnAppThatIgnoresSIGTERMWithinItsGracePeriod: Ctrl-C gives a
// process that ignores SIGTERM its revision's grace period (the rendered
// terminationGracePeriodSeconds, here timeoutSeconds: 2), says so, then
// kills it.
func TestUpStopsAnAppThatIgnoresSIGTERMWithinItsGracePeriod(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	const grace = 2 * time.Second
	u, app := serveStubborn(t, stubbornRepo(t, "      timeoutSeconds: 2\n"))

	signaled := time.Now()
	if err := u.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	took := waitExit(t, u, time.Minute).Sub(signaled)
	t.Logf("ebb up stopped %v after SIGINT", took)
	if took > grace+time.Second {
		t.Errorf("ebb up took %v to stop, want at most the grace period (%v) plus 1s", took, grace)
	}
	if alive(app) {
		t.Errorf("the app (pid %d) outlived ebb up", app)
	}
	m := waitingLine.FindStringSubmatch(u.out())
	if m == nil || m[1] != "2s" || m[2] != strconv.Itoa(app) {
		t.Errorf("no %q line for pid %d and 2s in:\n%s", "ebb: stopping: waiting up to …", app, u.out())
	}
}

// TestUpSecondInterruptKillsAtOnce: while ebb up waits for a process
// that ignores SIGTERM (30 s, the local default), a second Ctrl-C kills
// it at once.
func TestUpSecondInterruptKillsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	u, app := serveStubborn(t, stubbornRepo(t, ""))
	if err := u.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ebb up saying what it waits for", 20*time.Second, func() string {
		if m := waitingLine.FindStringSubmatch(u.out()); m == nil || m[1] != "30s" || m[2] != strconv.Itoa(app) {
			return u.out()
		}
		return ""
	})
	if !alive(app) {
		t.Fatal("the app stopped on SIGTERM; it should ignore it")
	}
	again := time.Now()
	if err := u.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	took := waitExit(t, u, 20*time.Second).Sub(again)
	t.Logf("ebb up stopped %v after the second SIGINT", took)
	if took > 10*time.Second {
		t.Errorf("ebb up took %v to stop after the second Ctrl-C", took)
	}
	if alive(app) {
		t.Errorf("the app (pid %d) outlived ebb up", app)
	}
}

// TestUpSaysWhyARevisionIsNotReady: ebb get shows a revision whose
// process exits with Knative's reason and the end of its output.
func TestUpSaysWhyARevisionIsNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "service.yaml"), `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: broken
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: registry.example/unused
          command: ["sh", "-c", "echo cannot start >&2; exit 1"]
`)
	u := startUp(t, dir)
	eventually(t, "broken-00001 not ready with ExitCode1", time.Minute, func() string {
		r := u.revisions(t)["broken-00001"]
		if r.Ready != "False" || r.Reason != "ExitCode1: Container failed with: cannot start" {
			return fmt.Sprintf("%+v", r)
		}
		return ""
	})
}
