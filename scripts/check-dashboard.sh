#!/usr/bin/env bash
# The Grafana dashboard and the alerts, end to end against real servers on
# loopback: a Pushgateway, the janitor looping every second (--every 1s
# --listen-address), and a real Prometheus (Debian's `prometheus` package)
# that scrapes both and loads deploy/prometheus/alerts.yml. After a few
# passes, every panel expression of deploy/grafana/pushgateway-janitor.json
# (Grafana's variables filled in) and every alert expression goes to
# Prometheus's query API: each must be accepted, every panel must return
# data, and every alerting rule must evaluate without error.
#   bash scripts/check-dashboard.sh [JANITOR]
# Called by scripts/check-deploy.sh. Every process it starts is stopped on
# exit; all traffic stays on 127.0.0.1 and every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== check-dashboard: %s\n' "$*" >&2; }
die() { echo "check-dashboard.sh: error: $*" >&2; exit 1; }

JANITOR="${1:-$(cargo metadata --locked --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/pushgateway-janitor}"
[ -x "$JANITOR" ] || die "no janitor binary at $JANITOR (cargo build first)"
PROMETHEUS="${PROMETHEUS:-$(command -v prometheus || true)}"
[ -n "$PROMETHEUS" ] || die "no prometheus binary (apt-get install prometheus)"
PGW="${PUSHGATEWAY_BIN:-$(command -v prometheus-pushgateway || command -v pushgateway || true)}"
[ -n "$PGW" ] || die "no Pushgateway binary (apt-get install prometheus-pushgateway)"
for tool in curl jq python3; do command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"; done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # URL WHAT
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$work"/*.log >&2 2>/dev/null || true
  die "$2 did not come up ($1)"
}

pgw_port=$(free_port)
"$PGW" --web.listen-address="127.0.0.1:$pgw_port" --persistence.file="$work/pgw.data" --log.level=warn >"$work/pgw.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$pgw_port/-/ready" "the Pushgateway"
pgw="http://127.0.0.1:$pgw_port"
# A Flink-like cluster that went away (deleted after 2 s) and a live group.
for i in 1 2 3; do
  echo "up 1" | curl -fsS --data-binary @- "$pgw/metrics/job/flink$i$i$i/instance/tm$i"
done
echo "up 1" | curl -fsS --data-binary @- "$pgw/metrics/job/batch"
# A producer that keeps leaving groups behind, so that some are pending
# (--grace) whenever Prometheus is asked. Bounded: 240 pushes at most, and
# stopped with the rest on exit.
(
  for i in $(seq 1 240); do
    echo "up 1" | curl -fsS --data-binary @- "$pgw/metrics/job/left$i" >/dev/null 2>&1 || true
    sleep 0.5
  done
) &
pids+=($!)

janitor_port=$(free_port)
# A bound the producer's groups keep exceeding, so that the eviction panels
# and alert have real evictions to show, beside the stale groups' deletes.
NO_COLOR=1 "$JANITOR" --url "$pgw" --every 1s --threshold 3s --grace 1s --clock local \
  --max-groups 3 --evict-after 1s \
  --listen-address "127.0.0.1:$janitor_port" -q >"$work/janitor.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$janitor_port/-/ready" "the janitor"

prom_port=$(free_port)
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/deploy/prometheus/alerts.yml
scrape_configs:
  - job_name: pushgateway-janitor
    static_configs:
      - targets: ["127.0.0.1:$janitor_port"]
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:$pgw_port"]
YAML
"$PROMETHEUS" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$prom_port"
wait_http "$prom/-/ready" "Prometheus"

query() { curl -fsS -G "$prom/api/v1/query" --data-urlencode "query=$1"; }

log "waiting for a few passes to be scraped"
ok=""
for _ in $(seq 1 120); do
  n=$(query 'max(pushgateway_janitor_runs_total{result="success"})' | jq -r '.data.result[0].value[1] // "0"')
  seen=$(query 'count_over_time(pushgateway_janitor_last_run_timestamp_seconds[1m])' | jq -r '.data.result[0].value[1] // "0"')
  evicted=$(query 'sum(pushgateway_janitor_evicted_groups_total)' | jq -r '.data.result[0].value[1] // "0"')
  if [ "${n%.*}" -ge 5 ] && [ "${seen%.*}" -ge 5 ] && [ "${evicted%.*}" -ge 1 ]; then ok=1; break; fi
  sleep 0.25
