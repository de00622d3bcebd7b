//go:build tools

// Package kube pins the Kubernetes control-plane commands ebb's tests run
// against: kube-apiserver, kube-controller-manager and etcd. It is its own
// module so the product's go.mod does not carry the whole of Kubernetes;
// hack/kube-bin.sh builds and caches the binaries.
package kube

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
