#!/usr/bin/env bash
# Benchmarks the janitor against the targets of issue 6 and writes BENCHMARKS.md.
#
#   scripts/bench.sh            full run (a few minutes; loads real Pushgateways)
#   scripts/bench.sh --quick    smoke run with tiny sizes (CI): no timing targets
#
# Options: --out FILE (default BENCHMARKS.md; --quick writes to target/ unless
# given), --skip-criterion.
#
# Every server is started here on 127.0.0.1 on a free port, every request is
# bounded, and every process started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
OUT=""
CRITERION=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT="$2"; shift ;;
    --skip-criterion) CRITERION=0 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$QUICK" = 1 ]; then
  SCAN_GROUPS=12;  SCAN_SERIES=20;  RUNS=2
  DOC_GROUPS=10;   DOC_SERIES=20
  DEL_GROUPS=40;    DEL_RUNS=1
  PROFILE=debug;   CARGO_PROFILE=(--profile dev)
  OUT="${OUT:-target/bench-quick/BENCHMARKS.md}"
else
  # 300 Flink groups of 200 series: the issue's minimum real-gateway shape.
  SCAN_GROUPS=300; SCAN_SERIES=200; RUNS=9
  # ~76 MB with these series (≈94 KB a group); the 4x document keeps the groups.
  DOC_GROUPS=800;  DOC_SERIES=200
  DEL_GROUPS=5000;  DEL_RUNS=3
  PROFILE=release; CARGO_PROFILE=(--release)
  OUT="${OUT:-BENCHMARKS.md}"
fi
SEED=1

log() { printf '== %s\n' "$*" >&2; }
die() { echo "bench.sh: error: $*" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pgj-bench.XXXXXX")"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- tools ---------------------------------------------------------------
need_apt=()
command -v curl >/dev/null || need_apt+=(curl)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v python3 >/dev/null || need_apt+=(python3)
command -v ss >/dev/null || need_apt+=(iproute2)
PUSHGATEWAY="${PUSHGATEWAY_BIN:-$(command -v prometheus-pushgateway || command -v pushgateway || true)}"
[ -n "$PUSHGATEWAY" ] || need_apt+=(prometheus-pushgateway)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} with apt-get"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
  PUSHGATEWAY="${PUSHGATEWAY_BIN:-$(command -v prometheus-pushgateway || command -v pushgateway)}"
fi

log "building the janitor and the generator (${PROFILE})"
cargo build --locked "${CARGO_PROFILE[@]}" --bin pushgateway-janitor --example flink_document >&2
# Where cargo built them: CARGO_TARGET_DIR, build.target-dir, or ./target.
TARGET_DIR="$(cargo metadata --locked --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
JANITOR="$TARGET_DIR/${PROFILE}/pushgateway-janitor"
GEN="$TARGET_DIR/${PROFILE}/examples/flink_document"

# --- helpers -------------------------------------------------------------
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits (bounded) until $2 answers, and checks that process $1 is the one
# listening on port $3: a port taken by someone else between probe and bind
# must never receive our pushes.
wait_listening() {
  local pid=$1 url=$2 port=$3 i
  for i in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || return 1
    if curl -s -o /dev/null --max-time 1 "$url"; then
      ss -ltnpH "sport = :$port" 2>/dev/null | grep -q "pid=$pid," && return 0
      return 1
    fi
    sleep 0.1
  done
  return 1
}

# start_gateway PERSISTENCE_FILE: sets GW_URL and GW_PID.
start_gateway() {
  local file=$1 port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    "$PUSHGATEWAY" --web.listen-address="127.0.0.1:$port" \
      --persistence.file="$file" --log.level=warn >>"$WORK/pushgateway.log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    if wait_listening "$GW_PID" "http://127.0.0.1:$port/-/ready" "$port"; then
      GW_URL="http://127.0.0.1:$port"
      return 0
    fi
    kill "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
  done
  die "the Pushgateway did not start (see $WORK/pushgateway.log)"
}

# SIGTERM makes the Pushgateway write its persistence file before it exits.
stop_gateway() {
  kill -TERM "$GW_PID" 2>/dev/null || true
  wait "$GW_PID" 2>/dev/null || true
}

# One `last_push_successful` per group (cheaper than parsing the JSON).
group_count() {
  curl -s --max-time 30 "$1/api/v1/metrics" | { grep -o '"last_push_successful"' || true; } | wc -l
}

