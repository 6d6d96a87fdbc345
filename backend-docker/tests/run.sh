#!/usr/bin/env bash
# The one command CI runs for the backend:
#   1. create/reuse backend-docker/.venv and install requirements-dev.txt when they changed,
#   2. start a throwaway PostgreSQL on 127.0.0.1 (if its binaries exist or can be installed),
#   3. run pytest on SQLite and, with TEST_DATABASE_URL, on PostgreSQL too,
#   4. always stop PostgreSQL again.
# Exits with pytest's status. Extra arguments go to pytest (e.g. tests/run.sh -k mcp).
# Env: PYTHON (interpreter for a new venv, default python3), VENV (default backend-docker/.venv),
#      TEST_DATABASE_URL (use this PostgreSQL instead of starting one), SKIP_POSTGRES=1.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

log() { printf '[run.sh] %s\n' "$*" >&2; }

# --- 1. virtualenv -------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv at $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV" || { log "venv creation failed"; exit 1; }
fi
req_hash="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
stamp="$VENV/.requirements.sha256"
if [ "$(cat "$stamp" 2>/dev/null)" != "$req_hash" ]; then
  log "installing requirements-dev.txt"
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt; then
    log "pip install failed"; exit 1
  fi
  echo "$req_hash" > "$stamp"
else
  log "requirements unchanged; venv reused"
fi

# --- 2. throwaway PostgreSQL ---------------------------------------------------------
PGTMP=""
PGBIN=""
cleanup() {
  if [ -n "$PGTMP" ] && [ -n "$PGBIN" ] && [ -f "$PGTMP/data/postmaster.pid" ]; then
    log "stopping PostgreSQL"
    as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  [ -n "$PGTMP" ] && rm -rf "$PGTMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_pg() {
  # initdb/postgres refuse to run as root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_pg_bin() {
  local initdb
  initdb="$(ls -1 /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1)"
  [ -n "$initdb" ] && dirname "$initdb"
}

start_postgres() {
  PGBIN="$(find_pg_bin)"
  if [ -z "$PGBIN" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing PostgreSQL server (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q postgresql >/dev/null 2>&1; } \
      || log "apt-get install postgresql failed"
    PGBIN="$(find_pg_bin)"
  fi
  if [ -z "$PGBIN" ]; then
    log "no PostgreSQL server binaries: PostgreSQL tests will be skipped"
    return 0
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    log "no postgres user: PostgreSQL tests will be skipped"; PGBIN=""; return 0
  fi
  PGTMP="$(mktemp -d /tmp/todo-pg.XXXXXX)"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGTMP"
  local port
  port="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  if ! as_pg "$PGBIN/initdb" -D "$PGTMP/data" -U postgres -A trust --no-sync >"$PGTMP/initdb.log" 2>&1; then
    log "initdb failed:"; cat "$PGTMP/initdb.log" >&2; return 1
  fi
  # Loopback only, socket in the temp dir, no durability needed for a test cluster.
  if ! as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $PGTMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
    log "PostgreSQL failed to start:"; cat "$PGTMP/server.log" >&2; return 1
  fi
  local i
  for i in $(seq 1 60); do
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
  done
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" || { log "pg_isready never succeeded"; return 1; }
  as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres todo_test || return 1
  export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/todo_test"
  log "PostgreSQL ready on 127.0.0.1:$port"
}

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  log "using the given TEST_DATABASE_URL"
elif [ "${SKIP_POSTGRES:-0}" = 1 ]; then
  log "SKIP_POSTGRES=1: SQLite only"
else
  start_postgres || { log "could not start PostgreSQL"; exit 1; }
fi

# --- 3. tests ------------------------------------------------------------------------
"$VENV/bin/python" -m pytest "$@"
status=$?
exit "$status"
