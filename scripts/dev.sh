#!/usr/bin/env bash
# npm run dev: builds and runs the service with readable logs. Without MONGODB_URL and
# REDIS_URL it starts local servers first (installing them where it can) and stops them on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# The TypeScript build runs while the servers are installed and started (on a fresh machine
# that means apt and the FerretDB build): the first run is then as short as the slowest step.
echo "[dev] compiling the service (tsc)" >&2
npm run --silent build &
BUILD_PID=$!

if [ -z "${MONGODB_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  SERVERS_DIR="$ROOT/.servers/dev"
  bash scripts/servers.sh stop "$SERVERS_DIR" 2>/dev/null || true
  trap 'kill "$BUILD_PID" 2>/dev/null || true; bash scripts/servers.sh stop "$SERVERS_DIR" || true' EXIT
  bash scripts/servers.sh start "$SERVERS_DIR"
  # shellcheck disable=SC1091
  source "$SERVERS_DIR/env"
fi

if ! wait "$BUILD_PID"; then echo "[dev] the TypeScript build failed" >&2; exit 1; fi
echo "[dev] starting the service" >&2
PRETTY_LOGS=true node dist/src/server.js &
SERVICE_PID=$!
# On Ctrl-C the service gets SIGINT too and shuts down gracefully; then stop the servers.
# Every step tolerates failure: with errexit, one failing command would abort the trap.
cleanup() {
  kill -TERM "$SERVICE_PID" 2>/dev/null || true
  wait "$SERVICE_PID" 2>/dev/null || true
  if [ -n "${SERVERS_DIR:-}" ]; then bash scripts/servers.sh stop "$SERVERS_DIR" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The service's own exit status is this script's: a service that cannot start (bad
# configuration, MongoDB unreachable) makes `npm run dev` fail.
status=0
wait "$SERVICE_PID" || status=$?
if [ "$status" -ne 0 ]; then echo "[dev] the service exited with status $status" >&2; fi
exit "$status"
