//go:build unix

package kubetest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Binaries are the names Cluster runs from its bin directory.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// readyTimeout bounds how long a process may take to become ready. The
// apiserver answers in about ten seconds on an idle two-core machine; the
// margin is for a busy one.
const readyTimeout = 3 * time.Minute

// StopGrace is how long a process has to exit after SIGTERM (Process.Stop).
const StopGrace = 10 * time.Second

// Options choose what Start runs besides etcd and kube-apiserver.
type Options struct {
	// ControllerManager also runs kube-controller-manager with every
	// default controller (Deployments get ReplicaSets and Pods, namespaces
	// get their default ServiceAccount, deleted namespaces are emptied)
	// except node lifecycle and taint eviction, so Nodes made by EnsureNode
	// stay Ready without a kubelet's heartbeat. Without it the
	// apiserver's ServiceAccount admission plugin is turned off, so that Pods
	// can be created in namespaces that have no default ServiceAccount.
	ControllerManager bool
	// Network, if set, is where the cluster's processes run and how the
	// test reaches them, in place of the host's loopback (see Network).
	Network *Network
}

// Network is a network of the test's own, a network namespace say, that a
// cluster runs in so that pods can reach its apiserver. Its ports are fixed,
// since the network holds nothing else: etcd listens on 127.0.0.1:2379 there,
// and the apiserver binds Address:6443 and advertises it as the endpoint of
// the "kubernetes" Service. The controller-manager publishes the apiserver's
// certificate as the root CA pods find in kube-root-ca.crt.
type Network struct {
	// Address is an address of the network's own, not loopback.
	Address string
	// Start starts a process in the network.
	Start func(*exec.Cmd) error
	// Dial connects from inside the network.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// start is how the cluster starts a process: in its network, if it has one.
func (o Options) start() func(*exec.Cmd) error {
	if o.Network == nil {
		return nil
	}
	return o.Network.Start
}

// dial is how the test reaches the cluster: through its network, if it has
// one.
func (o Options) dial() func(ctx context.Context, network, addr string) (net.Conn, error) {
	if o.Network == nil {
		return nil
	}
	return o.Network.Dial
}

// Cluster is a running etcd and kube-apiserver (and perhaps
// kube-controller-manager), all on 127.0.0.1.
type Cluster struct {
	// Dir holds the data, keys, kubeconfig and one log per process.
	Dir string
	// Kubeconfig is the path of an admin kubeconfig.
	Kubeconfig string
	// Host is the apiserver's URL, https://127.0.0.1:<port>.
	Host string

	bin   string
	opts  Options
	token string

	etcdURL string
	apiPort int

	mu        sync.Mutex
	etcd      *Process
	apiserver *Process
	cm        *Process
}

// New starts a cluster from the binaries in bin, keeping its files in dir.
// The caller must Stop it.
func New(ctx context.Context, bin, dir string, o Options) (*Cluster, error) {
	for _, b := range Binaries {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("kubetest: %w", err)
		}
	}
	token, err := newToken()
	if err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	if err := mkdirs(dir, "certs"); err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	if err := writeServiceAccountKey(filepath.Join(dir, "sa.key")); err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	if err := writeTokenFile(filepath.Join(dir, "tokens.csv"), token); err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	// The ports are free when chosen but released before the processes
	// bind them; if another process took one in between, start over on
	// other ports.
	for attempt := 1; ; attempt++ {
		c, err := newOnFreePorts(ctx, bin, dir, token, o)
		if err == nil {
			return c, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("kubetest: %w", err)
		}
	}
}

func newOnFreePorts(ctx context.Context, bin, dir, token string, o Options) (*Cluster, error) {
	if err := os.RemoveAll(filepath.Join(dir, "etcd")); err != nil {
		return nil, err
	}
	if err := mkdirs(dir, "etcd"); err != nil {
		return nil, err
	}
	host := "127.0.0.1"
	ports := []int{2379, 2380, 6443}
	if o.Network != nil {
		host = o.Network.Address
	} else {
		var err error
		if ports, err = freePorts(3); err != nil {
			return nil, err
		}
	}
	c := &Cluster{
		Dir:        dir,
		Kubeconfig: filepath.Join(dir, "admin.kubeconfig"),
		Host:       "https://" + net.JoinHostPort(host, strconv.Itoa(ports[2])),
		bin:        bin,
		opts:       o,
		token:      token,
		etcdURL:    "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		apiPort:    ports[2],
	}
	if err := writeKubeconfig(c.Kubeconfig, c.Host, token); err != nil {
		return nil, err
	}
	if err := c.start(ctx, ports[1]); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, peerPort int) error {
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	var err error
	c.etcd, err = StartProcess(c.Dir, "etcd", c.opts.start(), filepath.Join(c.bin, "etcd"),
		"--name", "default",
		"--data-dir", filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls", c.etcdURL,
		"--advertise-client-urls", c.etcdURL,
		"--listen-peer-urls", peer,
		"--initial-advertise-peer-urls", peer,
		"--initial-cluster", "default="+peer,
		"--unsafe-no-fsync",
		"--log-level", "warn",
	)
	if err != nil {
		return err
	}
	if err := c.waitReady(ctx, c.etcd, c.etcdURL+"/health", "", `"health":"true"`); err != nil {
		return err
	}
	if err := c.StartAPIServer(ctx); err != nil {
		return err
	}
	if c.opts.ControllerManager {
		return c.startControllerManager(ctx)
	}
	return nil
}

