package nodetest

import (
	"fmt"
	"os"
	"path/filepath"
)

// The node's fixed addresses. They live only in the node's network
// namespace, so they cannot clash with the host's.
const (
	// NodeName names the Node and the network namespace.
	NodeName = "ebb-node"
	// NodeIP is the bridge's address: the node's, the kubelet's and the
	// apiserver's, and the pods' gateway.
	NodeIP = "10.244.0.1"
	// PodCIDR is the range pods get their addresses from.
	PodCIDR = "10.244.0.0/24"
	// ServiceCIDR is the Services' range (kubetest's apiserver's); it is
	// routed onto the bridge, so that a ClusterIP packet kube-proxy has not
	// rewritten yet has a way, and only that one.
	ServiceCIDR = "10.96.0.0/16"
	// bridge is the CNI bridge's interface name.
	bridge = "cni0"
	// PauseImage is the pods' sandbox image, built by the node itself.
	PauseImage = "ebb.local/pause:1"
)

// containerdConfig is containerd's configuration (version 2): its own root,
// state and socket under dir; the local pause image; runc with cgroupfs;
// CNI plugins from Debian's containernetworking-plugins with the node's
// own configuration directory. restrict_oom_score_adj: a VM that refuses
// negative oom_score_adj even to root would fail every sandbox without it.
func containerdConfig(dir string) string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[6]q
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[7]q
`,
		filepath.Join(dir, "containerd", "root"),
		filepath.Join(dir, "containerd", "state"),
		socket(dir),
		filepath.Join(dir, "containerd", "ttrpc.sock"),
		filepath.Join(dir, "containerd", "opt"),
		PauseImage,
		filepath.Join(dir, "cni"),
	)
}

// socket is containerd's gRPC socket.
func socket(dir string) string { return filepath.Join(dir, "containerd", "containerd.sock") }

// cniConfig is the pod network: a bridge that is the pods' gateway (their
// default route, to the node's namespace, which has none of its own), with
// hairpin mode (a pod may reach itself through a Service), addresses from
// host-local (its allocations kept under dir, not /var/lib/cni), and
// portmap.
func cniConfig(dir string) string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "ebb-node",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q, "gateway": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, bridge, filepath.Join(dir, "cni-ipam"), PodCIDR, NodeIP)
}

// kubeletConfig is the kubelet's configuration: cgroupfs (cgroup v1 here),
// no swap check, oomScoreAdj 0 (see containerdConfig), its own directories
// under dir, serving on the node's address with anonymous access (a test's
// node), the node's own cluster DNS (serveDNS), and thresholds low enough that a small disk never
// evicts the test's pods or collects its images (which cannot be pulled
// again).
func kubeletConfig(dir string) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[1]s
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
cgroupDriver: cgroupfs
failSwapOn: false
oomScoreAdj: 0
containerRuntimeEndpoint: unix://%[2]s
podLogsDir: %[3]s
resolvConf: ""
clusterDNS: [%[1]s]
clusterDomain: cluster.local
registerNode: true
serializeImagePulls: false
evictionHard:
  memory.available: 50Mi
  nodefs.available: 1%%
  nodefs.inodesFree: 1%%
  imagefs.available: 1%%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 2s
`, NodeIP, socket(dir), filepath.Join(dir, "pod-logs"))
}

// writeFiles writes name → content under dir.
func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
