#!/usr/bin/env bash
# Try pushgateway-janitor in one command, with nothing to set up: on Debian
# or Ubuntu it installs the Pushgateway (prometheus-pushgateway) with apt-get
# when it is missing; elsewhere, put one on PATH or set PUSHGATEWAY.
#
#   bash examples/demo.sh
#
# What it does, in about ten seconds:
#   1. starts a throwaway Pushgateway on a free loopback port, persisting to a
#      temporary file (nothing else on the machine is touched);
#   2. pushes the groups a Flink cluster leaves behind with
#      randomJobNameSuffix=true (see examples/flink-conf.yaml): one JobManager
#      and two TaskManager groups, each job named `flink-metrics` + 32 hex
#      digits, plus the group of a nightly batch job;
#   3. waits past the (demo-sized) threshold, then pushes a fresh cluster;
#   4. runs the janitor with --dry-run (nothing sent), then for real, each
#      command printed before it runs; a --rule gives the batch job a longer
#      threshold (a nightly job must survive 26 hours), so it stays;
#   5. prints what is left, and stops the Pushgateway.
#
# Environment:
#   JANITOR        the janitor binary to use, e.g. an installed one
#                  (JANITOR=pushgateway-janitor) or a build already there; by
#                  default the release build of this checkout when there is
#                  one, else its debug build, made with `cargo build` when
#                  missing (cargo's target directory: CARGO_TARGET_DIR too)
#   PUSHGATEWAY    the Pushgateway binary (default: prometheus-pushgateway or
#                  pushgateway on PATH)
#   REPORT_OUT     also copy the real run's JSON report there
#                  (examples/report.json was made this way)
set -euo pipefail
cd "$(dirname "$0")/.."

THRESHOLD=3s     # in production: 10m or more (several push intervals)
WAIT_SECONDS=5   # > THRESHOLD + 1s (the Date header ages are whole seconds)

if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD="" PLAIN=""; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN" >&2; }
die() { echo "demo.sh: error: $*" >&2; exit 1; }

PUSHGATEWAY="${PUSHGATEWAY:-$(command -v prometheus-pushgateway || command -v pushgateway || true)}"
if [ -z "$PUSHGATEWAY" ] && command -v apt-get >/dev/null 2>&1; then
  # A fresh Debian or Ubuntu machine: install it (the demo never starts it
  # on the system's data; Debian's package also starts a service of its
  # own, which this demo does not touch).
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "$sudo" ] || command -v sudo >/dev/null 2>&1; then
    say "installing the Pushgateway (apt-get install prometheus-pushgateway)"
    if ! { $sudo apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus-pushgateway >&2; }; then
      die "apt-get install prometheus-pushgateway failed"
    fi
    PUSHGATEWAY="$(command -v prometheus-pushgateway || true)"
  fi
fi
if [ -z "$PUSHGATEWAY" ] || [ ! -x "$PUSHGATEWAY" ]; then
  die "no Pushgateway binary: apt-get install prometheus-pushgateway, or set PUSHGATEWAY"
fi
command -v curl >/dev/null || die "curl is required"

if [ -z "${JANITOR:-}" ]; then
  command -v cargo >/dev/null || die "no cargo to build the janitor with: set JANITOR to a janitor binary"
  target="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
  JANITOR="$target/release/pushgateway-janitor"
  [ -x "$JANITOR" ] || JANITOR="$target/debug/pushgateway-janitor"
  if [ ! -x "$JANITOR" ]; then
    say "building the janitor (cargo build)"
    cargo build --quiet
  fi
fi
JANITOR="$(command -v "$JANITOR")" || die "JANITOR is not an executable: $JANITOR"

