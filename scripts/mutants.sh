#!/usr/bin/env bash
# npm run test:mutants: scripts/mutants.mjs against real servers, started as npm test starts them
# (or MONGODB_URL and REDIS_URL). It edits product files in place and puts them back: run it on
# a clean working tree.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/servers.sh install
export REDIS_SERVER_BIN=${REDIS_SERVER_BIN:-$(command -v redis-server)}
export FERRETDB_BIN=${FERRETDB_BIN:-$(bash tools/ferretdb/build.sh)}
if [ -z "${MONGODB_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  SERVERS_DIR=$(mktemp -d -t flowops-mutants-XXXXXX)
  trap 'bash scripts/servers.sh stop "$SERVERS_DIR"' EXIT
  bash scripts/servers.sh start "$SERVERS_DIR"
  # shellcheck disable=SC1091
  source "$SERVERS_DIR/env"
fi
export TEST_MONGODB_URL=$MONGODB_URL TEST_REDIS_URL=$REDIS_URL
node scripts/build-if-stale.mjs
node scripts/mutants.mjs
