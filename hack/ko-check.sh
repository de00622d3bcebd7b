#!/usr/bin/env bash
# Builds ebb's images with ko exactly as an install does
#   kubectl kustomize manifests | ko resolve -f -
# plus manifests/repository/config-deployment.yaml (the queue-proxy image),
# without Docker and without a remote registry, and checks what came out.
#
# ko needs a base image and somewhere to push. Both are local here: an
# in-memory registry (crane registry serve) on 127.0.0.1, and a base image
# made from scratch in it (an empty image plus /etc/passwd and /etc/group
# with the nonroot user 65532, /tmp, user 65532:65532), standing in for
# .ko.yaml's defaultBaseImage through $KO_DEFAULTBASEIMAGE. .ko.yaml itself
# (builds, flags, ldflags) is used as is.
#
# Checks: ko resolves every ko:// reference (the Deployments' images and
# config-deployment's queue-sidecar-image) to a digest in the registry; each
# image's entrypoint is /ko-app/<binary> and its user 65532:65532; each
# binary, taken out of its image, runs (`version`). Prints one line per
# image with its compressed size and its binary's size.
#
# ko and crane are installed from the Go module proxy (versions below) into
# ${EBB_CACHE:-~/.cache/ebb}/ko-tools-<versions>/ unless on PATH already.
# kubectl (or kustomize) renders the manifests. Builds for this machine's
# platform; KO_CHECK_PLATFORMS=all builds every platform .ko.yaml lists
# (the base is then a multi-platform index). Takes a few minutes: it links
# the ebb binary once per platform. Not part of hack/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

KO_VERSION=v0.19.1
CRANE_VERSION=v0.21.7
export GOTOOLCHAIN=local

log() { echo "ko-check: $*" >&2; }

cache=${EBB_CACHE:-$HOME/.cache/ebb}
tools=$cache/ko-tools-$KO_VERSION-$CRANE_VERSION
if ! command -v ko >/dev/null || ! command -v crane >/dev/null; then
	if [ ! -x "$tools/ko" ] || [ ! -x "$tools/crane" ]; then
		log "installing ko $KO_VERSION and crane $CRANE_VERSION into $tools"
		mkdir -p "$tools"
		# Outside any module: the tools' own go.mod decides their deps.
		(cd "$(mktemp -d)" &&
			GOBIN=$tools GOFLAGS=-mod=mod go install "github.com/google/ko@$KO_VERSION" &&
			GOBIN=$tools GOFLAGS=-mod=mod go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION") >&2
	fi
	export PATH=$tools:$PATH
fi
if command -v kubectl >/dev/null; then
	render=(kubectl kustomize manifests)
elif command -v kustomize >/dev/null; then
	render=(kustomize build manifests)
else
	log "needs kubectl or kustomize to render manifests/"
	exit 1
fi

work=$(mktemp -d)
registry_pid=
cleanup() {
	if [ -n "$registry_pid" ]; then
		kill "$registry_pid" 2>/dev/null || true
		wait "$registry_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# The registry, on a free loopback port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
crane registry serve --address "$reg" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
	crane catalog --insecure "$reg" >/dev/null 2>&1 && break
	sleep 0.1
done
crane catalog --insecure "$reg" >/dev/null

# The base image.
mkdir -p "$work/root/etc" "$work/root/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$work/root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$work/root/etc/group"
chmod 1777 "$work/root/tmp"
tar --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$work/base.tar" -C "$work/root" .
crane append --insecure --oci-empty-base -f "$work/base.tar" -t "$reg/base:files" 2>/dev/null >/dev/null
host=linux/$(go env GOARCH)
if [ "${KO_CHECK_PLATFORMS:-}" = all ]; then
	platforms=$(sed -n '/^defaultPlatforms:/,/^[^ ]/s/^ *- *//p' .ko.yaml | paste -sd, -)
	index=()
	for p in ${platforms//,/ }; do
		crane mutate --insecure "$reg/base:files" --set-platform "$p" -u 65532:65532 -t "$reg/base:${p//\//-}" 2>/dev/null >/dev/null
		index+=(-m "$reg/base:${p//\//-}")
	done
	crane index append --insecure "${index[@]}" -t "$reg/base:nonroot" 2>/dev/null >/dev/null
else
	platforms=$host
	crane mutate --insecure "$reg/base:files" --set-platform "$host" -u 65532:65532 -t "$reg/base:nonroot" 2>/dev/null >/dev/null
fi
log "base $reg/base:nonroot ($platforms); building"

start=$(date +%s)
"${render[@]}" >"$work/install.yaml"
KO_DOCKER_REPO=$reg/ebb KO_DEFAULTBASEIMAGE=$reg/base:nonroot \
	ko resolve --insecure-registry --sbom=none --platform="$platforms" \
	-f "$work/install.yaml" -f manifests/repository/config-deployment.yaml \
	>"$work/resolved.yaml" 2>"$work/ko.log" || {
	tail -40 "$work/ko.log" >&2
	exit 1
}
log "ko resolve took $(($(date +%s) - start))s"

fail=0
if grep -n 'ko://' "$work/resolved.yaml" >&2; then
	log "ko:// references left unresolved"
	fail=1
fi
images=$(sed -n -e 's/^ *image: *//p' -e 's/^ *queue-sidecar-image: *//p' "$work/resolved.yaml" | sort -u)
[ "$(echo "$images" | wc -l)" -eq 2 ] || {
	log "want two images (ebb, sidecar), got: $images"
	fail=1
}
for img in $images; do
	case $img in
	"$reg"/*@sha256:*) ;;
	*)
		log "$img: not a digest in the local registry"
		fail=1
		continue
		;;
	esac
	ref=$img
	if [ "${KO_CHECK_PLATFORMS:-}" = all ]; then
		for p in ${platforms//,/ }; do
			crane config --insecure --platform "$p" "$img" | grep -q "\"architecture\":\"${p#linux/}\"" || {
				log "$img: no $p image"
				fail=1
			}
		done
	fi
	config=$(crane config --insecure --platform "$host" "$ref")
	entry=$(echo "$config" | python3 -c 'import json, sys; c = json.load(sys.stdin)["config"]; print(" ".join(c.get("Entrypoint") or []), c.get("User", ""))')
	bin=${entry%% *}
	user=${entry##* }
	if [[ $bin != /ko-app/* ]] || [ "$user" != 65532:65532 ]; then
		log "$img: entrypoint/user $entry, want /ko-app/<binary> 65532:65532"
		fail=1
		continue
	fi
	rm -rf "$work/fs" && mkdir "$work/fs"
	crane export --insecure --platform "$host" "$ref" - | tar -xf - -C "$work/fs" 2>/dev/null
	if ! out=$("$work/fs$bin" version 2>&1); then
		log "$img: $bin version: $out"
		fail=1
		continue
	fi
	size=$(crane manifest --insecure --platform "$host" "$ref" |
		python3 -c 'import json, sys; print(sum(l["size"] for l in json.load(sys.stdin)["layers"]))')
	printf '%s\tbuilt for %s\t%s: compressed %d MiB\tbinary %d MiB\t%s\n' "${bin#/ko-app/}" "$platforms" "$host" \
		$((size / 1048576)) $(($(stat -c %s "$work/fs$bin") / 1048576)) "$out"
done
[ "$fail" -eq 0 ] && log "ok" || log "FAILED"
exit "$fail"
