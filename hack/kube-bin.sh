#!/usr/bin/env bash
# Prints the directory holding kube-apiserver, kube-controller-manager and
# etcd for ebb's tests, building them first if that directory does not exist.
# With the argument "node" (what hack/node-bin.sh runs), the same for the
# kubelet, kube-scheduler and kube-proxy of the node tests.
#
# The binaries come from the tools module in hack/kube (hack/node) —
# Kubernetes and etcd pinned by its go.mod and go.sum — and are cached under
# ${EBB_CACHE:-~/.cache/ebb}/kube-<hash of go.mod and go.sum>/ (node-<hash>/),
# so a change of version builds a new directory and an unchanged one builds
# nothing. A cold build takes about ten minutes on two cores; it needs only
# Go and the module proxy. Stdout carries the directory and nothing else;
# progress goes to stderr.
set -euo pipefail
set=${1:-kube}
case $set in
kube)
	bins=(kube-apiserver kube-controller-manager etcd)
	pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager go.etcd.io/etcd/server/v3)
	;;
node)
	bins=(kubelet kube-scheduler kube-proxy)
	pkgs=(k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy)
	;;
*)
	echo "usage: $0 [kube|node]" >&2
	exit 2
	;;
esac
cd "$(dirname "$0")/$set"

export GOTOOLCHAIN=local
export CGO_ENABLED=0
# Resolve exactly what go.mod and go.sum pin; never rewrite them.
export GOFLAGS="-mod=readonly -buildvcs=false"

cache=${EBB_CACHE:-$HOME/.cache/ebb}
hash=$(cat go.mod go.sum | sha256sum | cut -c1-16)
dir=$cache/$set-$hash

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
tmp=$(mktemp -d "$cache/.$set-build.XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

k8s=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=$(echo "$k8s" | cut -d. -f2)
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

list="${bins[*]}"
echo "$set-bin: building ${list// /, } $k8s into $dir" >&2
echo "$set-bin: a cold build takes about ten minutes on two cores" >&2
start=$(date +%s)
go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}" >&2
# The etcd main package builds as "server".
if [ -e "$tmp/server" ]; then
	mv "$tmp/server" "$tmp/etcd"
fi
echo "$set-bin: built in $(($(date +%s) - start))s" >&2

# Publish atomically: a concurrent run either wins the rename or finds the
# directory complete.
if ! mv -T "$tmp" "$dir" 2>/dev/null; then
	if ! complete "$dir"; then
		echo "$set-bin: $dir exists but is incomplete; remove it and retry" >&2
		exit 1
	fi
fi
echo "$dir"