done
[ -n "$ok" ] || { cat "$work"/*.log >&2; die "Prometheus did not scrape 5 passes of the janitor, one of them evicting, within 30 s"; }
query 'sum(pushgateway_janitor_groups{action="deleted"}) + sum(pushgateway_janitor_deleted_groups_total)' |
  jq -e '.data.result[0].value[1] | tonumber >= 3' >/dev/null || die "the janitor deleted nothing: the check would prove little"
query 'sum(pushgateway_janitor_evicted_groups_total)' |
  jq -e '.data.result[0].value[1] | tonumber >= 1' >/dev/null || die "the janitor evicted nothing: the eviction panels would prove little"

dashboard=deploy/grafana/pushgateway-janitor.json
jq -e '.uid == "pushgateway-janitor" and (.templating.list | map(select(.type == "datasource")) | length == 1)' "$dashboard" >/dev/null ||
  die "$dashboard: needs the stable uid and one datasource variable"
panels=0
while IFS=$'\t' read -r title expr; do
  # Grafana's variables as Grafana would fill them in: All gateways.
  q=${expr//\$__rate_interval/1m}
  q=${q//\$gateway/.*}
  out=$(query "$q") || die "panel \"$title\": Prometheus rejected $q"
  jq -e '.status == "success"' <<<"$out" >/dev/null || die "panel \"$title\": $(jq -r .error <<<"$out")"
  jq -e '.data.result | length > 0' <<<"$out" >/dev/null || die "panel \"$title\" returns no data: $q"
  panels=$((panels + 1))
done < <(jq -r '.panels[] | .title as $t | .targets[] | [$t, .expr] | @tsv' "$dashboard")
[ "$panels" -ge 8 ] || die "only $panels panel queries found"
log "$panels panel queries accepted, each with data"

vars=0
while IFS= read -r expr; do
  # label_values(METRIC, LABEL), as Grafana runs it.
  [[ "$expr" =~ ^label_values\(([a-z_:]+),\ *([a-z_]+)\)$ ]] || die "unexpected variable query: $expr"
  out=$(curl -fsS -G "$prom/api/v1/label/${BASH_REMATCH[2]}/values" --data-urlencode "match[]=${BASH_REMATCH[1]}") ||
    die "variable query failed: $expr"
  jq -e '.data | length > 0' <<<"$out" >/dev/null || die "the variable $expr lists nothing"
  vars=$((vars + 1))
done < <(jq -r '.templating.list[] | select(.type == "query") | .definition' "$dashboard")
log "$vars template variable(s) list values"

rules=$(curl -fsS "$prom/api/v1/rules")
n=$(jq '[.data.groups[].rules[]] | length' <<<"$rules")
[ "$n" -ge 5 ] || die "Prometheus loaded only $n rules from alerts.yml"
# Every rule evaluated at least once (evaluation_interval is 1 s).
for _ in $(seq 1 100); do
  rules=$(curl -fsS "$prom/api/v1/rules")
  jq -e '[.data.groups[].rules[] | select(.lastEvaluation | startswith("0001-"))] | length == 0' <<<"$rules" >/dev/null && break
  sleep 0.1
done
bad=$(jq -r '.data.groups[].rules[] | select(.health != "ok") | "\(.name): \(.health) \(.lastError // "")"' <<<"$rules")
[ -z "$bad" ] || die "alert rules that do not evaluate: $bad"
while IFS= read -r expr; do
  out=$(query "$expr") || die "Prometheus rejected the alert expression: $expr"
  jq -e '.status == "success"' <<<"$out" >/dev/null || die "alert expression failed: $expr"
done < <(jq -r '.data.groups[].rules[].query' <<<"$rules")
log "$n alert expressions accepted and evaluated"
