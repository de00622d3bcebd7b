//go:build tools

// Package node pins the Kubernetes node commands ebb's node tests run: the
// kubelet, kube-scheduler and kube-proxy, at the same Kubernetes version as
// hack/kube's control plane. It is its own module so that hack/kube's cache
// key (the hash of its go.mod and go.sum) does not move when these are added;
// hack/node-bin.sh builds and caches the binaries.
package node

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
