package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebb-dev/ebb/proxy/header"
	"github.com/ebb-dev/ebb/proxy/queue"
)

// Readiness probing of a pod's queue-proxy, as a kubelet would do it.
const (
	probeFast    = 50 * time.Millisecond
	probeSlow    = time.Second
	probeTimeout = time.Second
)

// pod is one replica of a revision: the user container as a supervised
// process and its queue-proxy in this process.
type pod struct {
	name    string
	spec    *podSpec
	started time.Time

	ready    atomic.Bool
	failed   atomic.Pointer[error]
	addr     string // the queue-proxy's serving address (host:port)
	stats    string // the queue-proxy's stats address
	stopOnce sync.Once
	stopped  chan struct{} // closed when Stop begins
	done     chan struct{} // closed when everything has exited

	proc        atomic.Pointer[Process]
	queueCancel context.CancelFunc
	queueDone   chan struct{}

	// exits counts the user container's exits since the pod was last
	// ready; last is the latest.
	mu    sync.Mutex
	exits int
	last  Exit
}

// startPod starts a pod in the background; changed is called whenever the
// pod's readiness changes.
func (r *Runtime) startPod(spec *podSpec, name string, changed func()) *pod {
	p := &pod{name: name, spec: spec, started: time.Now(),
		stopped: make(chan struct{}), done: make(chan struct{})}
	go p.run(r, changed)
	return p
}

func (p *pod) fail(err error) {
	p.failed.Store(&err)
}

// Err returns why the pod could not start, if it could not.
func (p *pod) Err() error {
	if e := p.failed.Load(); e != nil {
		return *e
	}
	return nil
}

