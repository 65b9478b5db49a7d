#!/usr/bin/env bash
# npm run bench: starts throwaway servers (or uses MONGODB_URL / REDIS_URL), builds the service
# and the benchmark, and runs bench/run.ts. Knobs: BENCH_ORDERS (10000), BENCH_LARGE_ORDERS
# (200000; 0 skips), BENCH_SECONDS (8), BENCH_ROUNDS (4), BENCH_WARMUP_SECONDS (5), BENCH_CONNECTIONS (50), BENCH_DB_CONNECTIONS (2), BENCH_DB_SECONDS (30),
# BENCH_RANDOM_PAGES (100), BENCH_LAYER_RATE (2000: the per-layer A/B's fixed req/s), BENCH_QUIET_SECONDS (60: the longest wait for an idle machine before each run),
# BENCH_ONLY=workers|hits|layers (one part only, after the common set-up: 1 vs 2 workers; hit vs ceiling
# vs naive baseline at limit 10 and 100; the per-layer A/B. It logs its figures and writes no report).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if [ -z "${MONGODB_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  SERVERS_DIR=$(mktemp -d -t flowops-bench-XXXXXX)
  trap 'bash scripts/servers.sh stop "$SERVERS_DIR"' EXIT
  bash scripts/servers.sh start "$SERVERS_DIR"
  # shellcheck disable=SC1091
  source "$SERVERS_DIR/env"
fi

npx tsc -p tsconfig.bench.json
# bench:stampede stops a FerretDB of its own (the cached build, as the tests use).
FERRETDB_BIN=${FERRETDB_BIN:-$(bash tools/ferretdb/build.sh)}
export FERRETDB_BIN
# In the background, so that a signal to this script reaches the benchmark at once (bash runs a
# trap only after its foreground command ends); the benchmark then stops its own processes and
# the EXIT trap the servers.
# `npm run bench` runs bench/run.ts; `npm run bench:hit-ratios` passes hit-ratios.
node "dist/bench/${1:-run}.js" &
BENCH_PID=$!
trap 'kill -TERM "$BENCH_PID" 2>/dev/null; wait "$BENCH_PID"; exit 143' INT TERM
wait "$BENCH_PID"
