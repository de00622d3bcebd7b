//go:build linux

package nodetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// netNS is a network namespace made with `ip netns add`, pinned at
// /run/netns/<name>. Processes started through it run in it for life; a
// dial or listen through it makes a socket that belongs to it, wherever the
// goroutine using the socket runs afterwards.
type netNS struct {
	name string
	path string
	// run carries work to one goroutine locked to a thread that has
	// entered the namespace, kept for the namespace's life: processes it
	// starts get the namespace, and their parent-death signal (sent when
	// the thread that started them ends) never fires early.
	run  chan func()
	quit chan struct{}
}

// createNetNS makes the namespace name (removing a stale one left by a run
// that died) and brings its loopback up.
func createNetNS(name string) (*netNS, error) {
	path := filepath.Join("/run/netns", name)
	if _, err := os.Stat(path); err == nil {
		if err := ip("netns", "delete", name); err != nil {
			return nil, err
		}
	}
	if err := ip("netns", "add", name); err != nil {
		return nil, err
	}
	n := &netNS{name: name, path: path, run: make(chan func()), quit: make(chan struct{})}
	started := make(chan error, 1)
	go n.loop(started)
	if err := <-started; err != nil {
		_ = ip("netns", "delete", name)
		return nil, err
	}
	if err := n.ip("link", "set", "lo", "up"); err != nil {
		n.delete()
		return nil, err
	}
	return n, nil
}

// loop runs work for the namespace on one thread until quit is closed. It
// never unlocks the thread: when loop returns, the thread ends with it.
func (n *netNS) loop(started chan<- error) {
	runtime.LockOSThread()
	if err := n.enter(); err != nil {
		started <- err
		return
	}
	started <- nil
	for {
		select {
		case f := <-n.run:
			f()
		case <-n.quit:
			return
		}
	}
}

// enter moves the calling thread into the namespace.
func (n *netNS) enter() error {
	f, err := os.Open(n.path)
	if err != nil {
		return fmt.Errorf("netns %s: %w", n.name, err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("netns %s: setns: %w", n.name, err)
	}
	return nil
}

// Start starts cmd in the namespace.
func (n *netNS) Start(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	select {
	case n.run <- func() { errc <- cmd.Start() }:
	case <-n.quit:
		return fmt.Errorf("netns %s: deleted", n.name)
	}
	return <-errc
}

// inside runs f on a fresh thread that has entered the namespace; the
// thread ends when f returns, so nothing else ever runs there.
func (n *netNS) inside(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := n.enter(); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Dial connects to addr from inside the namespace.
func (n *netNS) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.inside(func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Listen listens on addr inside the namespace.
func (n *netNS) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.inside(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// ListenPacket listens on addr (UDP) inside the namespace.
func (n *netNS) ListenPacket(network, addr string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := n.inside(func() error {
		var err error
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	return pc, err
}

// sysctl sets a namespaced sysctl (one under net.) inside the namespace.
func (n *netNS) sysctl(key, value string) error {
	return n.inside(func() error {
		return writeSysctl(key, value)
	})
}

// ip runs `ip -n NAME args...`.
func (n *netNS) ip(args ...string) error {
	return ip(append([]string{"-n", n.name}, args...)...)
}

// close ends the namespace's thread; the processes it started must have
// ended (their parent-death signal kills them when it ends).
func (n *netNS) close() {
	select {
	case <-n.quit:
	default:
		close(n.quit)
	}
}

// delete ends the namespace's thread and removes the namespace; what still
// lives in it (interfaces, routes, iptables rules) goes with it.
func (n *netNS) delete() error {
	n.close()
	return ip("netns", "delete", n.name)
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// sysctlPath is the /proc/sys file of key (dots become slashes).
func sysctlPath(key string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
}

func readSysctl(key string) (string, error) {
	b, err := os.ReadFile(sysctlPath(key))
	if err != nil {
		return "", fmt.Errorf("sysctl %s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func writeSysctl(key, value string) error {
	if err := os.WriteFile(sysctlPath(key), []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}
