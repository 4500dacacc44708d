#!/usr/bin/env bash
# Checks every deploy recipe and example that a tool on this machine can
# check. Called by scripts/test.sh; runnable alone:
#   bash scripts/check-deploy.sh
#
#   promtool check rules   deploy/prometheus/alerts.yml
#   promtool test rules    deploy/prometheus/alerts_test.yml (each alert fires when it should)
#   systemd-analyze verify the .service and .timer (ExecStart pointed at the built binary)
#   systemd-analyze security the .service (exposure must stay "OK", <= 2.0)
#   cargo test --test integration deploy::  every YAML file parses (serde_norway); CronJob and compose
#                          safety settings; alerts use metric names the janitor writes;
#                          the GitHub Actions smoke steps run against a real Pushgateway;
#                          examples/report.json is a valid report
#   cargo test --test integration ops::  the --textfile output passes `promtool check metrics`
#   bash -n, crontab line  the cron file's syntax (5 time fields, a user, flock -n)
#   kubernetes-validate    the Kubernetes manifests and the Helm sidecar, against the
#                          Kubernetes schemas (offline); the PodMonitor parses
#   scripts/check-dashboard.sh  a real Prometheus scrapes a looping janitor; every
#                          dashboard panel and alert expression is queried
#   (optional) the scripts are linted by shellcheck when it is installed
#   examples/demo.sh       end to end, against a throwaway real Pushgateway
#   docs/deploy.md         names the Dockerfile's own build command
#
# Not checkable here: `docker build` and `docker compose up` need a Docker
# engine, and none runs on these machines (the docker client alone is
# there). The Dockerfile and compose file are parsed and cross-checked
# instead.
#
# A missing tool is a failure when CI is set (CI=true), else a skip with a
# note. apt-get installs promtool (Debian's prometheus package) when missing;
# run this before `cargo test`, whose textfile test needs promtool under CI.
# CHECK_DEPLOY_SKIP_CARGO_TESTS=1 skips the two cargo test targets, for a
# caller that runs the whole suite anyway.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== check-deploy: %s\n' "$*" >&2; }
# Where cargo builds: CARGO_TARGET_DIR, build.target-dir, or ./target.
target_dir() { cargo metadata --locked --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'; }
ci() { [ -n "${CI:-}" ] && [ "${CI}" != "false" ]; }
missing() { # missing TOOL WHY
  if ci; then
    echo "check-deploy.sh: error: $1 is required under CI: $2" >&2
    exit 1
  fi
  log "SKIPPED: $1 is missing ($2)"
}

if ! command -v promtool >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing promtool (Debian package prometheus)"
  $sudo apt-get update -qq || true
  # policy-rc.d-less containers may try to start the service; that failing is fine.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null || true
fi

log "building the janitor"
cargo build --locked --quiet
JANITOR="$(target_dir)/debug/pushgateway-janitor"

# --- Prometheus rules ---
if command -v promtool >/dev/null 2>&1; then
  log "promtool check rules deploy/prometheus/alerts.yml"
  promtool check rules deploy/prometheus/alerts.yml
  log "promtool test rules deploy/prometheus/alerts_test.yml"
  promtool test rules deploy/prometheus/alerts_test.yml
else
  missing promtool "apt-get install prometheus"
fi

# --- systemd units ---
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify insists that ExecStart's binary exists: check a copy that points
  # at the binary just built. --man=no: the man page is not installed here.
  units="$(mktemp -d)"
  trap 'rm -rf "$units"' EXIT
  sed "s|/usr/local/bin/pushgateway-janitor|$JANITOR|g" \
    deploy/systemd/pushgateway-janitor.service >"$units/pushgateway-janitor.service"
  cp deploy/systemd/pushgateway-janitor.timer "$units/"
  log "systemd-analyze verify (service + timer)"
  out="$(systemd-analyze verify --man=no "$units/pushgateway-janitor.service" "$units/pushgateway-janitor.timer" 2>&1)" || {
    echo "$out" >&2
    echo "check-deploy.sh: error: systemd-analyze verify failed" >&2
    exit 1
  }
  # verify exits 0 on some warnings; treat any output as a failure.
  if [ -n "$out" ]; then
    echo "$out" >&2
    echo "check-deploy.sh: error: systemd-analyze verify reported problems" >&2
    exit 1
  fi
  # The commented LoadCredential= variant, switched on instead of the
  # EnvironmentFile= ExecStart.
  mkdir "$units/credential"
  sed "s|/usr/local/bin/pushgateway-janitor|$JANITOR|g; s|^#LoadCredential=|LoadCredential=|; s|^#ExecStart=|ExecStart=|" \
    deploy/systemd/pushgateway-janitor.service |
    awk '/^ExecStart=/ { if (!seen++) next } { print }' >"$units/credential/pushgateway-janitor.service"
  grep -q '^LoadCredential=' "$units/credential/pushgateway-janitor.service" ||
    { echo "check-deploy.sh: error: the LoadCredential= variant is gone from the unit" >&2; exit 1; }
  log "systemd-analyze verify (LoadCredential= variant)"
  if ! out="$(systemd-analyze verify --man=no "$units/credential/pushgateway-janitor.service" 2>&1)" || [ -n "$out" ]; then
    echo "$out" >&2
    echo "check-deploy.sh: error: the LoadCredential= variant does not verify" >&2
    exit 1
  fi
  log "systemd-analyze security --offline=yes (exposure <= 2.0)"
  # The threshold is on the 0-100 scale that the display divides by 10.
  systemd-analyze security --offline=yes --threshold=20 "$units/pushgateway-janitor.service" |
    tail -n 1
else
  missing systemd-analyze "apt-get install systemd"
fi

# --- Kubernetes manifests against the Kubernetes schemas, offline ---
# kubernetes-validate (PyPI) bundles the schemas. The Helm snippet's
# container is checked as the container of a Pod; the PodMonitor is a CRD
# without a bundled schema: it must parse and name the operator's kind.
if ! command -v kubernetes-validate >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
  log "installing kubernetes-validate with pip"
  python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate==1.37.0 >&2 || true
  hash -r
fi
if command -v kubernetes-validate >/dev/null 2>&1; then
  k8s="$(mktemp -d)"
  python3 - "$k8s" <<'PY'
import sys, yaml
out = sys.argv[1]
values = yaml.safe_load(open("deploy/helm/prometheus-pushgateway-values.yaml"))
containers = values["extraContainers"]
assert isinstance(containers, list) and containers, "extraContainers must be a non-empty list"
pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pushgateway-with-janitor"},
       "spec": {"containers": [{"name": "pushgateway", "image": "prom/pushgateway"}] + containers}}
