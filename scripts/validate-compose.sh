#!/usr/bin/env bash
# Validates a compose file offline (no Docker engine needed) against the compose spec:
# schema, types, interpolation, and references between services, volumes and profiles.
#
#   scripts/validate-compose.sh [FILE]     FILE defaults to docker-compose.yml at the repo root
#
# Uses the Docker compose plugin when present (`docker compose config`, what production runs),
# else Debian's docker-compose (v1.29, compose-spec schema), installing it with apt when missing.
# Prints one line naming the validator; exits non-zero when the file is invalid.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FILE=$(realpath "${1:-$ROOT/docker-compose.yml}")
# Enable every optional profile so its services are checked too, not silently skipped.
PROFILES=(--profile monitoring --profile scale)

log() { echo "[validate-compose] $*" >&2; }

[ -f "$FILE" ] || { log "no such file: $FILE"; exit 2; }

install_docker_compose() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "no compose validator: install the Docker compose plugin, or (Debian/Ubuntu) sudo apt-get install docker-compose"
    exit 2
  fi
  log "installing Debian's docker-compose"
  export DEBIAN_FRONTEND=noninteractive
  local out
  out=$(mktemp)
  # --no-install-recommends: skip docker.io, validation needs no engine.
  # A fresh machine has no package lists yet: update once and retry.
  if ! apt-get install -y -qq --no-install-recommends docker-compose >"$out" 2>&1; then
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose; } >"$out" 2>&1; then
      cat "$out" >&2; rm -f "$out"; log "could not install docker-compose"; exit 2
    fi
  fi
  rm -f "$out"
}

if docker compose version >/dev/null 2>&1; then
  validator="docker compose $(docker compose version --short 2>/dev/null || echo '?')"
  docker compose "${PROFILES[@]}" -f "$FILE" config -q
else
  command -v docker-compose >/dev/null || install_docker_compose
  validator="docker-compose $(docker-compose version --short 2>/dev/null || echo '?')"
  docker-compose "${PROFILES[@]}" -f "$FILE" config -q
fi
# set -e has exited already on an invalid file.
echo "$(basename "$FILE"): valid (validated offline by $validator config -q, profiles: default + monitoring + scale)"
