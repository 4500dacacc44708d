#!/usr/bin/env bash
# Issue 30's performance check: a pass over a 1,444-group Flink document
# with a --state-file holding 10,000 groups' rhythms (the document's 1,444
# groups with six pushes each, and 8,556 groups deleted as stale within the
# return window), against the same pass by the janitor before rhythms
# (no state file). Writes the figures to stdout as a Markdown table.
#
#   BEFORE=/path/to/old/pushgateway-janitor AFTER=target/release/pushgateway-janitor \
#     scripts/bench-rhythms.sh
#
# Both binaries should be release builds. The document is served by
# scripts/serve-json.py on 127.0.0.1 (a free port); nothing else is reached.
# Each pass is a real run (not --dry-run: the state file is read, updated and
# written) with --threshold 1000d, so nothing is deleted; the state file is
# put back before every run, so each run reads and writes 10,000 groups.
set -euo pipefail
cd "$(dirname "$0")/.."

GROUPS_N=${GROUPS_N:-1444}
SERIES=${SERIES:-20}
RUNS=${RUNS:-11}
: "${BEFORE:?BEFORE=path to the janitor before rhythms}"
: "${AFTER:?AFTER=path to this janitor}"
TARGET_DIR="$(cargo metadata --locked --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
GEN="$TARGET_DIR/release/examples/flink_document"
[ -x "$GEN" ] || cargo build --locked --release --example flink_document >&2

WORK=$(mktemp -d)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
log() { echo "== bench-rhythms: $*" >&2; }

mkdir -p "$WORK/doc/api/v1"
"$GEN" json --groups "$GROUPS_N" --series "$SERIES" --seed 1 --out "$WORK/doc/api/v1/metrics"
DOC_BYTES=$(stat -c %s "$WORK/doc/api/v1/metrics")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 scripts/serve-json.py "$PORT" "$WORK/doc" &
SERVER=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -s -o /dev/null "$URL/api/v1/metrics" && break; sleep 0.1; done

# The state: the document's groups with six hourly pushes ending at their
# push time, and deleted groups (Flink's random keys) with one push each.
python3 - "$WORK/doc/api/v1/metrics" "$URL" "$WORK/state.json" <<'PY'
import json, math, random, sys, time
def key(labels):  # rhythm::KeyHash: FNV-1a 128 over job, then the labels by name
    h = 0x6c62272e07bb014262b821756295c58d
    pairs = [("job", labels["job"])] + sorted((k, v) for k, v in labels.items() if k != "job")
    for name, value in pairs:
        for part in (name, value):
            for b in part.encode() + b"\xff":
                h = ((h ^ b) * 0x0000000001000000000000000000013b) % (1 << 128)
    return "%032x" % h
doc = json.load(open(sys.argv[1]))
url, out = sys.argv[2], sys.argv[3]
random.seed(1)
now = time.time()
groups, departed = [], []
for g in doc["data"]:
    labels = dict(g["labels"])
    t = float(g["push_time_seconds"]["metrics"][0]["value"])
    t = math.floor(t * 1000 + 0.5) / 1000  # as the janitor rounds: to the millisecond
    groups.append({"key": key(labels), "pushes": [[t - 3600 * k, 1 + k % 3] for k in range(5, -1, -1)]})
for i in range(10_000 - len(groups)):
    t = round(now - random.uniform(0, 7 * 86400), 3)
    labels = {"job": "flink-metrics%032x" % random.getrandbits(128), "cluster": "demo"}
    departed.append({"key": key(labels), "deleted_at": t + 600, "pushes": [[t, 1]]})
state = {"schema": "pushgateway-janitor/pending/v3", "gateways": [],
         "rhythms": [{"url": url, "discovered_from": None, "address": None, "groups": groups, "departed": departed}]}
json.dump(state, open(out, "w"), separators=(",", ":"))
PY
STATE_BYTES=$(stat -c %s "$WORK/state.json")
log "document: $GROUPS_N groups x $SERIES series, $DOC_BYTES bytes; state: $STATE_BYTES bytes"

# Wall time (process start to exit), peak RSS and CPU (user+sys) of one run,
# to the microsecond (wait4's rusage; /usr/bin/time rounds to 10 ms).
measure() {
  python3 - "$WORK/out.json" "$WORK/err" "$@" <<'PY'
import os, subprocess, sys, time
out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
t = time.perf_counter()
p = subprocess.Popen(cmd, stdout=open(out, "w"), stderr=open(err, "w"))
_, status, ru = os.wait4(p.pid, 0)
wall = time.perf_counter() - t
if status != 0:
    sys.exit(open(err).read() or "the janitor failed")
print("%.4f %d %.4f" % (wall, ru.ru_maxrss, ru.ru_utime + ru.ru_stime))
PY
}
run() { # run NAME BIN [ARGS...]: appends "wall rss_kib cpu" to $WORK/NAME
  local name=$1 bin=$2; shift 2
  measure "$bin" --url "$URL" --threshold 1000d --clock local --label-names legacy \
    --output json --no-verify "$@" >>"$WORK/$name"
}
# Today's pass with its state file: the janitor before rhythms, --grace
# with a state file (no group stale: the file holds no mark).
before_state() {
  rm -f "$WORK/before-state.json"
  run before-state "$BEFORE" --grace 1h --state-file "$WORK/before-state.json"
}
with_state() {
  cp "$WORK/state.json" "$WORK/run-state.json"
  run after-state "$AFTER" --state-file "$WORK/run-state.json"
}
run before "$BEFORE"; with_state # warm-up, not counted
: >"$WORK/before"; : >"$WORK/before-state"; : >"$WORK/after-state"; : >"$WORK/after"
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) = 1 ]; then run before "$BEFORE"; before_state; with_state; run after "$AFTER"
  else run after "$AFTER"; with_state; before_state; run before "$BEFORE"; fi
done
cp "$WORK/state.json" "$WORK/run-state.json"
run check "$AFTER" --state-file "$WORK/run-state.json"
grep -q '"cadence_seconds": 3600' "$WORK/out.json" || { echo "no cadence learned from the state file" >&2; exit 1; }
KEPT=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); r=s["rhythms"][0]; print(len(r["groups"])+len(r["departed"]))' "$WORK/run-state.json")
[ "$KEPT" = 10000 ] || { echo "the state holds $KEPT groups after a pass, not 10000" >&2; exit 1; }

med() { awk -v c="$2" '{ print $c }' "$WORK/$1" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
max() { awk -v c="$2" '{ print $c }' "$WORK/$1" | sort -g | tail -1; }
echo "| median of $RUNS, $GROUPS_N groups x $SERIES series ($DOC_BYTES bytes) | wall s | CPU s | peak RSS KiB (max) |"
echo "|---|---|---|---|"
for n in before after before-state after-state; do
  echo "| $n | $(med "$n" 1) | $(med "$n" 3) | $(max "$n" 2) |"
done
echo
echo "state file with 10,000 groups' rhythms: $STATE_BYTES bytes as generated, $(stat -c %s "$WORK/run-state.json") bytes as the janitor writes it back"
