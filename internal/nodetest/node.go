//go:build linux

package nodetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ebb-dev/ebb/internal/kubetest"
)

// Binaries are the names the node runs from its bin directory
// (hack/node-bin.sh).
var Binaries = []string{"kubelet", "kube-scheduler", "kube-proxy"}

// readyTimeout bounds each wait of Start: containerd's socket, the Node
// Ready. Each takes about a second on an idle machine.
const readyTimeout = 2 * time.Minute

// Node is a running single-node cluster: kubetest's control plane plus
// containerd, the kubelet, kube-scheduler and kube-proxy, all in the network
// namespace NodeName. The test reaches it only through Dial, Listen and
// HTTPClient.
type Node struct {
	// Cluster is the control plane; its Config dials through the
	// namespace.
	*kubetest.Cluster
	// Dir holds everything of the node: containerd's root and state, the
	// kubelet's directories, pod logs, the images, one log per process.
	Dir string

	ns      *netNS
	dns     net.PacketConn
	host    *host
	lock    *os.File
	procs   []*kubetest.Process // in start order
	stopped bool
}

// Start brings a node up from the control-plane binaries in kubeBin
// (hack/kube-bin.sh) and the node binaries in nodeBin (hack/node-bin.sh),
// keeping its files in dir, and waits until the Node is Ready. It takes the
// machine's node lock first (one node per machine: containerd and the
// kubelet use fixed host paths), waiting for it if another run holds it.
// The caller must Stop it, also when Start fails.
func Start(ctx context.Context, kubeBin, nodeBin, dir string) (*Node, error) {
	lock, err := takeLock()
	if err != nil {
		return nil, err
	}
	n := &Node{Dir: dir, lock: lock}
	if n.host, err = claimHost(lock, dir); err != nil {
		return n, err
	}
	if err := n.start(ctx, kubeBin, nodeBin); err != nil {
		return n, fmt.Errorf("nodetest: %w", err)
	}
	return n, nil
}

func (n *Node) start(ctx context.Context, kubeBin, nodeBin string) error {
	if err := n.network(); err != nil {
		return err
	}
	c, err := kubetest.New(ctx, kubeBin, filepath.Join(n.Dir, "cluster"), kubetest.Options{
		ControllerManager: true,
		Network:           &kubetest.Network{Address: NodeIP, Start: n.ns.Start, Dial: n.ns.Dial},
	})
	if err != nil {
		return err
	}
	n.Cluster = c
	if err := writeFiles(n.Dir, map[string]string{
		"containerd/config.toml":   containerdConfig(n.Dir),
		"cni/10-ebb-node.conflist": cniConfig(n.Dir),
		"kubelet/config.yaml":      kubeletConfig(n.Dir),
	}); err != nil {
		return err
	}
	if err := n.startContainerd(ctx); err != nil {
		return err
	}
	pause := Image{Ref: PauseImage, Entrypoint: []string{"/pause"}, User: "65535:65535"}
	if err := n.BuildImage(ctx, pause, "github.com/ebb-dev/ebb/internal/nodetest/pause"); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		return err
	}
	if n.dns, err = n.ns.ListenPacket("udp", NodeIP+":53"); err != nil {
		return err
	}
	go serveDNS(n.dns, cs)
	kubeconfig := c.Kubeconfig
	if err := n.run("kube-scheduler", filepath.Join(nodeBin, "kube-scheduler"),
		"--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
		"--leader-elect=false", "--secure-port", "0"); err != nil {
		return err
	}
	if err := n.run("kubelet", filepath.Join(nodeBin, "kubelet"),
		"--config", filepath.Join(n.Dir, "kubelet", "config.yaml"),
		"--kubeconfig", kubeconfig,
		"--root-dir", filepath.Join(n.Dir, "kubelet", "root"),
		"--cert-dir", filepath.Join(n.Dir, "kubelet", "pki"),
		"--hostname-override", NodeName,
		"--node-ip", NodeIP); err != nil {
		return err
	}
	if err := n.run("kube-proxy", filepath.Join(nodeBin, "kube-proxy"),
		"--kubeconfig", kubeconfig,
		"--hostname-override", NodeName,
		"--proxy-mode", "iptables",
		"--cluster-cidr", PodCIDR,
		"--conntrack-max-per-core", "0",
		"--conntrack-tcp-timeout-established", "0",
		"--conntrack-tcp-timeout-close-wait", "0",
		"--metrics-bind-address", "127.0.0.1:10249",
		"--healthz-bind-address", "127.0.0.1:10256"); err != nil {
		return err
	}
	return n.waitNodeReady(ctx)
}

