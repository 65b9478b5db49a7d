# Sourced by scripts/test.sh and scripts/mutants.sh (from the project's root): what the tests
# need to run against real servers. The fault tests start, freeze and restart their own
# redis-server and MongoDB-compatible server; the rest share one of each, started here on free
# loopback ports (stopped when the sourcing script exits), unless MONGODB_URL and REDIS_URL
# name servers already.
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
