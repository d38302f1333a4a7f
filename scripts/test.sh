#!/usr/bin/env bash
# `make test` (and CI): set-up, a fresh `test` stack (empty PostgreSQL
# cluster on 54339, empty broker on 19192), `swift format lint` when a
# .swift-format config exists, build, then `swift test` with the stack's
# environment and CRM_BIN_DIR (end-to-end tests start the service binaries
# from there). The stack is always stopped at the end.
#
# SWIFT_TEST_FLAGS adds arguments to `swift test` (e.g. "--filter Kafka").
# SKIP_LINT=1 skips the format check.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

export STACK=test
mkdir -p "$REPO_ROOT/.data"
# One `make test` per checkout: a second one would wipe this one's database.
exec 9>"$REPO_ROOT/.data/test.lock"
flock -n 9 || die "another 'make test' is already running in this checkout"

BIN_DIR=
# Test suites run after the others, alone on the machine (a regex for --filter/--skip).
ALONE_SUITES='ShutdownTests'
# Service processes that tests started and left behind: same binaries, and
# pointed at this test stack (so a `make run` in the same checkout is safe).
stop_stray_test_processes() {
  local p exe argv0 real_bin
  [[ -n $BIN_DIR && -n ${KAFKA_BROKERS:-} ]] || return 0
  real_bin=$(realpath "$BIN_DIR")
  for p in /proc/[0-9]*; do
    [[ ${p#/proc/} == "$$" ]] && continue
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    argv0=$(tr '\0' '\n' <"$p/cmdline" 2>/dev/null | head -n 1) || continue
    [[ $exe == "$real_bin"/* || $argv0 == "$BIN_DIR"/* || $argv0 == "$real_bin"/* ]] || continue
    tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "KAFKA_BROKERS=$KAFKA_BROKERS" || continue
    warn "tests left ${argv0##*/} (pid ${p#/proc/}) running; stopping it"
    stop_pid "${p#/proc/}" "$argv0" "${argv0##*/}" 5
  done
}

# PostgreSQL servers of single tests (scripts/private-postgres.sh) live here;
# any a crashed test left running are stopped at the end.
CRM_PRIVATE_PG_ROOT="/var/tmp/whatsapp-crm-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-10)-private-pg"
export CRM_PRIVATE_PG_ROOT
stop_private_postgres() {
  local d
  for d in "$CRM_PRIVATE_PG_ROOT"/*; do
    [[ -d $d ]] && "$REPO_ROOT/scripts/private-postgres.sh" destroy "$d"
  done
  rm -rf "$CRM_PRIVATE_PG_ROOT"
}

cleanup() {
  local rc=$?
  trap '' INT TERM
  stop_stray_test_processes || true
  stop_private_postgres || true
  "$REPO_ROOT/scripts/stack.sh" stop || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$REPO_ROOT/scripts/setup.sh"
# Test-only tools from PyPI: schemathesis for the property-based API tests (APIPropertyTests).
pip_ensure "$REPO_ROOT/.venv" schemathesis==4.32.5
export CRM_SCHEMATHESIS="$REPO_ROOT/.venv/bin/schemathesis"
export API_FUZZ_REPORTS="$REPO_ROOT/.data"
# Deploy files (compose, k8s/, Dockerfile, Prometheus/Grafana) validated offline; fails the run.
"$REPO_ROOT/scripts/validate-deploy.sh"
"$REPO_ROOT/scripts/stack.sh" start

lint_status=skipped
if [[ -f .swift-format && ${SKIP_LINT:-0} != 1 ]]; then
  log "swift format lint --strict"
  lint_dirs=()
  for d in Package.swift Shared Services Tools Tests; do [[ -e $d ]] && lint_dirs+=("$d"); done
  if swift format lint --strict --recursive --parallel "${lint_dirs[@]}"; then
    lint_status=ok
  else
    lint_status=FAILED
  fi
fi

log "swift build --build-tests"
t0=$SECONDS
build_rc=0
swift build --build-tests || build_rc=$?
build_s=$((SECONDS - t0))
if ((build_rc != 0)); then
  echo "build: ${build_s} s (FAILED), tests: not run, lint: $lint_status" >&2
  exit "$build_rc"
fi
BIN_DIR=$(swift build --show-bin-path)
export CRM_BIN_DIR=$BIN_DIR
# Tests that stop and resume a broker start a private one from this binary.
CRM_TANSU_BIN=$(tansu_bin)
export CRM_TANSU_BIN

# shellcheck source=/dev/null
source "$REPO_ROOT/.data/test/stack.env"

log "swift test (KAFKA_BROKERS=$KAFKA_BROKERS DATABASE_URL=$DATABASE_URL CRM_BIN_DIR=$CRM_BIN_DIR)"
read -r -a test_flags <<<"${SWIFT_TEST_FLAGS:-}"
t0=$SECONDS
test_rc=0
if ((${#test_flags[@]} > 0)); then
  swift test --skip-build "${test_flags[@]}" || test_rc=$?
else
  # Suites that bound how long something takes (a service's exit after
  # SIGTERM: 3 s idle) run alone afterwards: beside ~80 suites' stacks
  # starting at once on two cores, a process waits seconds for the CPU and
  # the bound would measure the machine, not the service.
  swift test --skip-build --skip "$ALONE_SUITES" || test_rc=$?
  log "swift test --filter '$ALONE_SUITES' (alone)"
  swift test --skip-build --filter "$ALONE_SUITES" || test_rc=$?
fi
test_s=$((SECONDS - t0))

echo "build: ${build_s} s, tests: ${test_s} s ($( ((test_rc == 0)) && echo passed || echo "FAILED, status $test_rc")), lint: $lint_status" >&2
if ((test_rc != 0)); then exit "$test_rc"; fi
if [[ $lint_status == FAILED ]]; then
  echo "swift format lint --strict failed (see above); run: swift format --in-place --recursive Shared Services Tools Tests" >&2
  exit 1
fi
