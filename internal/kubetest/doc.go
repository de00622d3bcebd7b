// Package kubetest runs a real control plane for tests: etcd and
// kube-apiserver (and, on request, kube-controller-manager) from the
// binaries in $EBB_KUBE_BIN, on free 127.0.0.1 ports, with freshly generated
// keys and an admin bearer token, and helpers that make a Pod "run" without
// a kubelet.
package kubetest