// network makes the node's namespace: loopback, the bridge with the node's
// address, the Service range routed onto it, forwarding on and bridged
// traffic through iptables (kube-proxy's rules see pod-to-pod Service
// traffic). There is no default route: nothing leaves.
func (n *Node) network() error {
	ns, err := createNetNS(NodeName)
	if err != nil {
		return err
	}
	n.ns = ns
	for _, args := range [][]string{
		{"link", "add", bridge, "type", "bridge"},
		{"addr", "add", NodeIP + "/24", "dev", bridge},
		{"link", "set", bridge, "up"},
		{"route", "add", ServiceCIDR, "dev", bridge},
	} {
		if err := ns.ip(args...); err != nil {
			return err
		}
	}
	for k, v := range map[string]string{
		"net.ipv4.ip_forward":                 "1",
		"net.bridge.bridge-nf-call-iptables":  "1",
		"net.bridge.bridge-nf-call-ip6tables": "1",
	} {
		if err := ns.sysctl(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) startContainerd(ctx context.Context) error {
	if err := n.run("containerd", "containerd", "--config", filepath.Join(n.Dir, "containerd", "config.toml")); err != nil {
		return err
	}
	return wait(ctx, "containerd", n.proc("containerd"), func() error {
		return n.ctr(ctx, "version")
	})
}

// run starts a process of the node in its namespace.
func (n *Node) run(name, bin string, args ...string) error {
	p, err := kubetest.StartProcess(n.Dir, name, n.ns.Start, bin, args...)
	if err != nil {
		return err
	}
	n.procs = append(n.procs, p)
	return nil
}

// proc returns the node's process named name.
func (n *Node) proc(name string) *kubetest.Process {
	for _, p := range n.procs {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// ctr runs `ctr` against the node's containerd, in namespace k8s.io (the
// CRI's).
func (n *Node) ctr(ctx context.Context, args ...string) error {
	args = append([]string{"--address", socket(n.Dir), "--namespace", "k8s.io"}, args...)
	out, err := exec.CommandContext(ctx, "ctr", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Import loads a docker or OCI archive into the node's containerd, where
// pods find its images with imagePullPolicy Never.
func (n *Node) Import(ctx context.Context, archive string) error {
	return n.ctr(ctx, "images", "import", archive)
}

// BuildImage builds the Go command pkg as a static binary, packs it as img
// (its one file at img.Entrypoint[0]) and imports it.
func (n *Node) BuildImage(ctx context.Context, img Image, pkg string) error {
	dir := filepath.Join(n.Dir, "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := filepath.Base(img.Entrypoint[0])
	bin := filepath.Join(dir, name)
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, out)
	}
	img.Files = map[string]string{img.Entrypoint[0]: bin}
	archive := filepath.Join(dir, name+".tar")
	if err := img.WriteArchive(archive); err != nil {
		return err
	}
	return n.Import(ctx, archive)
}

// waitNodeReady waits until the Node reports Ready.
func (n *Node) waitNodeReady(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(n.Config())
	if err != nil {
		return err
	}
	return wait(ctx, "Node "+NodeName+" Ready", n.proc("kubelet"), func() error {
		node, err := cs.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("Node %s not Ready: %v", NodeName, node.Status.Conditions)
	})
}

// wait polls check until it succeeds, p exits, ctx ends or readyTimeout
// passes.
func wait(ctx context.Context, what string, p *kubetest.Process, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		last := check()
		if last == nil {
			return nil
		}
		select {
		case <-p.Done():
			return fmt.Errorf("%s: %w", what, p.Failure())
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s: %w", what, last), p.Failure())
		case <-tick.C:
		}
	}
}

// Dial connects to addr from inside the node's network: a pod, a Service's
// ClusterIP, the node's address.
func (n *Node) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return n.ns.Dial(ctx, network, addr)
}

// Listen listens inside the node's network, e.g. on NodeIP:0 for a server
// of the test's that pods reach.
func (n *Node) Listen(network, addr string) (net.Listener, error) {
	return n.ns.Listen(network, addr)
}

// HTTPClient returns a client whose connections are made inside the node's
// network.
func (n *Node) HTTPClient() *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{DialContext: n.Dial, MaxIdleConnsPerHost: 16},
	}
}

// Config is the admin REST config of the node's apiserver, dialling
// through the node's network.
func (n *Node) Config() *rest.Config { return n.Cluster.Config() }

// Stop tears the node down and restores the host: the node's daemons
// stop, every pod process is killed, containerd's shims and containerd
// stop, the control plane stops, and host.undo removes the rest (mounts,
// the network namespace, cgroups, sysctls, paths, Dir). It returns what
// could not be undone; the lock file then keeps the record, so that the
// next node tries again.
func (n *Node) Stop() error {
	if n == nil || n.stopped {
		return nil
	}
	n.stopped = true
	defer n.unlock()
	var errs []error
	for i := len(n.procs) - 1; i >= 0; i-- {
		if p := n.procs[i]; p.Name() != "containerd" {
			p.Stop(kubetest.StopGrace)
		}
	}
	// Pods and shims go before containerd, so that it does not restart
	// them; the rest is host.undo's.
	errs = append(errs, killPods())
	killByArg(socket(n.Dir))
	n.proc("containerd").Stop(kubetest.StopGrace)
	if n.Cluster != nil {
		n.Cluster.Stop()
	}
	if n.dns != nil {
		n.dns.Close()
	}
	if n.ns != nil {
		n.ns.close()
	}
	if n.host != nil {
		err := n.host.undo()
		errs = append(errs, err)
		if err == nil {
			errs = append(errs, n.lock.Truncate(0))
		}
	}
	return errors.Join(errs...)
}

// lockPath is the machine's node lock.
var lockPath = filepath.Join(os.TempDir(), "ebb-node.lock")

// takeLock takes the machine's node lock, waiting while another process
// holds it; the kernel releases it if this process dies.
func takeLock() (*os.File, error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("nodetest: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("nodetest: lock %s: %w", lockPath, err)
	}
	return f, nil
}

// claimHost returns the host as it was before any node, for a node in
// dir, and records it in the lock file until Stop has restored it. A node
// whose test process died left its record there: that node is undone first,
// and the host it recorded is the one to restore.
func claimHost(lock *os.File, dir string) (*host, error) {
	b, err := io.ReadAll(lock)
	if err != nil {
		return nil, fmt.Errorf("nodetest: lock %s: %w", lockPath, err)
	}
	var h *host
	if len(b) > 0 {
		var prior host
		if err := json.Unmarshal(b, &prior); err != nil {
			return nil, fmt.Errorf("nodetest: lock %s: %w", lockPath, err)
		}
		if err := prior.undo(); err != nil {
			return nil, fmt.Errorf("nodetest: undo the node left in %s: %w", prior.Dir, err)
		}
		prior.Dir = dir
		h = &prior
	} else if h, err = readHost(dir); err != nil {
		return nil, fmt.Errorf("nodetest: %w", err)
	}
	record, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if err := lock.Truncate(0); err != nil {
		return nil, err
	}
	if _, err := lock.WriteAt(record, 0); err != nil {
		return nil, err
	}
	return h, lock.Sync()
}

func (n *Node) unlock() {
	if n.lock != nil {
		n.lock.Close()
	}
}
