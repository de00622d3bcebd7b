package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	gosync "sync"
	"syscall"
	"time"
)

// service is the Service "web", analysed with the given interval,
// threshold and step weight, running the canary example's app as version
// (failing failPercent of its requests, spread evenly: at 50 every second
// one). It answers "<revision> (<version>)", a failure "<revision> failed
// on purpose".
const service = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations:
    canary.ebb.dev/interval: %s
    canary.ebb.dev/threshold: "%d"
    canary.ebb.dev/step-weight: "%d"
%sspec:
  template:
    spec:
      containers:
        - image: ko://github.com/ebb-dev/ebb/examples/canary/app
          env:
            - name: VERSION
              value: %s
            - name: FAIL_PERCENT
              value: "%d"
`

// host is web's host at the gateway.
const host = "web.default.svc.cluster.local"

// config is one analysis setting under test.
type config struct {
	interval  time.Duration
	threshold int
	step      int
	// minRequests is canary.ebb.dev/min-requests; 0 leaves ebb's default.
	minRequests int
}

func (c config) service(version string, failPercent int) string {
	more := ""
	if c.minRequests > 0 {
		more = fmt.Sprintf("    canary.ebb.dev/min-requests: \"%d\"\n", c.minRequests)
	}
	return fmt.Sprintf(service, c.interval, c.threshold, c.step, more, version, failPercent)
}

// writeRepo makes dir a Git work tree on main serving web v1; its
// go.work uses the ebb module at root, which holds the app.
func writeRepo(dir, root string, c config) error {
	for name, body := range map[string]string{
		"go.work":      "go 1.26.0\n\nuse " + root + "\n",
		"service.yaml": c.service("v1", 0),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	if _, err := git(dir, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	if _, err := git(dir, "add", "-A"); err != nil {
		return err
	}
	_, err := git(dir, "commit", "-q", "-m", "web v1")
	return err
}

// push writes web's template and commits it as the user, again when
// ebb's own ledger commit moved HEAD under git.
func push(dir, template, message string) error {
	if err := os.WriteFile(filepath.Join(dir, "service.yaml"), []byte(template), 0o644); err != nil {
		return err
	}
	for range 50 {
		out, err := git(dir, "commit", "-q", "-am", message)
		if err == nil {
			return nil
		}
		if !strings.Contains(out, "cannot lock ref") && !strings.Contains(out, "index.lock") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("git commit %q: HEAD kept moving", message)
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "user.name=user", "-c", "user.email=user@example.com"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// commit is a commit on main as the ref watcher saw it appear.
type commit struct {
	seen    time.Time
	author  string
	subject string
}

// watchBranch reads main's ref every 10 ms until stop is closed and
// reports every new commit, with when it was seen, on the channel it
// returns (closed when it stops).
func watchBranch(dir string, stop <-chan struct{}) <-chan commit {
	out := make(chan commit, 100)
	go func() {
		defer close(out)
		last := head(dir)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			h := head(dir)
			if h == last || h == "" {
				continue
			}
			seen := time.Now()
			log, err := git(dir, "log", "--reverse", "--format=%an%x00%s", last+".."+h)
			if err != nil {
				continue
			}
			last = h
			for line := range strings.SplitSeq(strings.TrimSpace(log), "\n") {
				an, s, _ := strings.Cut(line, "\x00")
				out <- commit{seen: seen, author: an, subject: s}
			}
		}
	}()
	return out
}

// head is main's commit: the loose ref ebb's and git's commits write,
// else what git resolves.
func head(dir string) string {
	if b, err := os.ReadFile(filepath.Join(dir, ".git", "refs", "heads", "main")); err == nil {
		return strings.TrimSpace(string(b))
	}
	out, _ := git(dir, "rev-parse", "-q", "--verify", "refs/heads/main")
	return strings.TrimSpace(out)
}

// upProcess is a running `ebb up DIR`, in a process group of its own.
type upProcess struct {
	cmd     *exec.Cmd
	gateway string
	mu      gosync.Mutex
	lines   []line
	exited  chan struct{}
}

// line is a line of ebb up's standard output and when it was read.
type line struct {
	at   time.Time
	text string
}

var servingLine = regexp.MustCompile(`on http://(127\.0\.0\.1:\d+) \(status: ebb get services --admin 127\.0\.0\.1:\d+\)`)

// startUp runs ebb up on dir and waits until it serves.
func startUp(ebb, dir string) (*upProcess, error) {
	cmd := exec.Command(ebb, "up", dir, "--addr", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	// Its own process group, so that stop can kill whatever it left; and
	// killed if this program dies first (its apps then die with it).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	u := &upProcess{cmd: cmd, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer close(u.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			u.mu.Lock()
			u.lines = append(u.lines, line{time.Now(), sc.Text()})
			u.mu.Unlock()
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		cmd.Wait()
	}()
	select {
	case u.gateway = <-addr:
		return u, nil
	case <-u.exited:
		return nil, errors.New("ebb up exited before serving")
	case <-time.After(2 * time.Minute):
		u.stop()
		return nil, errors.New("ebb up did not serve within 2m")
	}
}

// firstLine is when the first line of standard output containing each of
// parts was read, or the zero time.
func (u *upProcess) firstLine(parts ...string) time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, l := range u.lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l.text, p)
		}
		if ok {
			return l.at
		}
	}
	return time.Time{}
}

// stop interrupts ebb up, gives it 30 s to stop its apps, and then kills
// its process group: nothing it started outlives the round.
func (u *upProcess) stop() {
	u.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-u.exited:
	case <-time.After(30 * time.Second):
	}
	syscall.Kill(-u.cmd.Process.Pid, syscall.SIGKILL)
	<-u.exited
}
