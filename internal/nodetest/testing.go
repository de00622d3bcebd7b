//go:build linux

package nodetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ebb-dev/ebb/internal/kubetest"
)

// commands are what the node runs from the host: Debian's containerd,
// runc, iptables (kube-proxy, the kubelet) and conntrack (kube-proxy),
// iproute2, and Go to build the images.
var commands = []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc", "iptables", "conntrack", "ip", "go"}

// cniPlugins are the CNI plugins of the node's network, from Debian's
// containernetworking-plugins.
var cniPlugins = []string{"bridge", "host-local", "portmap", "loopback"}

// missing lists what a node needs and this machine lacks, each with how to
// get it: root, the binaries in $EBB_KUBE_BIN and $EBB_NODE_BIN, the
// commands and the CNI plugins.
func missing() []string {
	var out []string
	if os.Geteuid() != 0 {
		out = append(out, "root (the node makes a network namespace, mounts and cgroups)")
	}
	for _, env := range []struct {
		name, script string
		bins         []string
	}{
		{"EBB_KUBE_BIN", "hack/kube-bin.sh", kubetest.Binaries},
		{"EBB_NODE_BIN", "hack/node-bin.sh", Binaries},
	} {
		dir := os.Getenv(env.name)
		if dir == "" {
			out = append(out, fmt.Sprintf("$%s (export %s=$(%s))", env.name, env.name, env.script))
			continue
		}
		for _, b := range env.bins {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				out = append(out, fmt.Sprintf("%s=%s: %v", env.name, dir, err))
			}
		}
	}
	for _, c := range commands {
		if _, err := exec.LookPath(c); err != nil {
			out = append(out, fmt.Sprintf("command %s (hack/test.sh installs containerd runc containernetworking-plugins iptables conntrack)", c))
		}
	}
	for _, p := range cniPlugins {
		if _, err := os.Stat(filepath.Join("/usr/lib/cni", p)); err != nil {
			out = append(out, fmt.Sprintf("CNI plugin /usr/lib/cni/%s (Debian package containernetworking-plugins)", p))
		}
	}
	return out
}

// Require skips the test, or fails it under EBB_FULL_TEST=1 (the full test
// run, where a test that cannot run must fail), when the machine lacks
// something a node needs.
func Require(t testing.TB) {
	t.Helper()
	if m := missing(); len(m) > 0 {
		if os.Getenv("EBB_FULL_TEST") == "1" {
			t.Fatalf("a node needs: %v", m)
		}
		t.Skipf("a node needs: %v", m)
	}
}

// shared is the package's one lazily started node (see Shared).
var shared struct {
	once sync.Once
	n    *Node
	err  error
}

// Shared returns the node shared by the tests of one package, starting it
// on first use. The package's TestMain must call Main so that it is
// stopped. Tests sharing it keep to their own namespaces.
func Shared(t testing.TB) *Node {
	t.Helper()
	Require(t)
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "ebb-node-")
		if err != nil {
			shared.err = err
			return
		}
		shared.n, shared.err = Start(context.Background(), os.Getenv("EBB_KUBE_BIN"), os.Getenv("EBB_NODE_BIN"), dir)
	})
	if shared.err != nil {
		t.Fatalf("shared node: %v", shared.err)
	}
	return shared.n
}

// Main runs the package's tests and then stops the shared node, if one was
// started. A node that could not be torn down fails the run. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(nodetest.Main(m)) }
//
// m is a *testing.M, or anything whose Run runs the tests (and, say, stops
// what they shared before the node goes).
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if code != 0 && shared.n != nil {
		// The node's files go with it: show what its daemons last said.
		for _, p := range shared.n.procs {
			fmt.Fprintf(os.Stderr, "nodetest: %v\n", p.Failure())
		}
	}
	if err := shared.n.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "nodetest: teardown: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
