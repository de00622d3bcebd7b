#!/usr/bin/env bash
# Runs every test ebb has, on a fresh machine or a warm one.
#
# It installs what it needs itself (Debian packages with apt-get, Go modules
# and tools through the Go module proxy) and caches what is slow to build
# (kube-apiserver, etcd, kube-controller-manager) under $EBB_CACHE
# (default: ~/.cache/ebb). Benchmarks are not part of it: see docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

export GOTOOLCHAIN=local
export EBB_CACHE=${EBB_CACHE:-$HOME/.cache/ebb}
# The full run must not skip tests for want of a binary: tests that need
# one fail instead.
export EBB_FULL_TEST=1
mkdir -p "$EBB_CACHE"

step() { printf '\n== %s\n' "$*"; }

step "system packages"
# command → Debian package: git serves and clones in the sync tests,
# ssh-keygen checks SSH-signed ledger commits; the node tests
# (internal/nodetest, test/node) run containerd, runc, the CNI plugins,
# iptables and conntrack beside a real kubelet.
missing=()
for need in git:git ssh-keygen:openssh-client containerd:containerd runc:runc \
	/usr/lib/cni/bridge:containernetworking-plugins iptables:iptables conntrack:conntrack; do
	command -v "${need%%:*}" >/dev/null 2>&1 || missing+=("${need#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

step "formatting and vet"
unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '/testdata/') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...

if [ -x hack/kube-bin.sh ]; then
	step "kube-apiserver, etcd and kube-controller-manager (cached)"
	EBB_KUBE_BIN=$(hack/kube-bin.sh)
	export EBB_KUBE_BIN
fi
if [ -x hack/node-bin.sh ]; then
	step "kubelet, kube-scheduler and kube-proxy (cached)"
	EBB_NODE_BIN=$(hack/node-bin.sh)
	export EBB_NODE_BIN
fi

step "unit and integration tests"
go test -count=1 -timeout 30m ./...

# Test modules kept apart so the product's go.mod stays lean.
for mod in $(git ls-files 'test/*/go.mod' | sort); do
	dir=$(dirname "$mod")
	step "tests in $dir"
	(cd "$root/$dir" && go vet ./... && go test -count=1 -timeout 20m ./...)
done
