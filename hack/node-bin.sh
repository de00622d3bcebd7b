#!/usr/bin/env bash
# Prints the directory holding the kubelet, kube-scheduler and kube-proxy for
# ebb's node tests (internal/nodetest), building them first if that
# directory does not exist: hack/kube-bin.sh for the tools module in
# hack/node, the same Kubernetes version as hack/kube's control plane,
# cached under ${EBB_CACHE:-~/.cache/ebb}/node-<hash of its go.mod and
# go.sum>/.
exec "$(dirname "$0")/kube-bin.sh" node
