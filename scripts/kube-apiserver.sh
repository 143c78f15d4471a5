#!/usr/bin/env bash
# A real kube-apiserver (and etcd) for the Kubernetes tests, built once per machine from Debian's
# kubernetes source package by ../shared/tools/build-kube-apiserver.sh (about 8 minutes) and
# cached under /var/cache, keyed by that script's hash. Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
build=../shared/tools/build-kube-apiserver.sh
key=$(sha256sum "$build" | cut -c1-16)
work=/var/cache/tetrascope-kube-apiserver/$key
# The tests also drive the API server with curl and make certificates with openssl.
packages=(golang-go etcd-server etcd-client golang-github-modern-go-reflect2-dev rsync jq
    ca-certificates openssl curl)
missing=false
for tool in etcd curl openssl; do
    command -v "$tool" >/dev/null || missing=true
done
if [ ! -x "$work/bin/kube-apiserver" ] || $missing; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
if [ ! -x "$work/bin/kube-apiserver" ]; then
    bash "$build" "$work" >&2
fi
echo "$work/bin/kube-apiserver"
