#!/usr/bin/env bash
# npm run test:reliability [-- --short]: the load + fault suite (reliability/). It starts its own
# redis-server, FerretDB and service processes on free loopback ports, so it needs no running
# servers; it installs what is missing like the other scripts (scripts/servers.sh install).
# The full form takes about 13 minutes and rewrites reliability/REPORT.md and results.json; the
# short form (--short, or RELIABILITY_SHORT=1) about 5 minutes, for CI, and writes its report
# under dist/reliability-report/; --soak-only runs the seed and the soak alone (report under
# dist/reliability-soak/); --capacity measures what the set-up takes of the mix (no checks);
# --near-bound measures the near cache's staleness window alone. Knobs: RELIABILITY_* in
# reliability/options.ts. It builds Toxiproxy (tools/toxiproxy/build.sh) and uses Debian's nginx.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash scripts/servers.sh install
export FERRETDB_BIN=${FERRETDB_BIN:-$(bash tools/ferretdb/build.sh)}
export TOXIPROXY_BIN=${TOXIPROXY_BIN:-$(bash tools/toxiproxy/build.sh)}
export NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
export REDIS_SERVER_BIN=${REDIS_SERVER_BIN:-$(command -v redis-server)}

npm run build --silent
npx tsc -p tsconfig.reliability.json
# In the background, so that a signal reaches the suite at once (bash runs a trap only after its
# foreground command ends); the suite then stops every process it started.
node dist/reliability/run.js "$@" &
SUITE_PID=$!
trap 'kill -TERM "$SUITE_PID" 2>/dev/null; wait "$SUITE_PID"; exit 143' INT TERM
wait "$SUITE_PID"
