#!/usr/bin/env bash
# npm run test:mutants: scripts/mutants.mjs against real servers, started as npm test starts them
# (or MONGODB_URL and REDIS_URL). It edits product files in place and puts them back: run it on
# a clean working tree.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/test-servers.sh
source scripts/test-servers.sh
node scripts/mutants.mjs
