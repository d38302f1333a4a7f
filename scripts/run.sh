#!/usr/bin/env bash
# `make run`: the embedded default. Sets up the machine, starts the `run`
# stack (PostgreSQL + in-memory broker), builds, migrates, creates topics,
# starts the simulator and all services with a dev config, prints the URLs and
# streams the logs. Ctrl-C / SIGTERM stops everything it started.
#
# Overridable from the environment: CONFIG=release, CRM_BOOTSTRAP_TOKEN,
# WHATSAPP_*, CRM_CONFIG_FILE, CRM_SECRET_KEY, LOG_LEVEL, CRM_PG_PORT, CRM_KAFKA_PORT, CRM_GATEWAY_PORT (8080),
# CRM_SIMULATOR_PORT (8090), HEALTH_TIMEOUT (seconds per service, 90).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

export STACK=run
DATA="$REPO_ROOT/.data/run"
LOG_DIR="$DATA/logs"
PID_DIR="$DATA/pids"
mkdir -p "$LOG_DIR" "$PID_DIR"

# One `make run` per checkout: a second one would fight over ports and state.
exec 9>"$REPO_ROOT/.data/run.lock"
flock -n 9 || die "another 'make run' is already running in this checkout"

CONFIG=${CONFIG:-debug}
case $CONFIG in debug | release) ;; *) die "CONFIG must be debug or release (got '$CONFIG')" ;; esac
SWIFT_CONFIG=(-c "$CONFIG")
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-90}
GATEWAY_PORT=${CRM_GATEWAY_PORT:-8080}
SIM_PORT=${CRM_SIMULATOR_PORT:-8090}

# Start order: the simulator (fake Graph API) first, then the edge, then workers.
SERVICES=(wa-simulator gateway normalizer crm-matcher sender reporter)
declare -A PORT=(
  [wa-simulator]=$SIM_PORT [gateway]=$GATEWAY_PORT
  [normalizer]=9101 [crm-matcher]=9102 [sender]=9103 [reporter]=9104
)
declare -A PID=()
TAIL_PID=

# --- stopping ------------------------------------------------------------------

