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

// DefaultBackoff restarts quickly, as suits a developer's machine.
var DefaultBackoff = Backoff{Initial: 250 * time.Millisecond, Max: 10 * time.Second, Reset: 30 * time.Second}

// next returns the wait before the restart that follows an exit after a
// run of ran, given the previous wait.
func (b Backoff) next(prev, ran time.Duration) time.Duration {
	if prev == 0 || ran >= b.Reset {
		return b.Initial
	}
	return min(2*prev, b.Max)
}

// Exit describes one exit of a supervised process.
type Exit struct {
	Err      error // nil for exit status 0
	Ran      time.Duration
	Restarts int // restarts so far, this exit not counted
}

// Process supervises one container: it starts it, restarts it with
// back-off when it exits on its own, and stops it, with everything it
// started, on Stop.
type Process struct {
	c       Container
	out     io.Writer
	backoff Backoff
	onExit  func(Exit)

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}

	mu       sync.Mutex
	cmd      *exec.Cmd
	pid      int
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
	p := &Process{c: c, out: o.Output, backoff: o.Backoff, onExit: o.OnExit,
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
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = sysProcAttr()
	cmd.SysProcAttr.Credential = p.c.User
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.c.Path, err)
	}
	p.mu.Lock()
	p.cmd, p.pid = cmd, cmd.Process.Pid
	p.mu.Unlock()
	return cmd, nil
}

func (p *Process) supervise(cmd *exec.Cmd) {
	defer close(p.done)
	var wait time.Duration
	for {
		began := time.Now()
		err := cmd.Wait()
		ran := time.Since(began)
		// The container's own children die with it, as in a pod.
		killGroup(cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.stop:
			return
		default:
		}
		p.mu.Lock()
		restarts := p.restarts
		p.mu.Unlock()
		if p.onExit != nil {
			p.onExit(Exit{Err: err, Ran: ran, Restarts: restarts})
		}
		wait = p.backoff.next(wait, ran)
		t := time.NewTimer(wait)
		select {
		case <-p.stop:
			t.Stop()
			return
		case <-t.C:
		}
		next, err := p.start()
		for err != nil {
			if p.onExit != nil {
				p.onExit(Exit{Err: err, Restarts: restarts})
			}
			wait = p.backoff.next(wait, 0)
			t := time.NewTimer(wait)
			select {
			case <-p.stop:
				t.Stop()
				return
			case <-t.C:
			}
			next, err = p.start()
		}
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
		cmd = next
	}
}

// PID returns the process ID of the current run.
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
	p.stopOnce.Do(func() { close(p.stop) })
	p.mu.Lock()
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
