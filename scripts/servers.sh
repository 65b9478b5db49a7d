#!/usr/bin/env bash
# Provisions the real servers the service needs, for development, tests, the benchmark and CI:
# Debian's redis-server (and nginx, for the reliability suite) and a MongoDB-wire-compatible server (mongod when it is on PATH, else
# FerretDB v1.24.2 with its SQLite handler and the project's patch, built from the Go module
# proxy by tools/ferretdb/build.sh into a per-machine cache).
#
#   scripts/servers.sh install         install what is missing (apt, go), say what cannot be
#   scripts/servers.sh start DIR       start throwaway servers on free loopback ports; writes DIR/env
#   scripts/servers.sh stop DIR        stop them and remove DIR
#
# DIR/env exports MONGODB_URL, REDIS_URL and the binaries the fault tests start themselves.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FERRETDB_BIN=

log() { echo "[servers] $*" >&2; }

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

wait_for_port() { # port seconds name
  local deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    if ((SECONDS >= deadline)); then log "$3 did not open port $1 within $2 s"; return 1; fi
    sleep 0.1
  done
}

install_debian_packages() {
  # redis-server for everything; nginx for the reliability suite's rolling restart behind the
  # scale profile's own config (deploy/nginx/scale.conf).
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} from Debian's packages"
    # apt-get update is needed on a fresh machine before anything can be installed.
    apt-get update -qq >/dev/null
    # No service is started by the package here (no init system); nginx is only ever run by the suite.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "missing: ${missing[*]}: install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}; macOS: brew install redis nginx)"
    return 1
  fi
}

install_mongo_into() { # file: where the FerretDB binary's path is written
  command -v mongod >/dev/null && return 0
  # Prints the cached binary at once, or builds it (a few minutes, once per machine).
  bash "$ROOT/tools/ferretdb/build.sh" >"$1"
}

cmd_install() {
  # Both at once: on a fresh machine apt and the FerretDB build each take a while.
  local ferretdb_out
  ferretdb_out=$(mktemp)
  install_mongo_into "$ferretdb_out" &
  local mongo_pid=$!
  local status=0
  install_debian_packages || status=$?
  wait "$mongo_pid" || status=$?
  FERRETDB_BIN=$(cat "$ferretdb_out")
  rm -f "$ferretdb_out"
  return "$status"
}

cmd_start() {
  local dir=$1
  mkdir -p "$dir"
  cmd_install
  local redis_port mongo_port
  redis_port=$(free_port)
  # Plenty of logical databases: every test app gets one of its own. No persistence: a cache.
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --databases 1024 \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
  mongo_port=$(free_port)
  if command -v mongod >/dev/null; then
    mkdir -p "$dir/mongo-data"
    mongod --port "$mongo_port" --bind_ip 127.0.0.1 --dbpath "$dir/mongo-data" --fork --logpath "$dir/mongo.log" \
      --pidfilepath "$dir/mongo.pid" >/dev/null
  else
    mkdir -p "$dir/ferretdb-data"
    "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$dir/ferretdb-data/" \
      --listen-addr="127.0.0.1:$mongo_port" --telemetry=disable >"$dir/ferretdb.log" 2>&1 &
    echo $! >"$dir/mongo.pid"
  fi
  wait_for_port "$redis_port" 20 redis-server
  wait_for_port "$mongo_port" 60 "the MongoDB-compatible server"
  cat >"$dir/env" <<ENV
export REDIS_URL=redis://127.0.0.1:$redis_port
export MONGODB_URL=mongodb://127.0.0.1:$mongo_port/flowops
export REDIS_SERVER_BIN=$(command -v redis-server)
export FERRETDB_BIN=$FERRETDB_BIN
ENV
  log "redis on 127.0.0.1:$redis_port, MongoDB-compatible server on 127.0.0.1:$mongo_port"
}

cmd_stop() {
  local dir=$1
  for pidfile in "$dir/redis.pid" "$dir/mongo.pid"; do
    [ -f "$pidfile" ] || continue
    local pid
    pid=$(cat "$pidfile")
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start "${2:?usage: servers.sh start DIR}" ;;
  stop) cmd_stop "${2:?usage: servers.sh stop DIR}" ;;
  *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
