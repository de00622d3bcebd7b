package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Container is one user container resolved to a local command.
type Container struct {
	// Path is the executable; Args are its arguments (without Path).
	Path string
	Args []string
	// Env is the complete environment, KEY=VALUE; nothing is inherited.
	Env []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// User, when set, is who the process runs as (ebb must be root).
	User *syscall.Credential
}

// Backoff is the restart policy of a process that exits on its own: the
// first restart waits Initial, each further one twice as long up to Max.
// A process that ran for at least Reset before exiting starts over at
// Initial.
type Backoff struct {
	Initial, Max, Reset time.Duration
}

// DefaultBackoff is the kubelet's CrashLoopBackOff: 10 s, 20 s, 40 s …
// capped at 5 min, starting over once a run lasted 10 min.
var DefaultBackoff = Backoff{Initial: 10 * time.Second, Max: 5 * time.Minute, Reset: 10 * time.Minute}

// next returns the wait before the restart that follows an exit after a
// run of ran, given the previous wait.
func (b Backoff) next(prev, ran time.Duration) time.Duration {
	if prev == 0 || ran >= b.Reset {
		return b.Initial
	}
	return min(2*prev, b.Max)
}

// Exit describes one exit of a supervised process, or one failed attempt
// to start it again.
type Exit struct {
	Err error // nil for exit status 0
	// Code is the exit status as a container runtime reports it: 128+N
	// for a process killed by signal N, 128 for a start that failed.
	Code int
	// Output is the end of what the run wrote: at most its last 80
	// lines and 2 KiB, what Kubernetes keeps of a container's log as
	// its termination message (FallbackToLogsOnError).
	Output   string
	Ran      time.Duration
	Restarts int // restarts so far, this exit not counted
	// Backoff is the wait before the next start.
	Backoff time.Duration
	// Final is set when the process will not be started again: the
	// Restart option said no.
	Final bool
}

// startErrorCode is the exit code of a container that could not start,
// as containerd reports it (reason StartError).
const startErrorCode = 128

// Process supervises one container: it starts it, restarts it with
// back-off when it exits on its own, and stops it, with everything it
// started, on Stop.
type Process struct {
	c       Container
	out     io.Writer
	tail    tail
	backoff Backoff
	onExit  func(Exit)
	restart func() bool

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}

	mu       sync.Mutex
	pid      int // 0 while no run is under way
	restarts int
}

// ProcessOptions tune a Process.
type ProcessOptions struct {
	// Output receives the process's stdout and stderr; nil discards them.
	Output io.Writer
	// Backoff is the restart policy; zero means DefaultBackoff.
	Backoff Backoff
	// OnExit, if set, is called after every exit (not after Stop).
	OnExit func(Exit)
	// Restart, if set, is asked after every exit, and again when the
	// back-off is over, whether to start the process again; false ends
	// the supervision (Done is closed). Nil always restarts.
	Restart func() bool
}

// Start starts c and supervises it until Stop. It fails only if the first
// start fails, so that a container that cannot run at all is reported at
// once instead of being retried forever.
func Start(c Container, o ProcessOptions) (*Process, error) {
	if o.Output == nil {
		o.Output = io.Discard
	}
	if o.Backoff == (Backoff{}) {
		o.Backoff = DefaultBackoff
	}
	if o.Restart == nil {
		o.Restart = func() bool { return true }
	}
	p := &Process{c: c, out: o.Output, backoff: o.Backoff, onExit: o.OnExit, restart: o.Restart,
		stop: make(chan struct{}), done: make(chan struct{})}
	cmd, err := p.start()
	if err != nil {
		return nil, err
	}
	go p.supervise(cmd)
	return p, nil
}

func (p *Process) start() (*exec.Cmd, error) {
	cmd := exec.Command(p.c.Path, p.c.Args...)
	cmd.Env = p.c.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = p.c.Dir
	p.tail.Reset()
	out := io.MultiWriter(p.out, &p.tail)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	cmd.SysProcAttr.Credential = p.c.User
	// Under the lock, so that Stop either sees the new run or keeps it
	// from starting.
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stop:
		return nil, errStopped
	default:
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.c.Path, err)
	}
	p.pid = cmd.Process.Pid
	return cmd, nil
}

// errStopped is a start that Stop came before.
var errStopped = errors.New("stopped")

func (p *Process) supervise(cmd *exec.Cmd) {
	defer close(p.done)
	var wait time.Duration
	for {
		began := time.Now()
		err := cmd.Wait()
		ran := time.Since(began)
		// The container's own children die with it, as in a pod.
		killGroup(cmd.Process.Pid, syscall.SIGKILL)
		p.mu.Lock()
		p.pid = 0
		p.mu.Unlock()
		e := Exit{Err: err, Code: exitCode(err), Output: p.tail.String(), Ran: ran}
		for {
			wait = p.backoff.next(wait, e.Ran)
			if !p.exited(e, wait) {
				return
			}
			if cmd, err = p.start(); err == nil {
				break
			} else if errors.Is(err, errStopped) {
				return
			}
			e = Exit{Err: err, Code: startErrorCode}
		}
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
	}
}

// exited reports e, then waits out the back-off. It returns whether to
// start the process again: false once Stop was called, or when Restart
// says no.
func (p *Process) exited(e Exit, wait time.Duration) bool {
	select {
	case <-p.stop:
		return false
	default:
	}
	e.Restarts, e.Backoff, e.Final = p.Restarts(), wait, !p.restart()
	if p.onExit != nil {
		p.onExit(e)
	}
	if e.Final {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-p.stop:
		return false
	case <-t.C:
	}
	return p.restart()
}

// exitCode is err's exit status as a container runtime reports it.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case !errors.As(err, &ee):
		return startErrorCode
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// PID returns the process ID of the current run, 0 between runs.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

// Restarts returns how many times the process was restarted.
func (p *Process) Restarts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restarts
}

// Done is closed once the process is stopped for good.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop sends SIGTERM to the container's process group and waits for it to
// exit; when ctx ends first, the group is killed. Stop returns once the
// process is gone and will not be restarted.
func (p *Process) Stop(ctx context.Context) error {
	p.mu.Lock()
	p.stopOnce.Do(func() { close(p.stop) })
	pid := p.pid
	p.mu.Unlock()
	killGroup(pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		killGroup(pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("stop %s (pid %d): killed: %w", p.c.Path, pid, ctx.Err())
	}
}

// killGroup signals the process group led by pid; a group that is already
// gone is not an error.
func killGroup(pid int, sig syscall.Signal) {
	if pid <= 0 {
		return
	}
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = syscall.Kill(pid, sig)
	}
}

// LookPath resolves a container command the way a container runtime
// would, but against this machine: a bare name is looked up in the PATH
// of env (or of ebb when env has none), a relative path against dir.
func LookPath(command string, env []string, dir string) (string, error) {
	if command == "" {
		return "", errors.New("empty command")
	}
	for _, c := range command {
		if c == '/' {
			if dir != "" && command[0] != '/' {
				return dir + string(os.PathSeparator) + command, nil
			}
			return command, nil
		}
	}
	path := os.Getenv("PATH")
	for _, kv := range env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			path = kv[5:]
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		f := d + string(os.PathSeparator) + command
		if st, err := os.Stat(f); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return f, nil
		}
	}
	return "", fmt.Errorf("%q: %w", command, exec.ErrNotFound)
}