func (p *pod) run(r *Runtime, changed func()) {
	defer close(p.done)
	log := r.opts.Logger.With("revision", p.spec.revision, "pod", p.name)
	if err := p.boot(r, log, changed); err != nil {
		p.fail(err)
		log.Error("pod cannot start", "error", err)
		p.shutdown(context.Background())
		changed()
		return
	}
	// Probe the queue-proxy until the pod is stopped: fast until ready,
	// then at a kubelet's pace, flipping readiness as it comes and goes.
	client := &http.Client{Timeout: probeTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	period := probeFast
	for {
		ok := probeQueue(client, p.addr)
		if ok != p.ready.Load() {
			p.ready.Store(ok)
			if ok {
				p.mu.Lock()
				p.exits = 0
				p.mu.Unlock()
				log.Info("pod ready", "address", p.addr)
			} else {
				log.Warn("pod not ready")
			}
			changed()
		}
		if ok {
			period = probeSlow
		} else {
			period = probeFast
		}
		select {
		case <-p.stopped:
			return
		case <-time.After(period):
		}
	}
}

// boot builds the image if needed, starts the user container and the
// queue-proxy in front of it; changed is called after every exit of the
// user container.
func (p *pod) boot(r *Runtime, log *slog.Logger, changed func()) error {
	// The user container binds PORT itself (Knative's contract: a user
	// program knows nothing of inherited sockets), so its port cannot be
	// handed over as a listener. It is held by one until just before the
	// container starts (through the build): only that moment is open to
	// another program binding it, and then the container exits and is
	// restarted with back-off, as a pod's would be.
	held, err := reservePort()
	if err != nil {
		return err
	}
	release := sync.OnceFunc(func() { held.Close() })
	defer release()
	userPort := held.Addr().(*net.TCPAddr).Port
	c, err := p.userContainer(r, userPort)
	if err != nil {
		return err
	}
	qs, err := p.queueProxy(r, log, userPort)
	if err != nil {
		return err
	}
	l, err := p.listen()
	if err != nil {
		return err
	}
	proc, err := p.startUserContainer(r, c, release, log, changed)
	if err != nil {
		l.HTTP.Close()
		l.Stats.Close()
		return err
	}
	p.proc.Store(proc)
	p.serveQueue(qs, l, log)
	return nil
}

// userContainer returns the pod's user container, listening on userPort:
// its command looked up, or its ko:// image built, and its arguments and
// environment expanded.
func (p *pod) userContainer(r *Runtime, userPort int) (Container, error) {
	s := p.spec
	overrides := map[string]string{"PORT": strconv.Itoa(userPort)}
	env, envList, err := podEnv(s.env, s.namespace, p.name, overrides)
	if err != nil {
		return Container{}, withReason(ReasonCreateContainerConfigError, err)
	}
	argv := make([]string, 0, len(s.command)+len(s.args))
	for _, a := range append(append([]string{}, s.command...), s.args...) {
		argv = append(argv, expand(a, env))
	}
	dir := resolveWorkingDir(s.workingDir, s.dir(r.opts.Dir))
	var path string
	switch {
	case len(s.command) > 0:
		if path, err = LookPath(argv[0], envList, dir); err != nil {
			return Container{}, startFailed(fmt.Errorf("command: %w", err))
		}
		argv = argv[1:]
	default:
		if path, err = p.build(r); err != nil {
			return Container{}, buildFailed(err)
		}
	}
	return Container{Path: path, Args: argv, Env: envList, Dir: dir}, nil
}

// build returns the program of the pod's ko:// image, building it if
// needed; the build is cancelled if the pod is stopped.
func (p *pod) build(r *Runtime) (string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-p.stopped:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer cancel()
	return p.spec.program(ctx, r.opts.Builder, r.opts.Dir)
}

// queueProxy returns the pod's queue-proxy, configured from its
// container's environment as `ebb queue` is, in front of the user
// container on userPort.
func (p *pod) queueProxy(r *Runtime, log *slog.Logger, userPort int) (*queue.Server, error) {
	s := p.spec
	queueEnv, _, err := podEnv(s.queueEnv, s.namespace, p.name, map[string]string{"USER_PORT": strconv.Itoa(userPort)})
	if err != nil {
		return nil, withReason(ReasonCreateContainerConfigError, fmt.Errorf("queue-proxy: %w", err))
	}
	// The probes name the container's declared port; here it listens on
	// userPort.
	declared, _ := strconv.Atoi(envValue(s.queueEnv, "USER_PORT"))
	if queueEnv[readinessEnv], err = localProbes(queueEnv[readinessEnv], declared, userPort); err != nil {
		return nil, withReason(ReasonCreateContainerConfigError, fmt.Errorf("queue-proxy: %w", err))
	}
	qcfg, err := r.opts.QueueConfig(func(k string) string { return queueEnv[k] })
	if err != nil {
		return nil, withReason(ReasonCreateContainerConfigError, fmt.Errorf("queue-proxy: %w", err))
	}
	qcfg.UserAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(userPort))
	qcfg.Pod = p.name
	qcfg.DrainQuietPeriod = r.opts.DrainQuietPeriod
	qcfg.Logger = log.With("container", queueContainerName)
	qs, err := queue.New(qcfg)
	if err != nil {
		return nil, fmt.Errorf("queue-proxy: %w", err)
	}
	return qs, nil
}

// listen opens the queue-proxy's serving and stats listeners on loopback
// ports and records their addresses.
func (p *pod) listen() (queue.Listeners, error) {
	serving, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return queue.Listeners{}, err
	}
	stats, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		serving.Close()
		return queue.Listeners{}, err
	}
	p.addr, p.stats = serving.Addr().String(), stats.Addr().String()
	return queue.Listeners{HTTP: serving, Stats: stats}, nil
}

// startUserContainer starts the user container c, sandboxed if its
// revision is untrusted, unless the pod was stopped meanwhile; release
// lets go of its port just before. changed is called after every exit.
func (p *pod) startUserContainer(r *Runtime, c Container, release func(), log *slog.Logger, changed func()) (*Process, error) {
	s := p.spec
	select {
	case <-p.stopped:
		return nil, errors.New("stopped while starting")
	default:
	}
	if sb := r.opts.Sandbox; sb != nil && s.untrusted {
		if err := sandboxed(sb, &c); err != nil {
			return nil, err
		}
	}
	var out = r.opts.Logs.Writer(s.revision + "/" + p.name)
	key := s.key()
	release()
	proc, err := Start(c, ProcessOptions{
		Output:  out,
		Backoff: r.opts.Backoff,
		// A retired revision's containers are not restarted.
		Restart: func() bool { return r.reachable(key) },
		OnExit: func(e Exit) {
			p.exited(e, log)
			changed()
		},
	})
	if err != nil {
		return nil, startFailed(err)
	}
	return proc, nil
}

