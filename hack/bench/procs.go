package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// proc is a server process the benchmark started.
type proc struct {
	cmd  *exec.Cmd
	addr string
	// exited, when set, is closed once the process has been waited for.
	exited chan struct{}
}

// stop kills the process: graceful drain is not what is measured.
func (p *proc) stop() {
	p.cmd.Process.Kill()
	if p.exited != nil {
		<-p.exited
		return
	}
	p.cmd.Wait()
}

// rss reads the resident set of the process: all of it, and the part
// that is anonymous memory (heap, stacks) rather than pages of the binary.
type rss struct{ total, anon int }

func (p *proc) rss() rss {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return rss{}
	}
	var r rss
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			r.total, _ = strconv.Atoi(strings.Fields(v)[0])
		}
		if v, ok := strings.CutPrefix(l, "RssAnon:"); ok {
			r.anon, _ = strconv.Atoi(strings.Fields(v)[0])
		}
	}
	return r
}

func (r rss) String() string {
	if r.total == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB (anon %.1f)", float64(r.total)/1024, float64(r.anon)/1024)
}

// startListening starts a process that prints "listening on ADDR" first.
func startListening(name string, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s: no address: %w", name, err)
	}
	go io.Copy(io.Discard, out)
	addr, _ := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	return &proc{cmd: cmd, addr: addr}, nil
}

// errExited is startAt's failure when the process ended before answering.
var errExited = errors.New("exited before answering")

// startOnPort starts a process on a port it binds itself, found free
// (with any other ports start asks freePort for): ebb's and Knative's
// queue-proxies and ebb gateway take their ports as flags and environment,
// not as listeners handed over, and the queue-proxies log at level error
// here, so they do not say where they listen. A port is free only until
// the process binds it: when the process exits before answering (another
// program took a port in between), it is started again on other ports,
// three times at most.
func startOnPort(path string, start func(port int) (env []string, name string, args []string)) (*proc, error) {
	var err error
	for range 3 {
		port := freePort()
		env, name, args := start(port)
		var p *proc
		if p, err = startAt(hostPort(port), path, env, name, args...); !errors.Is(err, errExited) {
			return p, err
		}
	}
	return nil, err
}

// startAt starts a process that listens on a known address and waits until
// GET path answers 200.
func startAt(addr, path string, env []string, name string, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, addr: addr, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	for n := 0; n < 1000; n++ {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s on %s: %w", name, addr, errExited)
		default:
		}
		resp, err := http.Get("http://" + addr + path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("%s on %s never answered 200 on %s", name, addr, path)
}

// freePort returns a loopback port that was free a moment ago: see
// startOnPort.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func hostPort(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func (e *env) app(name string) (*proc, error) {
	return startListening(e.self, "app", "-name", name)
}

// ebbQueue starts `ebb queue` in front of user with containerConcurrency cc.
func (e *env) ebbQueue(user string, cc int) (*proc, error) { return e.queueProc(e.ebb, user, cc) }

// sidecarQueue starts the sidecar build's `queue`, as a pod runs it.
func (e *env) sidecarQueue(user string, cc int) (*proc, error) {
	return e.queueProc(e.sidecar, user, cc)
}

// queueProc starts bin's `queue` subcommand with every port a pod opens.
func (e *env) queueProc(bin, user string, cc int) (*proc, error) {
	return startOnPort("/", func(port int) ([]string, string, []string) {
		return []string{
				"USER_PORT=" + portOf(user), "CONTAINER_CONCURRENCY=" + strconv.Itoa(cc),
				"SERVING_NAMESPACE=default", "SERVING_SERVICE=hello", "SERVING_CONFIGURATION=hello",
				"SERVING_REVISION=hello-00001", "SERVING_POD=hello-pod", "SERVING_LOGGING_LEVEL=error",
			}, bin, []string{"queue", "--host", "127.0.0.1", "--http-port", strconv.Itoa(port), "--h2c-port", "-1",
				"--admin-port", strconv.Itoa(freePort()), "--stats-port", strconv.Itoa(freePort()), "--metrics-port", strconv.Itoa(freePort()),
				"--drain-quiet-period", "10ms"}
	})
}

// knativeQueue starts Knative's queue-proxy in front of user. It listens on
// fixed admin and metrics ports, so only one runs at a time.
func (e *env) knativeQueue(user string, cc int) (*proc, error) {
	return startOnPort("/", func(port int) ([]string, string, []string) {
		return []string{
			"CONTAINER_CONCURRENCY=" + strconv.Itoa(cc), "QUEUE_SERVING_PORT=" + strconv.Itoa(port),
			"QUEUE_SERVING_TLS_PORT=" + strconv.Itoa(freePort()), "USER_PORT=" + portOf(user),
			"REVISION_TIMEOUT_SECONDS=300", "SERVING_LOGGING_CONFIG=", "SERVING_LOGGING_LEVEL=error",
			"SERVING_NAMESPACE=default", "SERVING_CONFIGURATION=hello", "SERVING_REVISION=hello-00001",
			"SERVING_POD=hello-pod", "SERVING_POD_IP=127.0.0.1",
			`SERVING_READINESS_PROBE={"tcpSocket":{"port":` + portOf(user) + `,"host":"127.0.0.1"},"successThreshold":1}`,
		}, e.knative, nil
	})
}

func (e *env) stock(user string) (*proc, error) {
	return startListening(e.self, "stock", "-target", user)
}
