#!/usr/bin/env bash
# npm test: runs the tap suite against real servers. With MONGODB_URL and REDIS_URL set it
# uses them (each test app still gets its own database and Redis logical database); otherwise
# it starts throwaway servers on free loopback ports and stops them afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# The fault tests start, freeze and restart their own redis-server and MongoDB-compatible server.
bash scripts/servers.sh install
export REDIS_SERVER_BIN=${REDIS_SERVER_BIN:-$(command -v redis-server)}
export FERRETDB_BIN=${FERRETDB_BIN:-$(bash tools/ferretdb/build.sh)}

if [ -z "${MONGODB_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  SERVERS_DIR=$(mktemp -d -t flowops-test-XXXXXX)
  trap 'bash scripts/servers.sh stop "$SERVERS_DIR"' EXIT
  bash scripts/servers.sh start "$SERVERS_DIR"
  # shellcheck disable=SC1091
  source "$SERVERS_DIR/env"
fi
export TEST_MONGODB_URL=$MONGODB_URL TEST_REDIS_URL=$REDIS_URL

# The tests that spawn the built server (test/built-server.ts) find dist/ fresh: built once
# here, before tap starts files in parallel, not by two of them at once.
node scripts/build-if-stale.mjs

npx tap "$@"
node scripts/check-coverage.mjs
