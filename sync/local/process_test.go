package local

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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

// waitFile waits, boundedly, for a file the process writes.
func waitFile(t *testing.T, name string) string {
	t.Helper()
	for range 500 {
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

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 4 * time.Second, Reset: time.Minute}
	var got []time.Duration
	var w time.Duration
	for range 5 {
		w = b.next(w, time.Second)
		got = append(got, w)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waits %v, want %v", got, want)
		}
	}
	if w := b.next(4*time.Second, 2*time.Minute); w != time.Second {
		t.Errorf("after a long run: %v, want reset to %v", w, time.Second)
	}
}
