#!/usr/bin/env bash
# Local infrastructure for one profile: a private PostgreSQL 15 cluster and a
# Tansu (Kafka-protocol) broker.
#
#   STACK=run|test scripts/stack.sh start|stop|env|status|destroy
#
#   profile  state        PostgreSQL  broker   notes
#   run      .data/run    54329       19092    cluster kept between runs
#   test     .data/test   54339       19192    wiped at every start, fsync off
#
# Ports can be overridden with CRM_PG_PORT / CRM_KAFKA_PORT. `start` writes
# <state>/stack.env (KAFKA_BROKERS, DATABASE_URL, LD_LIBRARY_PATH); `env`
# prints it. `stop` stops only what `start` started (pid files, pg_ctl).
# PG_EXTRA_OPTS adds server options at start, e.g. to profile a benchmark:
#   PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements" make bench-ingest
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Don't let the broker or PostgreSQL inherit the lock fd of run.sh/test.sh.
exec 9>&-

PROFILE=${STACK:-run}
case $PROFILE in
  run) PG_PORT=${CRM_PG_PORT:-54329} KAFKA_PORT=${CRM_KAFKA_PORT:-19092} ;;
  test) PG_PORT=${CRM_PG_PORT:-54339} KAFKA_PORT=${CRM_KAFKA_PORT:-19192} ;;
  # Benchmarks: fresh like test, but with PostgreSQL's durable defaults (fsync on).
  bench) PG_PORT=${CRM_PG_PORT:-54349} KAFKA_PORT=${CRM_KAFKA_PORT:-19292} ;;
  *) die "STACK must be 'run', 'test' or 'bench' (got '$PROFILE')" ;;
esac

DATA="$REPO_ROOT/.data/$PROFILE"
ENV_FILE="$DATA/stack.env"
AREA_FILE="$DATA/pg-area"          # remembers where the cluster lives
BROKER_PID="$DATA/broker.pid"
BROKER_PORT_FILE="$DATA/broker.port"
BROKER_LOG="$DATA/broker.log"
REPO_HASH=$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-10)
FALLBACK_AREA="/var/tmp/whatsapp-crm-$REPO_HASH-$PROFILE"

# --- PostgreSQL ----------------------------------------------------------------

