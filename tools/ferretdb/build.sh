#!/usr/bin/env bash
# Builds FerretDB v1.24.2 with this project's patch (flowops-sqlite-pushdown.patch: lookups by
# _id on the index, list pages read from the index, unfiltered counts in SQL) and prints the
# binary's path on stdout. Progress goes to stderr.
#
# The binary is built once per machine into a cache outside the clone, keyed by the hash of the
# patch and of the wrapper's sources, so a second clone or CI run on the same machine reuses it:
#   ${FLOWOPS_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/flowops}/ferretdb-v1.24.2-<hash>/ferretdb
# Builds of older patches stay (about 40 MB each): a clone on another commit, or a test run
# in progress, may still be using one. Delete the folder to reclaim them.
#
# How: the module comes from the Go module proxy (`go mod download`), is copied into a
# throwaway build folder, patched with `git apply`, and the wrapper (main.go) is built against
# it with a `replace` directive on a copy of go.mod. (`go build -overlay` cannot replace files
# of the module cache, and vendoring the module would be 234 MB.)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULE=github.com/FerretDB/FerretDB
VERSION=v1.24.2
PATCH="$HERE/flowops-sqlite-pushdown.patch"

log() { echo "[ferretdb] $*" >&2; }

key=$(cat "$PATCH" "$HERE/main.go" "$HERE/go.mod" "$HERE/go.sum" "$HERE/build.sh" | sha256sum | cut -c1-16)
cache=${FLOWOPS_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/flowops}
out="$cache/ferretdb-$VERSION-$key/ferretdb"

if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi

if ! command -v go >/dev/null; then
  log "Go >= 1.24 is needed to build FerretDB (Debian: apt-get install -y golang-go, or see go.dev/doc/install)"
  exit 1
fi
go_minor=$(go env GOVERSION | sed -nE 's/^go1\.([0-9]+).*/\1/p')
if [ -z "$go_minor" ] || [ "$go_minor" -lt 24 ]; then
  log "Go >= 1.24 is needed to build FerretDB; found $(go env GOVERSION)"
  exit 1
fi

mkdir -p "$cache"
# One build at a time per machine: a second caller waits, then finds the binary.
exec 9>"$cache/ferretdb-build.lock"
flock 9
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi

work=$(mktemp -d "$cache/build-XXXXXX")
ticker=
cleanup() {
  if [ -n "$ticker" ]; then kill "$ticker" 2>/dev/null || true; fi
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log "building FerretDB $VERSION with the project's patch (once per machine; cache: $(dirname "$out"))"
log "downloading $MODULE@$VERSION from the Go module proxy"
src=$(cd "$HERE" && go mod download -json "$MODULE@$VERSION" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')
[ -d "$src" ] || { log "go mod download did not give the module's folder"; exit 1; }
cp -r "$src" "$work/FerretDB"
chmod -R u+w "$work/FerretDB"

log "applying $(basename "$PATCH")"
(cd "$work/FerretDB" && git apply -p1 "$PATCH")

mkdir "$work/wrapper"
cp "$HERE/main.go" "$HERE/go.mod" "$HERE/go.sum" "$work/wrapper/"
(cd "$work/wrapper" && go mod edit -replace "$MODULE=$work/FerretDB")

log "compiling (the first build on a machine takes about 3 minutes on 2 cores)"
start=$SECONDS
(while sleep 20; do log "still compiling ($((SECONDS - start)) s)"; done) &
ticker=$!
# Only the SQLite handler is used: leaving PostgreSQL's out saves compile time.
(cd "$work/wrapper" && go build -trimpath -tags ferretdb_no_postgresql -o "$work/ferretdb" .)
kill "$ticker" 2>/dev/null || true
ticker=

mkdir -p "$(dirname "$out")"
mv "$work/ferretdb" "$out"
log "built in $((SECONDS - start)) s: $out"
echo "$out"
