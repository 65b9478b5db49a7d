#!/usr/bin/env bash
# npm test: runs the tap suite against real servers. With MONGODB_URL and REDIS_URL set it
# uses them (each test app still gets its own database and Redis logical database); otherwise
# it starts throwaway servers on free loopback ports and stops them afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# shellcheck source=scripts/test-servers.sh
source scripts/test-servers.sh

npx tap "$@"
node scripts/check-coverage.mjs