func (c *Cluster) apiserverArgs() []string {
	args := []string{
		"--etcd-servers", c.etcdURL,
		"--bind-address", c.bindAddress(),
		"--secure-port", strconv.Itoa(c.apiPort),
		"--cert-dir", filepath.Join(c.Dir, "certs"),
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(c.Dir, "sa.key"),
		"--service-account-signing-key-file", filepath.Join(c.Dir, "sa.key"),
		"--token-auth-file", filepath.Join(c.Dir, "tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	}
	if c.opts.Network != nil {
		// A kubelet's Node name need not resolve: logs and exec reach it
		// by its address.
		args = append(args, "--advertise-address", c.opts.Network.Address,
			"--kubelet-preferred-address-types", "InternalIP")
	} else {
		// The apiserver cannot publish a loopback address as the endpoints
		// of the "kubernetes" Service; tests reach it directly.
		args = append(args, "--endpoint-reconciler-type", "none")
	}
	if !c.opts.ControllerManager {
		args = append(args, "--disable-admission-plugins", "ServiceAccount")
	}
	return args
}

// bindAddress is the address the apiserver listens on.
func (c *Cluster) bindAddress() string {
	if c.opts.Network != nil {
		return c.opts.Network.Address
	}
	return "127.0.0.1"
}

// StartAPIServer starts kube-apiserver on the cluster's port, if it is not
// running, and waits until /readyz answers ok.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiserver != nil && !c.apiserver.Exited() {
		return nil
	}
	p, err := StartProcess(c.Dir, "kube-apiserver", c.opts.start(), filepath.Join(c.bin, "kube-apiserver"), c.apiserverArgs()...)
	if err != nil {
		return err
	}
	c.apiserver = p
	return c.waitReady(ctx, p, c.Host+"/readyz", c.token, "ok")
}

// StopAPIServer stops kube-apiserver (SIGTERM, then SIGKILL) and waits for
// it to exit; etcd keeps the cluster's state.
func (c *Cluster) StopAPIServer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.apiserver.Stop(StopGrace)
}

// RestartAPIServer stops kube-apiserver and starts it again on the same
// port, so REST configs made before stay valid.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	c.StopAPIServer()
	return c.StartAPIServer(ctx)
}

func (c *Cluster) startControllerManager(ctx context.Context) error {
	p, err := StartProcess(c.Dir, "kube-controller-manager", c.opts.start(), filepath.Join(c.bin, "kube-controller-manager"),
		c.controllerManagerArgs()...)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.cm = p
	c.mu.Unlock()
	// The controllers are running once the service-account controller has
	// given the default namespace its ServiceAccount.
	return c.waitReady(ctx, p, c.Host+"/api/v1/namespaces/default/serviceaccounts/default", c.token, `"name":"default"`)
}

func (c *Cluster) controllerManagerArgs() []string {
	args := []string{
		"--kubeconfig", c.Kubeconfig,
		"--authentication-kubeconfig", c.Kubeconfig,
		"--authorization-kubeconfig", c.Kubeconfig,
		"--service-account-private-key-file", filepath.Join(c.Dir, "sa.key"),
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--secure-port", "0",
	}
	if c.opts.Network != nil {
		// A real kubelet heartbeats: node lifecycle takes the not-ready
		// taint off its Node. Pods verify the apiserver with
		// kube-root-ca.crt.
		return append(args, "--root-ca-file", filepath.Join(c.Dir, "certs", "apiserver.crt"))
	}
	// Nodes here have no kubelet to heartbeat: without these two
	// controllers they stay Ready and their Pods are never evicted.
	args = append(args, "--controllers", "*,-node-lifecycle-controller,-taint-eviction-controller")
	return args
}

// Config returns a new admin REST config for the apiserver, without
// client-side rate limiting.
func (c *Cluster) Config() *rest.Config {
	return &rest.Config{
		Host:            c.Host,
		BearerToken:     c.token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             1000,
		Burst:           2000,
		Timeout:         30 * time.Second,
		Dial:            c.opts.dial(),
	}
}

// Stop ends every process of the cluster, controller-manager first.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cm.Stop(StopGrace)
	c.apiserver.Stop(StopGrace)
	c.etcd.Stop(StopGrace)
}

// waitReady polls url (with the bearer token, if any) until its body
// contains want, the process exits, ctx ends or readyTimeout passes.
func (c *Cluster) waitReady(ctx context.Context, p *Process, url, token, want string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
			DialContext:     c.opts.dial(),
		},
	}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		last = probe(ctx, client, url, token, want)
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s: %w", url, p.Failure())
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s not ready: %w", url, last), p.Failure())
		case <-tick.C:
		}
	}
}

func probe(ctx context.Context, client *http.Client, url, token, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	return nil
}

// PIDs returns the process ids of the running processes of the cluster (each
// leads its own process group).
func (c *Cluster) PIDs() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var pids []int
	for _, p := range []*Process{c.etcd, c.apiserver, c.cm} {
		if p != nil && !p.Exited() {
			pids = append(pids, p.cmd.Process.Pid)
		}
	}
	return pids
}