# Bounded poll until the gateway at $1 holds $2 groups; prints the seconds it took.
wait_for_groups() {
  local url=$1 want=$2 start i n
  start=$(now)
  for i in $(seq 1 300); do
    n=$(group_count "$url" || echo -1)
    if [ "$n" = "$want" ]; then elapsed "$start" "$(now)"; return 0; fi
    sleep 0.1
  done
  die "$url still holds $n groups, expected $want"
}

fmt() { awk -v v="$1" -v d="${2:-2}" 'BEGIN { printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
met() { # met VALUE OP LIMIT -> "met" / "NOT met" (quick: "n/a")
  if [ "$QUICK" = 1 ]; then echo "n/a (quick)"; return; fi
  awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
    ok = (op == "<=") ? v <= l : (op == ">=") ? v >= l : (op == "<") ? v < l : v > l
    print ok ? "met" : "NOT met" }'
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- (a) scan vs curl on a real Pushgateway -------------------------------
log "(a) loading a Pushgateway with ${SCAN_GROUPS} Flink groups of ${SCAN_SERIES} series"
start_gateway "$WORK/scan.db"
t0=$(now)
"$GEN" push --url "$GW_URL" --groups "$SCAN_GROUPS" --series "$SCAN_SERIES" --seed "$SEED" --threads 4
LOAD_SCAN=$(elapsed "$t0" "$(now)")
[ "$(group_count "$GW_URL")" = "$SCAN_GROUPS" ] || die "the gateway does not hold ${SCAN_GROUPS} groups"
SCAN_BYTES=$(curl -s --max-time 60 -o "$WORK/scan.json" -w '%{size_download}' "$GW_URL/api/v1/metrics")
log "(a) document: ${SCAN_BYTES} bytes; ${RUNS} alternating runs of curl and the dry run"
: >"$WORK/curl.t"; : >"$WORK/dry.t"
# One warm-up of each, not counted.
curl -s -o /dev/null --max-time 60 "$GW_URL/api/v1/metrics"
"$JANITOR" --url "$GW_URL" --dry-run -q >/dev/null
time_curl() {
  local t0 t1
  t0=$(now); curl -s -o /dev/null --max-time 60 "$GW_URL/api/v1/metrics"; t1=$(now)
  elapsed "$t0" "$t1" >>"$WORK/curl.t"; echo >>"$WORK/curl.t"
}
time_dry_run() {
  local t0 t1
  t0=$(now); "$JANITOR" --url "$GW_URL" --dry-run -q >/dev/null; t1=$(now)
  elapsed "$t0" "$t1" >>"$WORK/dry.t"; echo >>"$WORK/dry.t"
}
# ABBA order: how fast the gateway renders depends on what it served just
# before (its garbage collector), so neither command always goes second.
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) = 1 ]; then time_curl; time_dry_run; else time_dry_run; time_curl; fi
done
CURL_MED=$(median <"$WORK/curl.t")
DRY_MED=$(median <"$WORK/dry.t")
SCAN_RATIO=$(ratio "$DRY_MED" "$CURL_MED")
stop_gateway

# --- (b) throughput and memory against a plain HTTP server ----------------
serve_document() { # serve_document GROUPS SERIES -> sets DOC_URL DOC_BYTES
  local dir="$WORK/doc-$1x$2" port attempt
  mkdir -p "$dir/api/v1"
  "$GEN" json --groups "$1" --series "$2" --seed "$SEED" --out "$dir/api/v1/metrics"
  DOC_BYTES=$(stat -c %s "$dir/api/v1/metrics")
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    python3 scripts/serve-json.py "$port" "$dir" 2>>"$WORK/http.log" &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    if wait_listening "$SRV_PID" "http://127.0.0.1:$port/api/v1/metrics" "$port"; then
      DOC_URL="http://127.0.0.1:$port"
      return 0
    fi
    kill "$SRV_PID" 2>/dev/null || true
  done
  die "the document server did not start"
}

# measure_dry_run URL -> median wall seconds, max RSS KiB (over RUNS runs)
measure_dry_run() {
  local url=$1 i t0 t1 rss
  : >"$WORK/b.t"; MAX_RSS_KB=0
  "$JANITOR" --url "$url" --dry-run -q >/dev/null # warm the page cache
  for i in $(seq 1 "$RUNS"); do
    t0=$(now)
    /usr/bin/time -v -o "$WORK/time.txt" "$JANITOR" --url "$url" --dry-run -q >/dev/null
    t1=$(now)
    elapsed "$t0" "$t1" >>"$WORK/b.t"; echo >>"$WORK/b.t"
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time.txt")
    [ "$rss" -gt "$MAX_RSS_KB" ] && MAX_RSS_KB=$rss
  done
  WALL_MED=$(median <"$WORK/b.t")
}