# Where the cluster lives (sets PG_AREA, PGDATA, PG_SOCK, PG_LOG).
# As root the data must be reachable by `postgres`; a checkout under /root/
# is not, so the cluster then goes to /var/tmp instead.
pg_paths() {
  local decide=${1:-}
  if [[ -z $decide && -f $AREA_FILE ]]; then
    PG_AREA=$(<"$AREA_FILE")
  elif is_root && ! runuser -u postgres -- test -x "$DATA" 2>/dev/null; then
    PG_AREA=$FALLBACK_AREA
  else
    PG_AREA="$DATA/postgres"
  fi
  PGDATA="$PG_AREA/pg"
  PG_LOG="$PG_AREA/postgres.log"
  PG_SOCK="$PG_AREA/sock"
  # Unix socket paths are limited to 107 bytes.
  if ((${#PG_SOCK} > 80)); then PG_SOCK="/tmp/whatsapp-crm-$REPO_HASH-$PROFILE-sock"; fi
}

pg_running() {
  [[ -f $PGDATA/PG_VERSION ]] && as_pg "$PG_BIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1
}

pg_stop() {
  pg_paths
  PG_BIN=$(pg_bindir) || return 0
  if pg_running; then
    log "stopping PostgreSQL ($PROFILE, $PGDATA)"
    as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 30 >/dev/null ||
      as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m immediate -w -t 10 >/dev/null || true
  fi
}

# Delete the cluster folder, but only if it is one of the two places we use.
wipe_area() {
  if [[ $PG_AREA == "$DATA/postgres" || $PG_AREA == "$FALLBACK_AREA" ]]; then
    rm -rf "$PG_AREA"
  fi
  rm -rf "/tmp/whatsapp-crm-$REPO_HASH-$PROFILE-sock"
}

psql_admin() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

pg_start() {
  PG_BIN=$(pg_bindir) || die "PostgreSQL server binaries not found; run scripts/setup.sh"
  mkdir -p "$DATA"
  pg_paths
  if [[ $PROFILE != run ]]; then
    # Tests and benchmarks start from an empty cluster: stop a leftover one, then wipe it.
    pg_stop
    wipe_area
    pg_paths decide
  elif ! pg_running; then
    pg_paths decide
  fi
  printf '%s\n' "$PG_AREA" >"$AREA_FILE"

  if pg_running; then
    local running_port
    running_port=$(sed -n 4p "$PGDATA/postmaster.pid" 2>/dev/null || true)
    [[ $running_port == "$PG_PORT" ]] ||
      die "PostgreSQL ($PROFILE) already runs on port $running_port, not $PG_PORT; run 'STACK=$PROFILE scripts/stack.sh stop' first"
    log "PostgreSQL ($PROFILE) already running on 127.0.0.1:$PG_PORT; reusing it"
  else
    port_open "$PG_PORT" &&
      die "port $PG_PORT is already in use by another process (set CRM_PG_PORT to use another)"
    mkdir -p "$PG_AREA" "$PG_SOCK"
    if is_root; then chown postgres:postgres "$PG_AREA" "$PG_SOCK"; fi
    chmod 700 "$PG_AREA"
    if [[ ! -f $PGDATA/PG_VERSION ]]; then
      log "initdb ($PROFILE) in $PGDATA"
      local extra=()
      [[ $PROFILE == test ]] && extra=(--no-sync)
      as_pg "$PG_BIN/initdb" -D "$PGDATA" --auth=trust -U postgres --encoding=UTF8 --no-locale \
        "${extra[@]}" >"$PG_AREA/initdb.log" 2>&1 ||
        { tail -n 20 "$PG_AREA/initdb.log" >&2; die "initdb failed (log: $PG_AREA/initdb.log)"; }
      {
        echo "# added by scripts/stack.sh"
        echo "listen_addresses = '127.0.0.1'"
        echo "max_connections = 200"
        if [[ $PROFILE == test ]]; then
          # Throw-away test data: durability buys nothing here.
          echo "fsync = off"
          echo "synchronous_commit = off"
          echo "full_page_writes = off"
        fi
      } | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
    fi
    log "starting PostgreSQL ($PROFILE) on 127.0.0.1:$PG_PORT"
    PG_STARTED_HERE=1
    as_pg "$PG_BIN/pg_ctl" start -D "$PGDATA" -l "$PG_LOG" -w -t 30 \
      -o "-c port=$PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='$PG_SOCK' ${PG_EXTRA_OPTS:-}" >/dev/null ||
      { tail -n 30 "$PG_LOG" >&2 || true; die "PostgreSQL did not start (log: $PG_LOG)"; }
  fi

  local i
  for ((i = 0; i < 60; i++)); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 1 && break
    sleep 0.5
  done
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 1 ||
    { tail -n 30 "$PG_LOG" >&2 || true; die "PostgreSQL not ready on 127.0.0.1:$PG_PORT after 30 s (log: $PG_LOG)"; }

  # Role and database for the services (superuser: dev/test only).
  if [[ -z $(psql_admin -tAc "select 1 from pg_roles where rolname = 'crm'") ]]; then
    psql_admin -c "create role crm login superuser"
  fi
  if [[ -z $(psql_admin -tAc "select 1 from pg_database where datname = 'crm'") ]]; then
    psql_admin -c "create database crm owner crm"
  fi
}

# --- Broker --------------------------------------------------------------------

broker_pid() { cat "$BROKER_PID" 2>/dev/null || true; }

broker_stop() {
  local tansu pid
  pid=$(broker_pid)
  tansu=$(tansu_bin || true)
  if [[ -n $pid && -n $tansu ]] && pid_is "$pid" "$tansu"; then
    log "stopping broker ($PROFILE, pid $pid)"
    stop_pid "$pid" "$tansu" broker 10
  fi
  rm -f "$BROKER_PID" "$BROKER_PORT_FILE"
}

broker_start() {
  local tansu pid i
  tansu=$(tansu_bin) || die "Tansu broker not found; run scripts/setup.sh"
  pid=$(broker_pid)
  if [[ $PROFILE != run ]]; then
    broker_stop # always a fresh, empty broker for tests and benchmarks
  elif [[ -n $pid ]] && pid_is "$pid" "$tansu"; then
    [[ $(cat "$BROKER_PORT_FILE" 2>/dev/null) == "$KAFKA_PORT" ]] ||
      die "broker ($PROFILE) already runs (pid $pid) on another port; run 'STACK=$PROFILE scripts/stack.sh stop' first"
    log "broker ($PROFILE) already running on 127.0.0.1:$KAFKA_PORT (pid $pid); reusing it"
    return 0
  fi
  port_open "$KAFKA_PORT" &&
    die "port $KAFKA_PORT is already in use by another process (set CRM_KAFKA_PORT to use another)"

  log "starting broker ($PROFILE) on 127.0.0.1:$KAFKA_PORT (log: $BROKER_LOG)"
  BROKER_STARTED_HERE=1
  # setsid: Ctrl-C in `make run` must not kill the broker before the
  # services had a chance to stop cleanly; run.sh stops it afterwards.
  setsid "$tansu" broker \
    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --storage-engine memory://tansu/ \
    >>"$BROKER_LOG" 2>&1 </dev/null &
  pid=$!
  printf '%s\n' "$pid" >"$BROKER_PID"
  printf '%s\n' "$KAFKA_PORT" >"$BROKER_PORT_FILE"
  for ((i = 0; i < 150; i++)); do
    port_open "$KAFKA_PORT" && return 0
    pid_alive "$pid" || break
    sleep 0.1
  done
  tail -n 30 "$BROKER_LOG" >&2 || true
  broker_stop
  die "broker did not accept connections on 127.0.0.1:$KAFKA_PORT within 15 s (log: $BROKER_LOG)"
}

# --- Commands --------------------------------------------------------------------

IN_MEMORY_NOTE="the local broker (Tansu) keeps records in memory only: records not yet consumed are lost if it stops or restarts. Durable deployments use Apache Kafka (docker-compose.yml, k8s/)."

cmd_start() {
  mkdir -p "$DATA"
  rm -f "$ENV_FILE"
  # A half-started stack is worse than none: on failure, stop what this
  # invocation started (not a stack that was already running before).
  trap 'rc=$?; if ((rc != 0)); then undo_start; fi' EXIT
  pg_start
  broker_start
  cat >"$ENV_FILE" <<EOF
# Written by scripts/stack.sh start (profile $PROFILE). Source it.
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export DATABASE_URL=postgres://crm@127.0.0.1:$PG_PORT/crm
export LD_LIBRARY_PATH="$REPO_ROOT/.venv/rdkafka\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
EOF
  trap - EXIT
  log "stack '$PROFILE' up: PostgreSQL 127.0.0.1:$PG_PORT (data $PGDATA), broker 127.0.0.1:$KAFKA_PORT; env in $ENV_FILE"
  if [[ $PROFILE == run ]]; then note "$IN_MEMORY_NOTE"; fi
}

PG_STARTED_HERE=0
BROKER_STARTED_HERE=0
undo_start() {
  ((PG_STARTED_HERE || BROKER_STARTED_HERE)) || return 0
  warn "stack start failed; stopping what this start started"
  if ((BROKER_STARTED_HERE)); then broker_stop; fi
  if ((PG_STARTED_HERE)); then pg_stop; fi
}

cmd_stop() {
  broker_stop
  pg_stop
  rm -f "$ENV_FILE"
}

cmd_env() {
  [[ -f $ENV_FILE ]] || die "stack '$PROFILE' is not started (no $ENV_FILE); run 'STACK=$PROFILE scripts/stack.sh start'"
  cat "$ENV_FILE"
}

cmd_status() {
  local pid tansu
  pg_paths
  PG_BIN=$(pg_bindir) || die "PostgreSQL not installed"
  if pg_running; then echo "postgres: running ($PGDATA)"; else echo "postgres: stopped"; fi
  pid=$(broker_pid)
  tansu=$(tansu_bin || true)
  if [[ -n $pid && -n $tansu ]] && pid_is "$pid" "$tansu"; then
    echo "broker:   running (pid $pid, port $(cat "$BROKER_PORT_FILE" 2>/dev/null))"
  else
    echo "broker:   stopped"
  fi
}

# stop + delete all state of the profile (incl. a cluster kept in /var/tmp).
cmd_destroy() {
  cmd_stop
  pg_paths
  wipe_area
  rm -rf "$DATA" "$FALLBACK_AREA"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  status) cmd_status ;;
  destroy) cmd_destroy ;;
  *) die "usage: STACK=run|test $0 start|stop|env|status|destroy" ;;
esac
