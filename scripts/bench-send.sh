#!/usr/bin/env bash
# `make bench-send`: the send path under load, measured (not a test).
#
# Starts a fresh `bench` stack (PostgreSQL on 54349, broker on 19292), a release build
# of the simulator (its own mps limit = the number's limit, so any overshoot shows as
# 130429) and the sender, configures the number's messages_per_second, then runs
# `crm-bench send`: a latency phase at half the limit and a burst of BENCH_BURST
# seconds' worth of sends offered at once, which the governor must pace. Prints the
# achieved mps against the limit, the simulator's 130429 count, produce → sent
# latency p50/p99 and the sender's peak RSS.
#
# Knobs (environment): BENCH_MPS (the number's limit, 1000), BENCH_BURST (s, 20),
# BENCH_LATENCY_SECONDS (5), BENCH_PARTITIONS (6), BENCH_SENDERS (sender replicas, 1),
# BENCH_CONFIG (release; debug reuses the `make test` build when a release build is too slow),
# BENCH_BATCH (the sender's consumer batch, 200 as in docker-compose.yml and k8s).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

export STACK=bench
bench_traps

"$REPO_ROOT/scripts/setup.sh"
CONFIG=${BENCH_CONFIG:-release}
# BENCH_BUILD=0 measures the binaries already built (e.g. while another build holds .build).
if [[ ${BENCH_BUILD:-1} != 0 ]]; then
  log "swift build -c $CONFIG (first time: several minutes)"
  swift build -c "$CONFIG"
fi
BIN="$REPO_ROOT/.build/$CONFIG"
"$REPO_ROOT/scripts/stack.sh" start
# shellcheck source=/dev/null
source "$REPO_ROOT/.data/bench/stack.env"

LOGS="$REPO_ROOT/.data/bench/logs"
mkdir -p "$LOGS"
MPS=${BENCH_MPS:-1000}
SIM_PORT=${CRM_BENCH_SIMULATOR_PORT:-18090}
export LOG_LEVEL=warning
export KAFKA_TOPIC_PARTITIONS=${BENCH_PARTITIONS:-6}
export KAFKA_PROPERTIES=session.timeout.ms=6000,max.poll.interval.ms=30000,heartbeat.interval.ms=500
# A batch must finish within max.poll.interval.ms: small batches keep a slow sender in its group.
export CONSUMER_BATCH_SIZE=${BENCH_BATCH:-200}
export WHATSAPP_WABA_ID=100000000000001 WHATSAPP_PHONE_NUMBER_ID=100000000000002
export WHATSAPP_ACCESS_TOKEN=bench-access-token WHATSAPP_APP_SECRET=bench-app-secret CRM_DEV_MODE=1
export WHATSAPP_GRAPH_URL="http://127.0.0.1:$SIM_PORT"

"$BIN/crmctl" migrate >"$LOGS/crmctl.log" 2>&1
"$BIN/crmctl" topics create >>"$LOGS/crmctl.log" 2>&1
"$BIN/crm-bench" send --prepare --database-url "$DATABASE_URL" --limit "$MPS"

declare -A SERVICE_PIDS
start() {
  local name=$1 key=$2
  shift 2
  env "$@" "$BIN/$name" >"$LOGS/$key.log" 2>&1 &
  BENCH_PIDS+=("$!")
  SERVICE_PIDS[$key]=$!
}
# No status webhooks: the sender is what is measured.
start wa-simulator wa-simulator HTTP_PORT="$SIM_PORT" SIMULATOR_MPS="$MPS" SIMULATOR_WEBHOOK_URL=
READY_URLS=("http://127.0.0.1:$SIM_PORT/healthz")
for i in $(seq 1 "${BENCH_SENDERS:-1}"); do
  start sender "sender$i" ADMIN_PORT=$((28102 + i))
  READY_URLS+=("http://127.0.0.1:$((28102 + i))/readyz")
done
bench_wait_ready "${READY_URLS[@]}"
# The sender syncs the template catalog at start; let it and the consumer group settle.
sleep 5

# The broker too (its CPU share is part of the figures; PostgreSQL's backends come and go).
pids="broker=$(<"$REPO_ROOT/.data/bench/broker.pid"),"
for name in "${!SERVICE_PIDS[@]}"; do pids+="$name=${SERVICE_PIDS[$name]},"; done
log "sends: ${BENCH_LATENCY_SECONDS:-5} s at $((MPS / 2)) mps, then a burst of ${BENCH_BURST:-20} s × $MPS"
"$BIN/crm-bench" send \
  --database-url "$DATABASE_URL" --kafka-brokers "$KAFKA_BROKERS" --simulator "http://127.0.0.1:$SIM_PORT" \
  --limit "$MPS" --burst "${BENCH_BURST:-20}" --latency-seconds "${BENCH_LATENCY_SECONDS:-5}" --pids "${pids%,}"