log "(b) ${DOC_GROUPS} groups of ${DOC_SERIES} series from a plain HTTP server"
serve_document "$DOC_GROUPS" "$DOC_SERIES"
DOC1_BYTES=$DOC_BYTES
: >"$WORK/bc.t"
for i in $(seq 1 "$RUNS"); do
  t0=$(now); curl -s -o /dev/null --max-time 60 "$DOC_URL/api/v1/metrics"; t1=$(now)
  elapsed "$t0" "$t1" >>"$WORK/bc.t"; echo >>"$WORK/bc.t"
done
DOC1_CURL=$(median <"$WORK/bc.t")
measure_dry_run "$DOC_URL"
DOC1_WALL=$WALL_MED; DOC1_RSS=$MAX_RSS_KB
DOC1_MBS=$(awk -v b="$DOC1_BYTES" -v t="$DOC1_WALL" 'BEGIN { printf "%.0f", b / t / 1e6 }')
DOC1_CURL_MBS=$(awk -v b="$DOC1_BYTES" -v t="$DOC1_CURL" 'BEGIN { printf "%.0f", b / t / 1e6 }')
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
rm -rf "$WORK/doc-${DOC_GROUPS}x${DOC_SERIES}"

log "(b) the 4x document: ${DOC_GROUPS} groups of $((DOC_SERIES * 4)) series"
serve_document "$DOC_GROUPS" "$((DOC_SERIES * 4))"
DOC4_BYTES=$DOC_BYTES
measure_dry_run "$DOC_URL"
DOC4_WALL=$WALL_MED; DOC4_RSS=$MAX_RSS_KB
DOC4_MBS=$(awk -v b="$DOC4_BYTES" -v t="$DOC4_WALL" 'BEGIN { printf "%.0f", b / t / 1e6 }')
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
rm -rf "$WORK/doc-${DOC_GROUPS}x$((DOC_SERIES * 4))"
RSS1_MIB=$(awk -v k="$DOC1_RSS" 'BEGIN { printf "%.1f", k / 1024 }')
RSS4_MIB=$(awk -v k="$DOC4_RSS" 'BEGIN { printf "%.1f", k / 1024 }')
RSS_GROWTH=$(awk -v a="$DOC1_RSS" -v b="$DOC4_RSS" 'BEGIN { printf "%+.1f", (b - a) / 1024 }')

# --- (c) deletes on a real Pushgateway ------------------------------------
# Loading is the slow part (the gateway checks each push against all it
# holds), so the groups are pushed once, the gateway is stopped (it writes
# its persistence file), and each measurement starts a fresh gateway from a
# copy of that file: both runs delete the same ${DEL_GROUPS} groups.
log "(c) loading ${DEL_GROUPS} small groups"
start_gateway "$WORK/del.db"
t0=$(now)
"$GEN" push --url "$GW_URL" --groups "$DEL_GROUPS" --series 2 --seed "$SEED" --threads 4
LOAD_DEL=$(elapsed "$t0" "$(now)")
[ "$(group_count "$GW_URL")" = "$DEL_GROUPS" ] || die "the gateway does not hold ${DEL_GROUPS} groups"
stop_gateway
[ -s "$WORK/del.db" ] || die "the Pushgateway wrote no persistence file"
sleep 2 # every group is now older than --threshold 1s

# delete_run [janitor flags...]: a fresh gateway from the persisted copy,
# a dry run on it (process start + scan: what is not deleting), then the
# run itself (scan, DELETEs, the janitor's own verification re-scans), then
# the script's bounded check that nothing is left (not timed).
delete_run() {
  cp "$WORK/del.db" "$WORK/del-run.db"
  start_gateway "$WORK/del-run.db"
  wait_for_groups "$GW_URL" "$DEL_GROUPS" >/dev/null
  local t0 t1 rc=0
  t0=$(now)
  "$JANITOR" --url "$GW_URL" --threshold 1s --clock local --dry-run -q >/dev/null
  t1=$(now)
  elapsed "$t0" "$t1" >>"$WORK/scan-$1.t"; echo >>"$WORK/scan-$1.t"
  t0=$(now)
  "$JANITOR" --url "$GW_URL" --threshold 1s --clock local --verify-timeout 30s -q --concurrency "$1" >"$WORK/del.report" || rc=$?
  t1=$(now)
  [ "$rc" = 0 ] || die "the janitor exited $rc deleting groups: $(tail -n 3 "$WORK/del.report")"
  elapsed "$t0" "$t1" >>"$WORK/del-$1.t"; echo >>"$WORK/del-$1.t"
  wait_for_groups "$GW_URL" 0 >>"$WORK/poll-$1.t"; echo >>"$WORK/poll-$1.t"
  stop_gateway
  rm -f "$WORK/del-run.db"
}
for c in 1 4; do
  : >"$WORK/scan-$c.t"; : >"$WORK/del-$c.t"; : >"$WORK/poll-$c.t"
