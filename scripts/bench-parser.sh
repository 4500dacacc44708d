#!/usr/bin/env bash
# Compares two janitor binaries on the scan alone (dry runs): wall time
# against curl on a real Pushgateway, CPU time per 100 MB, and peak RSS on a
# document served by a plain HTTP server. Made to decide whether the
# parser's fast path (src/gateway/document/split.rs) pays for itself:
#
#   scripts/bench-parser.sh A_BIN B_BIN [NAME_A NAME_B]
#
# Build B without the fast path by making read_document() hand the
# reader straight to serde_json (see BENCHMARKS.md, "The parser's fast
# path"). Every server runs on 127.0.0.1 on a free port and is stopped on
# exit; every request is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { sed -n '2,12p' "$0"; exit 2; }
A=$1; B=$2; NAME_A=${3:-A}; NAME_B=${4:-B}
RUNS=${RUNS:-9}
GROUPS_REAL=${GROUPS_REAL:-300}; SERIES_REAL=${SERIES_REAL:-200}
GROUPS_DOC=${GROUPS_DOC:-800}; SERIES_DOC=${SERIES_DOC:-200}

log() { printf '== %s\n' "$*" >&2; }
die() { echo "bench-parser.sh: error: $*" >&2; exit 1; }
for bin in "$A" "$B"; do [ -x "$bin" ] || die "$bin is not an executable"; done
command -v curl >/dev/null && [ -x /usr/bin/time ] || die "needs curl and /usr/bin/time"
PUSHGATEWAY="${PUSHGATEWAY_BIN:-$(command -v prometheus-pushgateway || command -v pushgateway || true)}"
[ -n "$PUSHGATEWAY" ] || die "no Pushgateway (apt-get install prometheus-pushgateway)"

cargo build --locked --release --example flink_document >&2
# Where cargo built it: CARGO_TARGET_DIR, build.target-dir, or ./target.
GEN="$(cargo metadata --locked --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/examples/flink_document"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pgj-parser.XXXXXX")"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
wait_up() { # wait_up PID URL
  local i
  for i in $(seq 1 150); do
    kill -0 "$1" 2>/dev/null || return 1
    curl -s -o /dev/null --max-time 1 "$2" && return 0
    sleep 0.1
  done
  return 1
}

# timed NAME CMD...: appends "wall cpu rss_kib" of one run to $WORK/NAME.t
timed() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time.txt" "$@" >/dev/null 2>&1 || die "$* failed"
  awk '{ printf "%s %.3f %s\n", $1, $2 + $3, $4 }' "$WORK/time.txt" >>"$WORK/$name.t"
}
col() { awk -v c="$2" '{ print $c }' "$WORK/$1.t"; }

# --- a real Pushgateway ---------------------------------------------------
port=$(free_port)
"$PUSHGATEWAY" --web.listen-address="127.0.0.1:$port" --persistence.file="$WORK/pg.db" \
  --log.level=warn >>"$WORK/pushgateway.log" 2>&1 &
PIDS+=("$!")
GW="http://127.0.0.1:$port"
wait_up "${PIDS[-1]}" "$GW/-/ready" || die "the Pushgateway did not start"
log "loading ${GROUPS_REAL} groups of ${SERIES_REAL} series"
"$GEN" push --url "$GW" --groups "$GROUPS_REAL" --series "$SERIES_REAL" --seed 1 --threads 4
REAL_BYTES=$(curl -s --max-time 60 -o /dev/null -w '%{size_download}' "$GW/api/v1/metrics")
log "real gateway: ${REAL_BYTES} bytes, ${RUNS} rounds of curl, ${NAME_A}, ${NAME_B} (rotating order)"
curl -s -o /dev/null --max-time 60 "$GW/api/v1/metrics"
"$A" --url "$GW" --dry-run -q >/dev/null; "$B" --url "$GW" --dry-run -q >/dev/null
for i in $(seq 1 "$RUNS"); do
  order=("curl" "a" "b")
  case $((i % 3)) in 1) order=("a" "b" "curl") ;; 2) order=("b" "curl" "a") ;; esac
  for what in "${order[@]}"; do
    case $what in
      curl) timed real-curl curl -s -o /dev/null --max-time 60 "$GW/api/v1/metrics" ;;
      a) timed real-a "$A" --url "$GW" --dry-run -q ;;
      b) timed real-b "$B" --url "$GW" --dry-run -q ;;
    esac
  done
done

# --- a plain HTTP server (the parser's own speed) --------------------------
mkdir -p "$WORK/doc/api/v1"
"$GEN" json --groups "$GROUPS_DOC" --series "$SERIES_DOC" --seed 1 --out "$WORK/doc/api/v1/metrics"
DOC_BYTES=$(stat -c %s "$WORK/doc/api/v1/metrics")
port=$(free_port)
python3 scripts/serve-json.py "$port" "$WORK/doc" 2>>"$WORK/http.log" &
PIDS+=("$!")
DOC="http://127.0.0.1:$port"
wait_up "${PIDS[-1]}" "$DOC/api/v1/metrics" || die "the document server did not start"
log "plain server: ${DOC_BYTES} bytes"
"$A" --url "$DOC" --dry-run -q >/dev/null; "$B" --url "$DOC" --dry-run -q >/dev/null
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) = 1 ]; then
    timed doc-a "$A" --url "$DOC" --dry-run -q; timed doc-b "$B" --url "$DOC" --dry-run -q
  else
    timed doc-b "$B" --url "$DOC" --dry-run -q; timed doc-a "$A" --url "$DOC" --dry-run -q
  fi
done

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
per100() { awk -v s="$1" -v b="$2" 'BEGIN { printf "%.3f", s * 1e8 / b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
maxcol() { col "$1" "$2" | sort -g | tail -n1; }
CURL_WALL=$(col real-curl 1 | median)
echo "| median of ${RUNS} | ${NAME_A} | ${NAME_B} |"
echo "|---|---|---|"
echo "| real Pushgateway, $(mb "$REAL_BYTES") MB: dry run wall time (curl: ${CURL_WALL} s) | $(col real-a 1 | median) s = $(ratio "$(col real-a 1 | median)" "$CURL_WALL")x curl | $(col real-b 1 | median) s = $(ratio "$(col real-b 1 | median)" "$CURL_WALL")x curl |"
echo "| real Pushgateway: janitor CPU (user+sys) per 100 MB | $(per100 "$(col real-a 2 | median)" "$REAL_BYTES") s | $(per100 "$(col real-b 2 | median)" "$REAL_BYTES") s |"
echo "| real Pushgateway: peak RSS (max) | $(awk -v k="$(maxcol real-a 3)" 'BEGIN { printf "%.1f", k / 1024 }') MiB | $(awk -v k="$(maxcol real-b 3)" 'BEGIN { printf "%.1f", k / 1024 }') MiB |"
echo "| plain server, $(mb "$DOC_BYTES") MB: dry run wall time | $(col doc-a 1 | median) s | $(col doc-b 1 | median) s |"
echo "| plain server: CPU (user+sys) per 100 MB | $(per100 "$(col doc-a 2 | median)" "$DOC_BYTES") s | $(per100 "$(col doc-b 2 | median)" "$DOC_BYTES") s |"
echo "| plain server: peak RSS (max) | $(awk -v k="$(maxcol doc-a 3)" 'BEGIN { printf "%.1f", k / 1024 }') MiB | $(awk -v k="$(maxcol doc-b 3)" 'BEGIN { printf "%.1f", k / 1024 }') MiB |"
