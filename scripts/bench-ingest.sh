#!/usr/bin/env bash
# `make bench-ingest`: the ingest pipeline under load, measured (not a test).
#
# Starts a fresh `bench` stack (PostgreSQL with durable defaults on 54349, broker
# on 19292), a release build of gateway, normalizer and crm-matcher, then runs
# `crm-bench ingest` from a separate process and prints its figures: webhooks and
# events per second end to end, gateway ack latency p50/p99/p999 (client side, and
# the gateway's own histogram from its /metrics), end-to-end
# latency p50/p99 (POST sent → message row committed), peak RSS and CPU per service,
# PostgreSQL's and the load generator's CPU, and the machine's busy and steal time.
#
# Knobs (environment): BENCH_RATE (webhooks/s, default 500), BENCH_MESSAGES
# (messages per webhook, 10), BENCH_DURATION (s, 60), BENCH_CUSTOMERS (5000),
# BENCH_PARTITIONS (topic partitions, 6), BENCH_BATCH (consumer batch, 1000).
# BENCH_STATEMENTS=1 also counts the statements PostgreSQL ran per event (pg_stat_statements).
# A second run for the gateway-ack target: BENCH_RATE=2000 BENCH_MESSAGES=1.
# BENCH_PIPELINE=0 starts the gateway alone (ack latency without the workers
# competing for the same two cores). BENCH_SAMPLES=FILE writes every request's
# send time, ack latency and status as CSV (to see when the slow ones happen).
# BENCH_KAFKA_PROPERTIES=k=v,... adds librdkafka properties for every service
# (e.g. linger.ms=2 to compare producer batching).
#
# BENCH_INGRESS_PRIORITY (default 1) runs the gateway, the broker and the load
# generator at real-time priority (SCHED_RR 1) so that the workers soak up only
# the CPU they leave. In a deployment Meta and Kafka are other machines and the
# gateway has CPU of its own; on one 2-core box at 2,000 webhooks/s the workers
# alone would saturate both cores, and the ack then measures run-queue waiting
# (each ack crosses several threads) rather than the gateway. The pipeline lags
# and catches up after the load instead. BENCH_INGRESS_PRIORITY=0 shares the CPU
# equally; both figures are in docs/PERFORMANCE.md. Needs root (chrt); without it the run
# says so and shares the CPU.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

export STACK=bench
bench_traps

"$REPO_ROOT/scripts/setup.sh"
# BENCH_BUILD=0 measures the binaries already built (e.g. while another build holds .build).
if [[ ${BENCH_BUILD:-1} != 0 ]]; then
  log "swift build -c release (first time: several minutes)"
  swift build -c release
fi
BIN="$REPO_ROOT/.build/release"
# BENCH_STATEMENTS=1: PostgreSQL loads pg_stat_statements (it costs a little CPU itself) and
# the report adds the statements per event, in total and the ten called most.
BENCH_STATEMENTS_FLAG=
if [[ ${BENCH_STATEMENTS:-0} == 1 ]]; then
  BENCH_STATEMENTS_FLAG=1
  export PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements ${PG_EXTRA_OPTS:-}"
  # A running bench stack would keep its settings: start it afresh.
  "$REPO_ROOT/scripts/stack.sh" stop >/dev/null 2>&1 || true
fi
"$REPO_ROOT/scripts/stack.sh" start
# shellcheck source=/dev/null
source "$REPO_ROOT/.data/bench/stack.env"

LOGS="$REPO_ROOT/.data/bench/logs"
mkdir -p "$LOGS"
export LOG_LEVEL=warning
export WHATSAPP_APP_SECRET=bench-app-secret CRM_DEV_MODE=1
export KAFKA_TOPIC_PARTITIONS=${BENCH_PARTITIONS:-6}
export CONSUMER_BATCH_SIZE=${BENCH_BATCH:-1000}
export KAFKA_PROPERTIES=session.timeout.ms=6000,max.poll.interval.ms=30000,heartbeat.interval.ms=500${BENCH_KAFKA_PROPERTIES:+,$BENCH_KAFKA_PROPERTIES}
GATEWAY_PORT=${CRM_BENCH_GATEWAY_PORT:-18080}

"$BIN/crmctl" migrate >"$LOGS/crmctl.log" 2>&1
"$BIN/crmctl" topics create >>"$LOGS/crmctl.log" 2>&1

declare -A SERVICE_PIDS
start() {
  local name=$1
  shift
  env "$@" "$BIN/$name" >"$LOGS/$name.log" 2>&1 &
  BENCH_PIDS+=("$!")
  SERVICE_PIDS[$name]=$!
}
start gateway HTTP_PORT="$GATEWAY_PORT"
READY_URLS=("http://127.0.0.1:$GATEWAY_PORT/readyz")
DRAIN=120
if [[ ${BENCH_PIPELINE:-1} != 0 ]]; then
  start normalizer ADMIN_PORT=28101
  start crm-matcher ADMIN_PORT=28102
  READY_URLS+=(http://127.0.0.1:28101/readyz http://127.0.0.1:28102/readyz)
else
  DRAIN=0
fi

bench_wait_ready "${READY_URLS[@]}"
broker_pid=$(<"$REPO_ROOT/.data/bench/broker.pid")
LOADGEN=("$BIN/crm-bench")
if [[ ${BENCH_INGRESS_PRIORITY:-1} != 0 ]]; then
  # -a: every thread already running; threads started later inherit the policy.
  if chrt -a -r -p 1 "${SERVICE_PIDS[gateway]}" >/dev/null 2>&1 && chrt -a -r -p 1 "$broker_pid" >/dev/null 2>&1; then
    LOADGEN=(chrt -r 1 "$BIN/crm-bench")
    log "scheduling: gateway, broker and load generator at SCHED_RR 1, workers and PostgreSQL share the rest (BENCH_INGRESS_PRIORITY=0: all equal)"
  else
    warn "cannot set real-time priority (chrt needs root): gateway, workers, broker and load generator share the CPU equally"
  fi
else
  log "scheduling: everything at equal priority (BENCH_INGRESS_PRIORITY=0)"
fi
# Let both consumer groups settle before the clock starts.
sleep 5

# The broker too (its CPU share is part of the figures; PostgreSQL's backends come and go).
pids="broker=$broker_pid,"
for name in "${!SERVICE_PIDS[@]}"; do pids+="$name=${SERVICE_PIDS[$name]},"; done
log "load: ${BENCH_RATE:-500} webhooks/s × ${BENCH_MESSAGES:-10} messages for ${BENCH_DURATION:-60} s"
"${LOADGEN[@]}" ingest \
  --gateway "http://127.0.0.1:$GATEWAY_PORT" --secret "$WHATSAPP_APP_SECRET" \
  --rate "${BENCH_RATE:-500}" --messages "${BENCH_MESSAGES:-10}" --duration "${BENCH_DURATION:-60}" \
  --customers "${BENCH_CUSTOMERS:-5000}" --database-url "$DATABASE_URL" --drain-timeout "$DRAIN" \
  --pids "${pids%,}" ${BENCH_SAMPLES:+--samples-file "$BENCH_SAMPLES"} ${BENCH_STATEMENTS_FLAG:+--statements}
