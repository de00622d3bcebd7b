// Package nodetest runs a real Kubernetes node for tests: containerd, the
// kubelet, kube-proxy and kube-scheduler beside internal/kubetest's control
// plane, all inside a network namespace of the test's own with no route
// out, and imports images built from static Go binaries without a
// registry. Teardown restores what the kubelet changed on the host.
package nodetest