# Services of an earlier run that was killed hard (pid file: "<pid> <argv0>").
stop_leftover_services() {
  local f pid argv0
  for f in "$PID_DIR"/*.pid; do
    [[ -f $f ]] || continue
    read -r pid argv0 <"$f" || true
    if [[ -n ${pid:-} && -n ${argv0:-} ]] && pid_is "$pid" "$argv0"; then
      warn "stopping $(basename "$f" .pid) (pid $pid) left over from an earlier run"
      stop_pid "$pid" "$argv0" "$(basename "$f" .pid)" 10
    fi
    rm -f "$f"
  done
}

# SIGTERM every service at once, give them 10 s together, then SIGKILL.
stop_services() {
  local svc pid i left
  for svc in "${!PID[@]}"; do
    if pid_alive "${PID[$svc]}"; then kill -TERM "${PID[$svc]}" 2>/dev/null || true; fi
  done
  for ((i = 0; i < 100; i++)); do
    left=0
    for pid in "${PID[@]}"; do pid_alive "$pid" && left=1; done
    ((left)) || break
    sleep 0.1
  done
  for svc in "${!PID[@]}"; do
    pid=${PID[$svc]}
    if pid_alive "$pid"; then
      warn "$svc (pid $pid) did not stop within 10 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      # SIGKILL is delivered asynchronously: wait, so a restart right after finds the port free.
      for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    fi
    rm -f "$PID_DIR/$svc.pid"
  done
}

CLEANED=
cleanup() {
  local rc=$?
  [[ -n $CLEANED ]] && return
  CLEANED=1
  trap '' INT TERM # a second Ctrl-C must not leave things half-stopped
  echo >&2
  if ((${#PID[@]})); then
    log "stopping services"
    stop_services
  fi
  if [[ -n $TAIL_PID ]]; then
    sleep 0.3 # let the log streamer print the shutdown lines
    kill "$TAIL_PID" 2>/dev/null || true
  fi
  "$REPO_ROOT/scripts/stack.sh" stop || true
  log "everything stopped (logs kept in ${LOG_DIR#"$REPO_ROOT"/})"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- set-up, stack, build ------------------------------------------------------

stop_leftover_services
"$REPO_ROOT/scripts/setup.sh"
"$REPO_ROOT/scripts/stack.sh" start

log "swift build ${SWIFT_CONFIG[*]}"
swift build "${SWIFT_CONFIG[@]}"
BIN_DIR=$(swift build "${SWIFT_CONFIG[@]}" --show-bin-path)
for svc in crmctl "${SERVICES[@]}"; do
  [[ -x $BIN_DIR/$svc ]] || die "executable '$svc' not found in $BIN_DIR"
done

# shellcheck source=/dev/null
source "$DATA/stack.env"

# --- dev configuration (each value can be overridden by the caller) ------------

if [[ -z ${CRM_BOOTSTRAP_TOKEN:-} ]]; then
  TOKEN_FILE="$DATA/admin-token"
  if [[ ! -s $TOKEN_FILE ]]; then
    # Generated once and kept, so a browser tab or a script keeps working.
    (umask 077 && printf 'crm_dev_%s\n' "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')" >"$TOKEN_FILE")
  fi
  CRM_BOOTSTRAP_TOKEN=$(<"$TOKEN_FILE")
fi
export CRM_BOOTSTRAP_TOKEN
if [[ -z ${CRM_SECRET_KEY:-} ]]; then
  KEY_FILE="$DATA/secret-key"
  # Encrypts account secrets at rest; kept so the stored secrets stay readable across runs.
  [[ -s $KEY_FILE ]] || (umask 077 && head -c 32 /dev/urandom | base64 >"$KEY_FILE")
  CRM_SECRET_KEY=$(<"$KEY_FILE")
fi
export CRM_SECRET_KEY
export CRM_CONFIG_FILE=${CRM_CONFIG_FILE:-$REPO_ROOT/config/crm.example.yaml}
export WHATSAPP_WABA_ID=${WHATSAPP_WABA_ID:-100000000000001}
export WHATSAPP_PHONE_NUMBER_ID=${WHATSAPP_PHONE_NUMBER_ID:-100000000000002}
export WHATSAPP_ACCESS_TOKEN=${WHATSAPP_ACCESS_TOKEN:-dev-access-token}
export WHATSAPP_APP_SECRET=${WHATSAPP_APP_SECRET:-dev-app-secret}
export WHATSAPP_VERIFY_TOKEN=${WHATSAPP_VERIFY_TOKEN:-dev-verify-token}
export WHATSAPP_GRAPH_URL=${WHATSAPP_GRAPH_URL:-http://127.0.0.1:$SIM_PORT}
export WHATSAPP_GRAPH_VERSION=${WHATSAPP_GRAPH_VERSION:-v21.0}
export LOG_LEVEL=${LOG_LEVEL:-info}
# Development secrets are allowed here (the gateway refuses them otherwise).
export CRM_DEV_MODE=${CRM_DEV_MODE:-1}
# Outbound webhooks may point at a listener on this machine (never at private ranges).
export OUTBOUND_WEBHOOK_ALLOW_LOOPBACK=${OUTBOUND_WEBHOOK_ALLOW_LOOPBACK:-1}
# The local broker joins consumer groups slowly with librdkafka's default
# timeouts (~23 s); these bring it to a few seconds.
export KAFKA_PROPERTIES=${KAFKA_PROPERTIES:-session.timeout.ms=6000,max.poll.interval.ms=7000,heartbeat.interval.ms=500}
# Ports are given per service below; don't leak the caller's.
unset HTTP_PORT ADMIN_PORT

# --- database + topics ------------------------------------------------------------

log "crmctl migrate"
"$BIN_DIR/crmctl" migrate 2>&1 | tee "$LOG_DIR/crmctl.log"
log "crmctl topics create"
"$BIN_DIR/crmctl" topics create 2>&1 | tee -a "$LOG_DIR/crmctl.log"

# --- services ------------------------------------------------------------------------

for svc in "${SERVICES[@]}"; do
  port_open "${PORT[$svc]}" &&
    die "port ${PORT[$svc]} (for $svc) is already in use by another process"
  : >"$LOG_DIR/$svc.log"
done

# Stream every log with a per-service prefix. tail prints "==> file <==" when
# it switches files; awk turns that into the prefix. INT is ignored so that
# Ctrl-C still shows the services' shutdown lines; --pid ends tail if this
# script dies without cleaning up.
stream_logs() {
  local files=() svc awk=(awk)
  for svc in "${SERVICES[@]}"; do files+=("$LOG_DIR/$svc.log"); done
  # Debian's awk is mawk, which waits for a full input buffer unless told not to.
  if awk -W version 2>&1 | grep -q mawk; then awk=(awk -W interactive); fi
  (
    trap '' INT
    exec tail -n +1 -F --pid=$$ "${files[@]}" 2>/dev/null 9>&-
  ) > >(
    trap '' INT
    exec 9>&-
    # shellcheck disable=SC2016  # awk program, not shell
    exec "${awk[@]}" '
      /^==> .* <==$/ { n = split($0, p, "/"); name = p[n]; sub(/\.log <==$/, "", name); blank = 0; next }
      $0 == "" { if (blank) printf "%-12s | \n", name; blank = 1; next }
      { if (blank) printf "%-12s | \n", name; blank = 0; printf "%-12s | %s\n", name, $0; fflush() }'
  ) &
  TAIL_PID=$!
}
stream_logs

start_service() {
  local svc=$1
  shift
  # setsid: Ctrl-C reaches only this script, which then stops the services
  # in order (services first, then broker and database).
  # 9>&-: the lock fd stays with this script, so leftovers can't hold the lock.
  env "$@" setsid "$BIN_DIR/$svc" >>"$LOG_DIR/$svc.log" 2>&1 </dev/null 9>&- &
  PID[$svc]=$!
  printf '%s %s\n' "${PID[$svc]}" "$BIN_DIR/$svc" >"$PID_DIR/$svc.pid"
}

service_died() {
  local svc=$1 rc=0
  wait "${PID[$svc]}" 2>/dev/null || rc=$?
  sleep 0.3
  printf '\n' >&2
  warn "$svc exited (status $rc). Last lines of ${LOG_DIR#"$REPO_ROOT"/}/$svc.log:"
  tail -n 40 "$LOG_DIR/$svc.log" | sed 's/^/    /' >&2
  unset "PID[$svc]"
  die "$svc stopped unexpectedly; stopping everything"
}

wait_healthy() {
  local svc=$1 url="http://127.0.0.1:${PORT[$1]}/healthz" deadline=$((SECONDS + HEALTH_TIMEOUT))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    pid_alive "${PID[$svc]}" || service_died "$svc"
    if ((SECONDS >= deadline)); then
      warn "$svc not healthy at $url after ${HEALTH_TIMEOUT}s. Last lines of its log:"
      tail -n 40 "$LOG_DIR/$svc.log" | sed 's/^/    /' >&2
      die "$svc did not become healthy"
    fi
    sleep 0.5
  done
  log "$svc healthy ($url)"
}

log "starting services (logs in ${LOG_DIR#"$REPO_ROOT"/}/)"
start_service wa-simulator HTTP_PORT="$SIM_PORT" \
  SIMULATOR_WEBHOOK_URL="http://127.0.0.1:$GATEWAY_PORT/webhooks/whatsapp"
wait_healthy wa-simulator
start_service gateway HTTP_PORT="$GATEWAY_PORT"
for svc in normalizer crm-matcher sender reporter; do
  start_service "$svc" ADMIN_PORT="${PORT[$svc]}"
done
for svc in gateway normalizer crm-matcher sender reporter; do
  wait_healthy "$svc"
done

# --- banner ------------------------------------------------------------------------

API="http://127.0.0.1:$GATEWAY_PORT/api/v1"
{
  echo
  echo "================================================================================"
  echo " WhatsApp CRM is running (make run, $CONFIG build). Ctrl-C stops everything."
  echo "================================================================================"
  echo " REST API         $API"
  echo " Meta webhook     http://127.0.0.1:$GATEWAY_PORT/webhooks/whatsapp"
  echo " Admin token      $CRM_BOOTSTRAP_TOKEN"
  [[ -f $DATA/admin-token && $(<"$DATA/admin-token") == "$CRM_BOOTSTRAP_TOKEN" ]] &&
    echo "                  (kept in .data/run/admin-token; set CRM_BOOTSTRAP_TOKEN to choose one)"
  echo " Graph simulator  http://127.0.0.1:$SIM_PORT   (WHATSAPP_GRAPH_URL=$WHATSAPP_GRAPH_URL)"
  echo
  echo " Health and metrics:"
  for svc in "${SERVICES[@]}"; do
    printf '   %-13s http://127.0.0.1:%s/healthz   http://127.0.0.1:%s/metrics\n' \
      "$svc" "${PORT[$svc]}" "${PORT[$svc]}"
  done
  echo
  echo " DATABASE_URL=$DATABASE_URL"
  echo " KAFKA_BROKERS=$KAFKA_BROKERS"
  echo " Logs: ${LOG_DIR#"$REPO_ROOT"/}/<service>.log"
  echo
  echo " Note: the local broker keeps records in memory only: records not yet"
  echo " consumed are lost when it restarts (make run stops it on exit)."
  echo " Durable deployments use Apache Kafka (docker-compose.yml, k8s/)."
  echo
  echo " Try:"
  echo "   TOKEN=$CRM_BOOTSTRAP_TOKEN"
  # shellcheck disable=SC2016  # $TOKEN is meant literally, for pasting
  echo '   curl -H "Authorization: Bearer $TOKEN" '"'$API/contacts?phone=%2B15551234567'"
  echo "================================================================================"
  echo
} >&2

# --- supervise -------------------------------------------------------------------------

BROKER_PID=$(cat "$DATA/broker.pid" 2>/dev/null || true)
while true; do
  for svc in "${SERVICES[@]}"; do
    pid_alive "${PID[$svc]}" || service_died "$svc"
  done
  if [[ -n $BROKER_PID ]] && ! pid_alive "$BROKER_PID"; then
    tail -n 20 "$DATA/broker.log" >&2 || true
    die "the broker stopped unexpectedly (log: ${DATA#"$REPO_ROOT"/}/broker.log)"
  fi
  sleep 1 &
  wait $! || true # returns early on a signal, so the traps run at once
done
