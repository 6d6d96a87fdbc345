#!/usr/bin/env bash
# The one command CI runs for the backend:
#   1. create/reuse backend-docker/.venv and install requirements-dev.txt when they changed,
#   2. start a throwaway PostgreSQL on 127.0.0.1: the chart's image (root and buildah; else skipped),
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
# The chart's own PostgreSQL: the postgres stand-in image (the server the test bed's node
# runs, the version the chart's default tag names; test/unit/postgres-version.test.ts holds
# them together), started by test/bed/postgres-server.ts with buildah on 127.0.0.1. Not the
# host's PostgreSQL: that is whatever major its Debian release ships.
REPO="$(cd "$ROOT/.." && pwd)"
PGTMP=""
PGPID=""
cleanup() {
  if [ -n "$PGPID" ] && kill -0 "$PGPID" 2>/dev/null; then
    log "stopping PostgreSQL"
    kill -TERM "$PGPID" 2>/dev/null
    wait "$PGPID" 2>/dev/null
  fi
  [ -n "$PGTMP" ] && rm -rf "$PGTMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_postgres() {
  if [ "$(id -u)" != 0 ] || ! command -v buildah >/dev/null; then
    log "the chart's PostgreSQL image needs root and buildah (test/images/setup.sh): PostgreSQL tests will be skipped"
    log "(or set TEST_DATABASE_URL to a PostgreSQL of the chart's version)"
    return 0
  fi
  PGTMP="$(mktemp -d /tmp/todo-pg.XXXXXX)"
  log "starting the chart's PostgreSQL image (built on first use: a few minutes)"
  (cd "$REPO" && exec node --import "$REPO/scripts/lib/ts-loader/register.mjs" test/bed/postgres-server.ts) \
    >"$PGTMP/ready" 2>"$PGTMP/server.log" &
  PGPID=$!
  # The helper prints its one line once the server accepts connections, or exits.
  while kill -0 "$PGPID" 2>/dev/null && ! grep -q '^TEST_DATABASE_URL=' "$PGTMP/ready"; do sleep 0.2; done
  local line
  line="$(grep -m1 '^TEST_DATABASE_URL=' "$PGTMP/ready")" || {
    log "PostgreSQL failed to start:"; tail -n 40 "$PGTMP/server.log" >&2; return 1
  }
  line="${line#TEST_DATABASE_URL=}"
  export TEST_DATABASE_URL="${line%% *}"
  log "PostgreSQL ready on ${TEST_DATABASE_URL#*@}: the tests run against ${line#* }"
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
