#!/usr/bin/env bash
# Prints the directory holding the kubelet, kube-scheduler and kube-proxy for
# ebb's node tests, building them first if that directory does not exist.
#
# The binaries come from the tools module in hack/node (the same
# k8s.io/kubernetes version as hack/kube, pinned by its go.mod and go.sum) and
# are cached under ${EBB_CACHE:-~/.cache/ebb}/node-<hash of go.mod and
# go.sum>/, beside hack/kube-bin.sh's kube-<hash>/. A cold build takes about
# ten minutes on two cores (the kubelet alone about seven); it needs only Go
# and the module proxy. Stdout carries the directory and nothing else;
# progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/node"

export GOTOOLCHAIN=local
export CGO_ENABLED=0
# Resolve exactly what go.mod and go.sum pin; never rewrite them.
export GOFLAGS="-mod=readonly -buildvcs=false"

cache=${EBB_CACHE:-$HOME/.cache/ebb}
hash=$(cat go.mod go.sum | sha256sum | cut -c1-16)
dir=$cache/node-$hash
bins=(kubelet kube-scheduler kube-proxy)

complete() {
	local b
	for b in "${bins[@]}"; do
		[ -x "$1/$b" ] || return 1
	done
}

if complete "$dir"; then
	echo "$dir"
	exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.node-build.XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

k8s=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=$(echo "$k8s" | cut -d. -f2)
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

echo "node-bin: building kubelet, kube-scheduler and kube-proxy $k8s into $dir" >&2
echo "node-bin: a cold build takes about ten minutes on two cores" >&2
start=$(date +%s)
go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
	k8s.io/kubernetes/cmd/kubelet \
	k8s.io/kubernetes/cmd/kube-scheduler \
	k8s.io/kubernetes/cmd/kube-proxy >&2
echo "node-bin: built in $(($(date +%s) - start))s" >&2

# Publish atomically: a concurrent run either wins the rename or finds the
# directory complete.
if ! mv -T "$tmp" "$dir" 2>/dev/null; then
	if ! complete "$dir"; then
		echo "node-bin: $dir exists but is incomplete; remove it and retry" >&2
		exit 1
	fi
fi
echo "$dir"