yaml.safe_dump(pod, open(f"{out}/helm-sidecar-pod.yaml", "w"))
pm = yaml.safe_load(open("deploy/kubernetes/podmonitor.yaml"))
assert pm["apiVersion"] == "monitoring.coreos.com/v1", pm["apiVersion"]
assert pm["kind"] == "PodMonitor", pm["kind"]
assert pm["spec"]["podMetricsEndpoints"], "no podMetricsEndpoints"
PY
  log "kubernetes-validate --strict (CronJob, its dry-run Job, Secret, Deployment, the replicas' StatefulSet, headless Service and CronJob, Helm sidecar as a Pod)"
  kubernetes-validate --strict --quiet deploy/kubernetes/cronjob.yaml deploy/kubernetes/dry-run-job.yaml deploy/kubernetes/secret.example.yaml \
    deploy/kubernetes/deployment.yaml deploy/kubernetes/replicas.yaml "$k8s/helm-sidecar-pod.yaml"
  rm -rf "$k8s"
else
  missing kubernetes-validate "pip install kubernetes-validate"
fi

# --- shell scripts (optional tool: a lint, not a proof) ---
if command -v shellcheck >/dev/null 2>&1; then
  log "shellcheck examples/demo.sh scripts/check-deploy.sh"
  shellcheck examples/demo.sh scripts/check-deploy.sh
else
  log "NOTE: shellcheck not installed; scripts not linted (apt-get install shellcheck)"
fi

