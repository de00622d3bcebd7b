package local

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// quick restarts keep the tests short.
var quick = Backoff{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, Reset: time.Hour}

func sh(t *testing.T, script string) Container {
	t.Helper()
	path, err := LookPath("sh", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return Container{Path: path, Args: []string{"-c", script}, Env: []string{"PATH=" + os.Getenv("PATH")}}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// waitFile waits, boundedly (30 s: a loaded machine starts processes
// slowly), for a file the process writes.
func waitFile(t *testing.T, name string) string {
	t.Helper()
	for range 3000 {
		if b, err := os.ReadFile(name); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never written", name)
	return ""
}

func TestStopLeavesNoOrphans(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	// The container starts a grandchild, as shells and process managers do.
	c := sh(t, "sleep 60 & echo $! > "+pidFile+"; wait")
	p, err := Start(c, ProcessOptions{Backoff: quick})
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(waitFile(t, pidFile))
	if !alive(p.PID()) || !alive(child) {
		t.Fatalf("process %d or its child %d not running", p.PID(), child)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// The grandchild is not ours to reap; give init a moment to do it.
	for i := 0; alive(child) && i < 200; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(child) {
		t.Errorf("grandchild %d outlived Stop", child)
	}
	select {
	case <-p.Done():
	default:
		t.Error("Done not closed after Stop")
	}
}

func TestRestartsWithBackoffAndReportsExits(t *testing.T) {
	exits := make(chan Exit, 16)
	p, err := Start(sh(t, "exit 3"), ProcessOptions{Backoff: quick, OnExit: func(e Exit) {
		select {
		case exits <- e:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	for i := range 3 {
		select {
		case e := <-exits:
			var ee interface{ ExitCode() int }
			if !errors.As(e.Err, &ee) || ee.ExitCode() != 3 {
				t.Fatalf("exit %d: err %v, want exit status 3", i, e.Err)
			}
			if e.Restarts != i {
				t.Errorf("exit %d: Restarts %d, want %d", i, e.Restarts, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("exit %d never reported", i)
		}
	}
}

func TestKilledProcessIsRestarted(t *testing.T) {
	p, err := Start(sh(t, "exec sleep 60"), ProcessOptions{Backoff: quick})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	first := p.PID()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; p.Restarts() == 0 && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if p.Restarts() != 1 || p.PID() == first || !alive(p.PID()) {
		t.Fatalf("after kill: restarts %d, pid %d (was %d)", p.Restarts(), p.PID(), first)
	}
}

func TestStopKillsWhatIgnoresSIGTERM(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	p, err := Start(sh(t, `trap "" TERM; echo ok > `+ready+`; while :; do sleep 1; done`), ProcessOptions{Backoff: quick})
	if err != nil {
		t.Fatal(err)
	}
	waitFile(t, ready)
	pid := p.PID()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := p.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop: %v, want a kill after the deadline", err)
	}
	if alive(pid) {
		t.Errorf("pid %d still alive", pid)
	}
}

func TestStartFailsForMissingExecutable(t *testing.T) {
	_, err := Start(Container{Path: filepath.Join(t.TempDir(), "nope")}, ProcessOptions{})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v", err)
	}
}

func TestEnvIsExactlyTheContainers(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	logs := NewLogs(&lockedWriter{w: &out, mu: &mu})
	w := logs.Writer("hello-00001/pod-1")
	c := sh(t, `echo "PORT=$PORT HOME=${HOME:-unset}"; exec sleep 60`)
	c.Env = append(c.Env, "PORT=8123")
	p, err := Start(c, ProcessOptions{Output: w, Backoff: quick})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		mu.Lock()
		s := out.String()
		mu.Unlock()
		if s != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if got, want := out.String(), "hello-00001/pod-1 | PORT=8123 HOME=unset\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := LookPath("tool", []string{"PATH=" + dir}, ""); err != nil || got != exe {
		t.Errorf("bare name: %q, %v", got, err)
	}
	if got, _ := LookPath("./run.sh", nil, "/srv/app"); got != "/srv/app/./run.sh" {
		t.Errorf("relative: %q", got)
	}
	if _, err := LookPath("no-such-tool-ebb", []string{"PATH=" + dir}, ""); err == nil {
		t.Error("missing tool found")
	}
}

func TestDefaultBackoffIsTheKubelets(t *testing.T) {
	const s, m = time.Second, time.Minute
	for _, tc := range []struct {
		name string
		ran  []time.Duration // how long each run lasted
		want []time.Duration // the waits before the restarts
	}{
		{"crash loop", []time.Duration{0, 0, 0, 0, 0, 0, 0, 0},
			[]time.Duration{10 * s, 20 * s, 40 * s, 80 * s, 160 * s, 5 * m, 5 * m, 5 * m}},
		{"runs shorter than 10 min keep the back-off", []time.Duration{0, 0, 9 * m, 0},
			[]time.Duration{10 * s, 20 * s, 40 * s, 80 * s}},
		{"a run of 10 min starts over", []time.Duration{0, 0, 0, 10 * m, 0},
			[]time.Duration{10 * s, 20 * s, 40 * s, 10 * s, 20 * s}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []time.Duration
			var wait time.Duration
			for _, ran := range tc.ran {
				wait = DefaultBackoff.next(wait, ran)
				got = append(got, wait)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCrashLoopFollowsTheBackoff runs a real process that exits at once,
// in a bubble whose clock moves only while every goroutine waits: the
// exits land exactly on the back-off's schedule.
func TestCrashLoopFollowsTheBackoff(t *testing.T) {
	c := sh(t, "echo starting; echo boom >&2; exit 1")
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var exits []Exit
		var at []time.Duration
		done := make(chan struct{})
		p, err := Start(c, ProcessOptions{OnExit: func(e Exit) {
			at = append(at, time.Since(start))
			exits = append(exits, e)
			if len(exits) == 9 {
				close(done)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		<-done
		if err := p.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		const s, m = time.Second, time.Minute
		want := []time.Duration{0, 10 * s, 30 * s, 70 * s, 150 * s, 310 * s, 610 * s, 910 * s, 1210 * s}
		if diff := cmp.Diff(want, at); diff != "" {
			t.Errorf("exit times (-want +got):\n%s", diff)
		}
		var backoffs []time.Duration
		for i, e := range exits {
			backoffs = append(backoffs, e.Backoff)
			if e.Code != 1 || e.Output != "starting\nboom" || e.Restarts != i || e.Final {
				t.Errorf("exit %d: code %d, output %q, restarts %d, final %v", i, e.Code, e.Output, e.Restarts, e.Final)
			}
		}
		if diff := cmp.Diff([]time.Duration{10 * s, 20 * s, 40 * s, 80 * s, 160 * s, 5 * m, 5 * m, 5 * m, 5 * m}, backoffs); diff != "" {
			t.Errorf("reported back-off (-want +got):\n%s", diff)
		}
	})
}

// TestRestartDecidesEachStart: Restart is asked at each exit and again
// when the back-off is over; once it says no, the process stays down.
func TestRestartDecidesEachStart(t *testing.T) {
	c := sh(t, "exit 2")
	for _, tc := range []struct {
		name     string
		yes      int    // how many times Restart says yes
		final    []bool // the exits' Final
		restarts int
	}{
		{"no at an exit", 2, []bool{false, true}, 1},
		{"no after the back-off", 1, []bool{false}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				asked := 0
				var final []bool
				p, err := Start(c, ProcessOptions{
					Restart: func() bool { asked++; return asked <= tc.yes },
					OnExit:  func(e Exit) { final = append(final, e.Final) },
				})
				if err != nil {
					t.Fatal(err)
				}
				<-p.Done()
				if diff := cmp.Diff(tc.final, final); diff != "" {
					t.Errorf("exits' Final (-want +got):\n%s", diff)
				}
				if p.PID() != 0 || p.Restarts() != tc.restarts {
					t.Errorf("after the end: pid %d, restarts %d; want 0, %d", p.PID(), p.Restarts(), tc.restarts)
				}
				if err := p.Stop(context.Background()); err != nil {
					t.Errorf("Stop after the end: %v", err)
				}
			})
		})
	}
}

func TestExitCodes(t *testing.T) {
	run := func(script string) error {
		return exec.Command("sh", "-c", script).Run()
	}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"exit 3", run("exit 3"), 3},
		{"killed", run("kill -KILL $$"), 128 + int(syscall.SIGKILL)},
		{"terminated", run("kill -TERM $$"), 128 + int(syscall.SIGTERM)},
		{"never started", errors.New("fork/exec /nope: no such file or directory"), 128},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}