// serveQueue runs the queue-proxy on l until the pod shuts down.
func (p *pod) serveQueue(qs *queue.Server, l queue.Listeners, log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	p.queueCancel, p.queueDone = cancel, make(chan struct{})
	go func() {
		defer close(p.queueDone)
		if err := qs.Serve(ctx, l); err != nil {
			log.Error("queue-proxy stopped", "error", err)
		}
	}()
}

// exited records an exit of the user container: the pod is not ready
// until its queue-proxy's probe passes again.
func (p *pod) exited(e Exit, log *slog.Logger) {
	p.ready.Store(false)
	p.mu.Lock()
	p.exits++
	p.last = e
	p.mu.Unlock()
	args := []any{"error", e.Err, "code", e.Code, "ran", e.Ran.Round(time.Millisecond), "restarts", e.Restarts}
	if e.Final {
		log.Warn("user container exited; not restarted: the revision is retired", args...)
		return
	}
	log.Warn("user container exited; restarting after back-off", append(args, "backoff", e.Backoff)...)
}

// state is what the revision's condition reads of the pod.
func (p *pod) state() podState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return podState{name: p.name, ready: p.ready.Load(), err: p.Err(), exits: p.exits, last: p.last}
}

// ended reports whether the pod's user container exited and will not be
// restarted, though the pod was not stopped.
func (p *pod) ended() bool {
	proc := p.proc.Load()
	if proc == nil {
		return false
	}
	select {
	case <-proc.Done():
	default:
		return false
	}
	select {
	case <-p.stopped:
		return false
	default:
		return true
	}
}

// Stop takes the pod out of service and stops it, as the kubelet does
// within the grace period: the queue-proxy drains first, then the user
// container gets SIGTERM; whatever runs when the grace period is over, or
// when ctx ends, gets SIGKILL. waiting, if set, is told of a container
// that is running when the stop begins.
func (p *pod) Stop(ctx context.Context, waiting func(Stopping)) {
	p.stopOnce.Do(func() {
		p.ready.Store(false)
		close(p.stopped)
	})
	<-p.done
	if proc := p.proc.Load(); proc != nil && waiting != nil {
		if pid := proc.PID(); pid > 0 {
			waiting(Stopping{Namespace: p.spec.namespace, Revision: p.spec.revision, Pod: p.name, PID: pid, Grace: p.spec.grace})
		}
	}
	p.shutdown(ctx)
}

// shutdown stops the queue-proxy and the user container within the grace
// period.
func (p *pod) shutdown(ctx context.Context) {
	graceCtx, cancel := context.WithTimeout(ctx, p.spec.grace)
	defer cancel()
	if p.queueCancel != nil {
		p.queueCancel()
		select {
		case <-p.queueDone:
		case <-graceCtx.Done():
		}
	}
	if proc := p.proc.Load(); proc != nil {
		_ = proc.Stop(graceCtx)
	}
	if p.queueCancel != nil {
		// With its container gone, what the queue-proxy still serves
		// ends at once.
		select {
		case <-p.queueDone:
		case <-ctx.Done():
		}
	}
}

// probeQueue asks a queue-proxy whether its user container is ready.
func probeQueue(c *http.Client, addr string) bool {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return false
	}
	req.Header.Set(header.Probe, header.ProbeQueue)
	req.Header.Set(header.UserAgent, header.KubeProbeUAPrefix+"ebb")
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// User container ports are chosen below Linux's ephemeral range, so that
// a port let go of is not handed to some other program's outgoing
// connection or ":0" listener before the container binds it.
const (
	userPortMin = 20000
	userPortMax = 32000
)

// userPorts hands out user container ports round-robin from a random
// start, so that concurrent pods and restarts rarely meet.
var userPorts = struct {
	sync.Mutex
	next int
}{next: userPortMin + rand.IntN(userPortMax-userPortMin)}

// reservePort returns a listener on a free loopback port for a user
// container, trying each port of the range at most once.
func reservePort() (net.Listener, error) {
	userPorts.Lock()
	defer userPorts.Unlock()
	for range userPortMax - userPortMin {
		port := userPorts.next
		userPorts.next++
		if userPorts.next >= userPortMax {
			userPorts.next = userPortMin
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		return l, nil
	}
	return nil, fmt.Errorf("no free port in %d-%d", userPortMin, userPortMax)
}
