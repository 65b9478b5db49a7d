#!/usr/bin/env bash
# Builds Toxiproxy's server (Shopify/toxiproxy, a TCP proxy that injects latency, resets and
# stalls on demand, driven over its HTTP API) from the Go module proxy, and prints the binary's
# path on stdout. Progress goes to stderr. The reliability suite puts it between the service
# instances and Redis and MongoDB (reliability/toxiproxy.ts).
#
# Built once per machine into a cache outside the clone, like FerretDB (tools/ferretdb/build.sh):
#   ${FLOWOPS_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/flowops}/toxiproxy-<version>/toxiproxy-server
set -euo pipefail

VERSION=v2.5.0
cache=${FLOWOPS_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/flowops}
dir="$cache/toxiproxy-$VERSION"
out="$dir/toxiproxy-server"

if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "[toxiproxy] go is missing: install Go to build Toxiproxy" >&2; exit 1; }
echo "[toxiproxy] building github.com/Shopify/toxiproxy/v2/cmd/server@$VERSION (once per machine)" >&2
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# go install names the binary after its package folder (server); renamed once it is complete,
# so a concurrent caller sees either no binary or a whole one.
GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/Shopify/toxiproxy/v2/cmd/server@$VERSION" >&2
mv "$tmp/server" "$out"
echo "$out"