done
for i in $(seq 1 "$DEL_RUNS"); do
  log "(c) round $i of ${DEL_RUNS}: --concurrency 1, then the default (4)"
  delete_run 1
  delete_run 4
done
DEL1=$(median <"$WORK/del-1.t"); DELD=$(median <"$WORK/del-4.t")
SCAN1=$(median <"$WORK/scan-1.t"); SCAND=$(median <"$WORK/scan-4.t")
POLL_MAX=$(sort -g "$WORK/poll-1.t" "$WORK/poll-4.t" | tail -n1)
PHASE1=$(awk -v a="$DEL1" -v b="$SCAN1" 'BEGIN { printf "%.4f", a - b }')
PHASED=$(awk -v a="$DELD" -v b="$SCAND" 'BEGIN { printf "%.4f", a - b }')
DEL_SPEEDUP=$(ratio "$DEL1" "$DELD")
PHASE_SPEEDUP=$(ratio "$PHASE1" "$PHASED")

# --- (d) the parser alone (criterion) -------------------------------------
PARSER_MBS="not run"; PARSER_UNIT=""
if [ "$CRITERION" = 1 ]; then
  if [ "$QUICK" = 1 ]; then
    log "(d) criterion bench in test mode"
    PGJ_BENCH_QUICK=1 cargo test --locked --bench document >&2
    PARSER_MBS="n/a (quick)"
  else
    log "(d) criterion bench (one core)"
    cargo bench --locked --bench document --no-run >&2
    taskset -c 0 cargo bench --locked --bench document -- --noplot read_document/ >"$WORK/criterion.txt" 2>&1 ||
      { cat "$WORK/criterion.txt" >&2; die "cargo bench failed"; }
    # "thrpt:  [lo MB/s mid MB/s hi MB/s]" -> mid
    PARSER_UNIT=" MB/s"
    PARSER_MBS=$(awk '/read_document\/bufreader/ { f = 1 } f && /thrpt:/ {
      gsub(/\[|\]/, ""); v = $4; u = $5
      if (u == "GB/s") v *= 1000; printf "%.0f", v; exit }' "$WORK/criterion.txt")
  fi
fi

LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- report ----------------------------------------------------------------
CPU="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
MEM="$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
PGW_VERSION="$("$PUSHGATEWAY" --version 2>&1 | head -n1)"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
MB() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