# --- cron file ---
log "cron file syntax"
cron=deploy/cron/pushgateway-janitor.cron
entries="$(grep -Ev '^[[:space:]]*(#|$)|^[A-Z_]+=' "$cron")"
[ "$(printf '%s\n' "$entries" | wc -l)" -eq 1 ] || { echo "check-deploy.sh: error: $cron: expected one entry" >&2; exit 1; }
read -r m h dom mon dow user cmd <<<"$entries"
[ "$m $h $dom $mon $dow" = "*/5 * * * *" ] || { echo "check-deploy.sh: error: $cron: not every 5 minutes" >&2; exit 1; }
[ "$user" = "pushgateway-janitor" ] || { echo "check-deploy.sh: error: $cron: no user field" >&2; exit 1; }
case "$cmd" in flock\ -n\ *) ;; *) echo "check-deploy.sh: error: $cron: the command must start with flock -n" >&2; exit 1 ;; esac
# The command parses as shell (cron runs it with /bin/sh).
sh -n -c "$cmd"
# Every janitor flag in it exists.
for flag in $(printf '%s\n' "$cmd" | grep -o -- '--[a-z-]*' | sort -u); do
  "$JANITOR" --help | grep -q -- "$flag" || { echo "check-deploy.sh: error: $cron uses unknown flag $flag" >&2; exit 1; }
done

# --- the Dockerfile's build command is the one the README gives ---
log "Dockerfile build command vs docs/deploy.md"
build_cmd="$(grep -o 'docker build -f deploy/docker/Dockerfile [^#]*' deploy/docker/Dockerfile | head -n 1 | sed 's/[[:space:]]*$//')"
[ -n "$build_cmd" ] || { echo "check-deploy.sh: error: no 'docker build' line in deploy/docker/Dockerfile" >&2; exit 1; }
grep -qF -- "$build_cmd" docs/deploy.md ||
  { echo "check-deploy.sh: error: docs/deploy.md does not use the Dockerfile's build command: $build_cmd" >&2; exit 1; }
grep -qF -- "$build_cmd" deploy/docker/compose.yaml ||
  { echo "check-deploy.sh: error: deploy/docker/compose.yaml does not use the Dockerfile's build command: $build_cmd" >&2; exit 1; }
# The compose file runs the image that command tags.
tag="$(printf '%s\n' "$build_cmd" | sed -n 's/.* -t \([^ ]*\).*/\1/p')"
grep -q "image: $tag\$" deploy/docker/compose.yaml ||
  { echo "check-deploy.sh: error: compose.yaml does not run the image $tag" >&2; exit 1; }
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  log "NOTE: a Docker engine answers; build it by hand: $build_cmd"
else
  log "NOTE: no Docker engine here: docker build / compose up are not run"
fi

# --- YAML, CronJob, compose, alerts vs metrics, smoke steps, example report ---
command -v jq >/dev/null 2>&1 || missing jq "apt-get install jq (the smoke workflow's steps use it)"
if [ "${CHECK_DEPLOY_SKIP_CARGO_TESTS:-}" = 1 ]; then
  log "cargo tests skipped (CHECK_DEPLOY_SKIP_CARGO_TESTS=1: the caller runs them)"
else
  log "cargo test --test integration deploy::"
  cargo test --locked --quiet --test integration deploy::
  log "cargo test --test integration ops:: (textfile checked by promtool check metrics)"
  cargo test --locked --quiet --test integration ops::
fi

# --- the Grafana dashboard and the alerts, against a real Prometheus ---
if command -v prometheus >/dev/null 2>&1; then
  log "scripts/check-dashboard.sh (a real Prometheus scrapes a looping janitor)"
  bash scripts/check-dashboard.sh "$JANITOR"
else
  missing prometheus "apt-get install prometheus"
fi

# --- the demo, end to end ---
log "examples/demo.sh"
demo_log="$(mktemp)"
if ! JANITOR="$JANITOR" NO_COLOR=1 bash examples/demo.sh >"$demo_log" 2>&1; then
  cat "$demo_log" >&2
  rm -f "$demo_log"
  echo "check-deploy.sh: error: examples/demo.sh failed" >&2
  exit 1
fi
tail -n 1 "$demo_log" >&2
rm -f "$demo_log"

log "all deploy checks passed"
