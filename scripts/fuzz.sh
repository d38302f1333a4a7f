#!/usr/bin/env bash
# `make fuzz`: coverage-guided fuzzing (libFuzzer) of the code that reads what strangers
# send: Meta's webhook JSON (`webhook`), the webhook normalizer (`normalizer`) and the
# phone-number parsers (`phone`). Builds `crm-fuzz` with -sanitize=fuzzer into .build-fuzz,
# seeds each target's corpus (Tests/Fuzz/corpus/<target>, kept) from the webhook fixtures
# (and ../shared/fixtures when present) or Tests/Fuzz/seeds/phone, runs each target, and
# prints the executions it made. A crash is written to Tests/Fuzz/crashes/<target>/ and
# stops the run with its path: make it a unit test, fix it, keep the file.
#
# Knobs: FUZZ_TARGETS ("webhook normalizer phone"), FUZZ_SECONDS per target (120),
# FUZZ_RUNS (executions per target; overrides FUZZ_SECONDS when set), FUZZ_JOBS (1).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

log "building crm-fuzz with -sanitize=fuzzer (.build-fuzz; first time: several minutes)"
swift build -c release --product crm-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING >/dev/null
BIN="$REPO_ROOT/.build-fuzz/release/crm-fuzz"

seed() {
  local target=$1 dir=$2
  mkdir -p "$dir"
  [[ -n $(ls -A "$dir") ]] && return 0
  case $target in
    webhook | normalizer)
      cp Tests/Fixtures/meta-webhooks-pywa/*.json "$dir"/
      if [[ -d ../shared/fixtures ]]; then
        find ../shared/fixtures -name '*.json' -exec cp {} "$dir"/ \;
      fi
      ;;
    phone) cp Tests/Fuzz/seeds/phone/* "$dir"/ ;;
  esac
}

for target in ${FUZZ_TARGETS:-webhook normalizer phone}; do
  corpus="Tests/Fuzz/corpus/$target"
  crashes="Tests/Fuzz/crashes/$target"
  seed "$target" "$corpus"
  mkdir -p "$crashes"
  if [[ -n ${FUZZ_RUNS:-} ]]; then limit=(-runs="$FUZZ_RUNS"); else limit=(-max_total_time="${FUZZ_SECONDS:-120}"); fi
  # Parallel workers write fuzz-N.log in the current directory; one runs in-process.
  if [[ ${FUZZ_JOBS:-1} -gt 1 ]]; then limit+=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS"); fi
  # A phone number is short: long inputs only slow the parsers' fuzzing down.
  max_len=65536
  [[ $target == phone ]] && max_len=256
  log "fuzzing $target (${limit[*]}), corpus $corpus"
  out=$(mktemp)
  if ! CRM_FUZZ_TARGET=$target "$BIN" "$corpus" "${limit[@]}" -max_len="$max_len" \
    -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$crashes/" -print_final_stats=1 >"$out" 2>&1; then
    tail -40 "$out" >&2
    die "$target: crash or timeout saved in $crashes/ (replay: swift run crm-fuzz $target $crashes)"
  fi
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$out")
  secs=$(awk '/stat::average_exec_per_sec/ {print $2}' "$out")
  cov=$(grep -oE 'cov: [0-9]+' "$out" | tail -1)
  printf '%-11s %12s executions, %8s exec/s, %s, corpus %s inputs, no crash\n' \
    "$target" "$runs" "$secs" "$cov" "$(ls "$corpus" | wc -l)"
  rm -f "$out"
done