WORK="$(mktemp -d)"
PG_PID=""
cleanup() {
  if [ -n "$PG_PID" ]; then
    kill "$PG_PID" 2>/dev/null || true
    wait "$PG_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# A free port: bind port 0, read what the kernel chose. The Pushgateway
# binds it a moment later; on the rare clash, try again with another.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}

for attempt in 1 2 3 4 5; do
  PORT="$(free_port)"
  URL="http://127.0.0.1:$PORT"
  "$PUSHGATEWAY" --web.listen-address="127.0.0.1:$PORT" \
    --persistence.file="$WORK/pushgateway.db" --log.level=warn >"$WORK/pushgateway.log" 2>&1 &
  PG_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$URL/-/ready" 2>/dev/null && break
    kill -0 "$PG_PID" 2>/dev/null || break
    sleep 0.1
  done
  curl -fsS -o /dev/null "$URL/-/ready" 2>/dev/null && break
  kill "$PG_PID" 2>/dev/null || true
  wait "$PG_PID" 2>/dev/null || true
  PG_PID=""
  [ "$attempt" -lt 5 ] || { cat "$WORK/pushgateway.log" >&2; die "the Pushgateway did not start"; }
done
say "Pushgateway running at $URL (pid $PG_PID, persistence in $WORK)"

hex32() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# PUT replaces the whole group, as Flink's reporter does on every interval.
push() { # push PATH METRICS
  printf '%b' "$2" | curl -fsS -X PUT --data-binary @- "$URL/metrics/$1" >/dev/null
}

push_flink_cluster() { # one JobManager, two TaskManagers, each its own random job name
  local jm tm1 tm2
  jm="flink-metrics$(hex32)"; tm1="flink-metrics$(hex32)"; tm2="flink-metrics$(hex32)"
  push "job/$jm/cluster/demo/env/prod" \
    '# TYPE flink_jobmanager_numRegisteredTaskManagers gauge\nflink_jobmanager_numRegisteredTaskManagers{host="jm"} 2\n'
  push "job/$tm1/cluster/demo/env/prod" \
    '# TYPE flink_taskmanager_Status_JVM_CPU_Load gauge\nflink_taskmanager_Status_JVM_CPU_Load{tm_id="tm-1"} 0.25\n'
  push "job/$tm2/cluster/demo/env/prod" \
    '# TYPE flink_taskmanager_Status_JVM_CPU_Load gauge\nflink_taskmanager_Status_JVM_CPU_Load{tm_id="tm-2"} 0.5\n'
  echo "  JobManager  job=$jm" >&2
  echo "  TaskManager job=$tm1" >&2
  echo "  TaskManager job=$tm2" >&2
}

say "pushing a Flink cluster that has since been restarted (its groups will go stale)"
push_flink_cluster
say "pushing a nightly batch job's group"
push "job/nightly-report/instance/batch-1" \
  '# TYPE nightly_report_last_success_timestamp_seconds gauge\nnightly_report_last_success_timestamp_seconds 1.7e9\n'
echo "  batch       job=nightly-report instance=batch-1" >&2

say "waiting ${WAIT_SECONDS}s (threshold $THRESHOLD)"
sleep "$WAIT_SECONDS"

say "the restarted cluster pushes under new random job names"
push_flink_cluster

# Shows the command, as you would type it, before running it.
janitor() {
  local line="\$ pushgateway-janitor" arg
  for arg in "$@"; do
    case "$arg" in
      *[!A-Za-z0-9_./:=@%+-]*) line+=" '${arg//\'/\'\\\'\'}'" ;;
      *) line+=" $arg" ;;
    esac
  done
  printf '%s%s%s\n' "$BOLD" "$line" "$PLAIN" >&2
  "$JANITOR" "$@"
}

# The batch job pushes once a night: 26 hours keeps it through a late run.
RULE='{job="nightly-report"}=26h'

say "dry run: what would go (no DELETE is sent)"
janitor --url "$URL" --threshold "$THRESHOLD" --rule "$RULE" --dry-run

say "real run"
status=0
janitor --url "$URL" --threshold "$THRESHOLD" --rule "$RULE" --report-file "$WORK/report.json" || status=$?
[ "$status" -eq 0 ] || die "the janitor exited $status"
if [ -n "${REPORT_OUT:-}" ]; then
  cp "$WORK/report.json" "$REPORT_OUT"
  echo "report copied to $REPORT_OUT" >&2
fi

say "what is left (a dry run with a long threshold lists every group as active)"
janitor --url "$URL" --threshold 1h --dry-run --verbose 2>/dev/null

# The demo's own check: the fresh cluster (3 groups) and the batch job are
# all that is left.
# The Pushgateway queues deletes, so give it a moment (bounded).
for _ in $(seq 1 50); do
  left="$(curl -fsS "$URL/api/v1/metrics" | grep -o '"job":"[^"]*"' | sort -u | wc -l)"
  [ "$left" -eq 4 ] && break
  sleep 0.1
done
[ "$left" -eq 4 ] || die "expected 4 groups left, found $left"
curl -fsS "$URL/api/v1/metrics" | grep -q '"job":"nightly-report"' || die "the batch job's group is gone"
say "done: 3 stale groups deleted; the fresh cluster and the batch job (--rule) stay; stopping the Pushgateway"
