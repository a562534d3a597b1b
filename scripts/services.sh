#!/usr/bin/env bash
# Make sure the local PostgreSQL and Redis that the test suite talks to are running.
#
#   scripts/services.sh            PostgreSQL on 127.0.0.1:${POSBOT_PG_PORT:-5432}, Redis on 127.0.0.1:${POSBOT_REDIS_PORT:-6379}
#
# Also installs the PostgreSQL server and redis-server binaries the fault tests run privately.
# Each one that already answers is left alone. One that is installed but stopped is started.
# One that is missing is installed from Debian's packages (as Chromium is for the browser
# tests) and started; a PostgreSQL cluster this script creates trusts the postgres user on
# loopback only, like this machine kind's own. A server that answers but refuses us (a
# password-protected PostgreSQL of the user's own) is never reconfigured: the script says
# which setting to point at it instead (POSBOT_TEST_PG_ADMIN) and fails.
set -euo pipefail

PG_PORT=${POSBOT_PG_PORT:-5432}
REDIS_PORT=${POSBOT_REDIS_PORT:-6379}
SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )

say() { printf 'services: %s\n' "$*" >&2; }

apt_install() {
  say "installing $* (apt) ..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

wait_for() {  # wait_for SECONDS CMD...
  local n=$1; shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}

# --- PostgreSQL ------------------------------------------------------------------------
pg_answers() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
pg_lets_us_in() {
  if [ -n "${POSBOT_TEST_PG_ADMIN:-}" ]; then
    # An admin URL of the user's own: trust it and let the tests report a bad one.
    return 0
  fi
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1
}

ensure_postgres() {
  if command -v pg_isready >/dev/null && pg_answers; then
    pg_lets_us_in && return 0
    say "PostgreSQL on 127.0.0.1:$PG_PORT does not let user postgres in without a password."
    say "Set POSBOT_TEST_PG_ADMIN=postgresql+psycopg://USER:PASSWORD@127.0.0.1:$PG_PORT/postgres (a role that may CREATE DATABASE)."
    exit 1
  fi
  if ! command -v pg_lsclusters >/dev/null; then
    apt_install postgresql
  fi
  local cluster
  cluster=$(pg_lsclusters --no-header 2>/dev/null | awk -v p="$PG_PORT" '$3 == p {print $1" "$2; exit}')
  if [ -z "$cluster" ]; then
    local ver
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    say "creating PostgreSQL $ver cluster 'posbot' on port $PG_PORT"
    $SUDO pg_createcluster "$ver" posbot -p "$PG_PORT" >/dev/null
    cluster="$ver posbot"
    local hba="/etc/postgresql/$ver/posbot/pg_hba.conf"
    # Only the postgres role, only over loopback: what the tests use to create their databases.
    printf 'host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust\n' | $SUDO tee "$hba.posbot" >/dev/null
    $SUDO sh -c "cat '$hba' >> '$hba.posbot' && mv '$hba.posbot' '$hba'"
  fi
  say "starting PostgreSQL cluster $cluster"
  # shellcheck disable=SC2086
  $SUDO pg_ctlcluster --skip-systemctl-redirect $cluster start || true
  wait_for 30 pg_answers || { say "PostgreSQL did not come up on 127.0.0.1:$PG_PORT"; exit 1; }
  pg_lets_us_in || { say "PostgreSQL is up but refuses user postgres; see above"; exit 1; }
}

# --- Redis -----------------------------------------------------------------------------
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

ensure_redis() {
  if command -v redis-cli >/dev/null && redis_answers; then
    return 0
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis on 127.0.0.1:$REDIS_PORT (in memory only)"
  local dir=/var/lib/redis
  [ -w "$dir" ] || dir=$(mktemp -d)
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$dir" --logfile "$dir/posbot-redis-$REDIS_PORT.log" >/dev/null
  wait_for 15 redis_answers || { say "Redis did not come up on 127.0.0.1:$REDIS_PORT"; exit 1; }
}

# The fault tests (tests/e2e/test_pg_restart*.py, test_redis_down.py) start, restart and stop
# private servers of their own, also where the shared ones are remote: they need the binaries.
ensure_fault_test_binaries() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

ensure_postgres
ensure_redis
ensure_fault_test_binaries
say "PostgreSQL 127.0.0.1:$PG_PORT and Redis 127.0.0.1:$REDIS_PORT are up"