TABLE="| measurement | result | target | |
|---|---|---|---|
| (a) dry run vs \`curl\`, real Pushgateway, ${SCAN_GROUPS} groups x ${SCAN_SERIES} series ($(MB "$SCAN_BYTES")), median of ${RUNS} alternating | $(fmt "$DRY_MED" 3) s vs $(fmt "$CURL_MED" 3) s = **${SCAN_RATIO}x** | <= 1.10x | $(met "$SCAN_RATIO" '<=' 1.10) |
| (b) dry run end to end, plain HTTP server, $(MB "$DOC1_BYTES") (${DOC_GROUPS} groups x ${DOC_SERIES} series), process start included | $(fmt "$DOC1_WALL" 3) s = **${DOC1_MBS} MB/s** (curl: ${DOC1_CURL_MBS} MB/s) | >= 250 MB/s | $(met "$DOC1_MBS" '>=' 250) |
| (b) peak RSS on that document | **${RSS1_MIB} MiB** | <= 24 MiB | $(met "$RSS1_MIB" '<=' 24) |
| (b) peak RSS on a 4x document, $(MB "$DOC4_BYTES") (${DOC_GROUPS} groups x $((DOC_SERIES * 4)) series; ${DOC4_MBS} MB/s) | ${RSS4_MIB} MiB = **${RSS_GROWTH} MiB** | <= +2 MiB | $(met "$RSS_GROWTH" '<=' 2) |
| (c) delete + verify ${DEL_GROUPS} groups, real Pushgateway, default concurrency (4): whole run, median of ${DEL_RUNS} | **$(fmt "$DELD" 2) s** | < 2 s | $(met "$DELD" '<' 2) |
| (c) whole run at \`--concurrency 1\` | $(fmt "$DEL1" 2) s = **${DEL_SPEEDUP}x** the default's | >= 2x | $(met "$DEL_SPEEDUP" '>=' 2) |
| (c) deletes + verification only (whole run minus a dry run's scan, $(fmt "$SCAND" 2) s): concurrency 1 vs default | $(fmt "$PHASE1" 2) s vs $(fmt "$PHASED" 2) s = **${PHASE_SPEEDUP}x** | >= 2x | $(met "$PHASE_SPEEDUP" '>=' 2) |
| (d) parser alone, criterion, one core (\`read_document\` over the scan's BufReader) | **${PARSER_MBS}${PARSER_UNIT}** | >= 300 MB/s | $(met "${PARSER_MBS//[^0-9.]/}" '>=' 300) |"

{
  echo "# Benchmarks"
  echo
  if [ "$QUICK" = 1 ]; then
    echo "Smoke run (\`scripts/bench.sh --quick\`): tiny sizes and a debug build; the figures mean nothing."
    echo
  fi
  echo "Measured by \`scripts/bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit ${COMMIT}."
  echo
  echo "$TABLE"
  echo
  echo "How it was measured:"
  echo
  echo "- (a) The Pushgateway took $(fmt "$LOAD_SCAN" 1) s to load (4 parallel pushes). Wall time of"
  echo "  \`pushgateway-janitor --dry-run\` (process start included) against \`curl -s -o /dev/null\`"
  echo "  of \`/api/v1/metrics\`, alternating in ABBA order, after one unmeasured run of each."
  echo "- (b) \`python3 http.server\` serves the generated document (examples/flink_document.rs) as"
  echo "  application/json; wall time and \`/usr/bin/time -v\` peak RSS of the dry run, median and max"
  echo "  of ${RUNS} runs. Throughput is document size over wall time."
  echo "- (c) ${DEL_GROUPS} groups of 2 series, loaded once ($(fmt "$LOAD_DEL" 1) s), the gateway stopped so it"
  echo "  persists them; every measurement runs on a fresh gateway started from a copy of that file,"
  echo "  so all delete the same groups. Timed: the janitor's whole run (process start, scan, the"
  echo "  DELETEs, its own verification re-scans until every group is gone). Before it, a dry run on"
  echo "  the same gateway times what is not deleting (process start and scan; the gateway needs"
  echo "  most of it to render ${DEL_GROUPS} groups). After it, the script's own bounded poll of"
  echo "  \`/api/v1/metrics\` confirmed nothing was left (within $(fmt "$POLL_MAX" 3) s, not timed)."
  echo "- (d) \`cargo bench --bench document\` on a generated ~11 MB document, pinned to one core."
  echo
  cat <<'NOTES'
What bounds these figures (observed while writing this script, on this machine):

- (a) The Pushgateway. It spends 0.6 to 0.9 s of CPU rendering the 28.6 MB document; the janitor
  spends about 30 ms of CPU reading it, as it arrives. Single runs vary by 20% with what the
  gateway served just before (its garbage collector), so only medians of alternating runs mean
  anything; an earlier version of this script that always ran the janitor second measured 1.11x.
- (b) The parser, on one core: curl reads the same document from the same server 2.5x faster.
  Peak memory is the binary, the runtime and a 1 MiB read window; it does not grow with the
  document (the 4x document has four times the series in the same groups).
- (c) Every run, whatever its concurrency, starts with a scan the gateway needs about 0.17 s to
  render for 5,000 groups, and ends with a verification re-scan (after a 50 ms pause). So the
  whole run at concurrency 1 stays under 2x the default's, while the deletes and verification
  alone get there. The gateway spends 80 to 120 µs of CPU per DELETE; on two shared cores that
  bounds the default concurrency.
NOTES
  echo
  echo "Machine: $(nproc) cores, ${CPU}, ${MEM}, $(uname -sr); ${PGW_VERSION}; $(rustc --version)."
  echo "Load average (1, 5, 15 min) before: ${LOAD_BEFORE}; after: ${LOAD_AFTER}. The machine is shared:"
  echo "other builds running at the same time make these figures noisier and slower."
} >"$WORK/BENCHMARKS.md"

mkdir -p "$(dirname "$OUT")"
cp "$WORK/BENCHMARKS.md" "$OUT"
echo
echo "$TABLE"
echo
log "written to $OUT"
