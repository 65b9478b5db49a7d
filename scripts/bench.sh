#!/usr/bin/env bash
# npm run bench: starts throwaway servers (or uses MONGODB_URL / REDIS_URL), builds the service
# and the benchmark, and runs bench/run.ts. Knobs: BENCH_ORDERS (10000), BENCH_LARGE_ORDERS
# (200000; 0 skips), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (5), BENCH_CONNECTIONS (50), BENCH_DB_CONNECTIONS (2), BENCH_DB_SECONDS (30),
# BENCH_RANDOM_PAGES (100).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if [ -z "${MONGODB_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  SERVERS_DIR=$(mktemp -d -t flowops-bench-XXXXXX)
  trap 'bash scripts/servers.sh stop "$SERVERS_DIR"' EXIT
  # A signal must end the script (running the EXIT trap), not just the benchmark under it.
  trap 'exit 130' INT TERM
  bash scripts/servers.sh start "$SERVERS_DIR"
  # shellcheck disable=SC1091
  source "$SERVERS_DIR/env"
fi

npx tsc -p tsconfig.bench.json
node dist/bench/run.js
