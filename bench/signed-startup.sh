#!/usr/bin/env bash
# Start-up of a signed zone (#15): lucentd on a store of BIG hostnames, started twice. The
# first start signs every RRset (once per store: zones older than DNSSEC support, or a fresh
# import) and keeps the signatures in the store; the second start serves the stored ones. For
# each: time to the listening line and RSS one second later; between them, the time until the
# signatures are all kept (rows in `rrsigs` stop growing) and a clean stop.
#
#   bench/signed-startup.sh     # BIG=1000000
#   BASE_LUCENTD=/tmp/lucentd-before RUNS=3 bench/signed-startup.sh
#
# With BASE_LUCENTD, the second start (stored signatures) is then repeated RUNS times for
# each binary in turn on the same store (both read the signatures the first start kept), so
# the two are compared in one session; the median and range are reported.
#
# Environment: BIG, BASE_LUCENTD, RUNS (default 3), plus bench/lib.sh's. lucentd runs on CPU
# $SERVER_CPU.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BIG=${BIG:-1000000}
need sqlite3:sqlite3 taskset:util-linux
ensure_binaries
CONF=$WORK/lucentd.toml
bench_config "$CONF"
DB=$WORK/h$BIG.db
log "making a store with $BIG hostnames"
make_db "$DB" "$BIG"

# start_timed LABEL: start lucentd (no start-up limit); START_MS: ms to the listening line.
start_timed() {
  local t0 t1 line="" bin=${2:-$LUCENTD}
  t0=$(date +%s%N)
  spawn "$WORK/$1.out" "$WORK/$1.log" "$bin" serve --db "$DB" --config "$CONF" \
    --http 127.0.0.1:0 --dns 127.0.0.1:0
  L_PID=$SPAWNED
  until [ -n "$line" ]; do
    line=$(grep -m1 '^lucentd listening ' "$WORK/$1.out" 2>/dev/null || true)
    kill -0 "$L_PID" 2>/dev/null || die "lucentd ($1) exited: $(tail -n 5 "$WORK/$1.log")"
    sleep 0.05
  done
  t1=$(date +%s%N)
  START_MS=$(((t1 - t0) / 1000000))
}

rows() { sqlite3 "$DB" "SELECT count(*) FROM rrsigs" 2>/dev/null || echo 0; }

start_timed first
first_ms=$START_MS
sleep 1
first_rss=$(rss_kib "$L_PID")
log "first start: ${first_ms} ms, RSS ${first_rss} KiB; waiting for the signatures to be kept"
t0=$(date +%s)
prev=-1
while :; do
  sleep 2
  n=$(rows)
  [ "$n" = "$prev" ] && [ "$n" -gt 0 ] && break
  prev=$n
done
kept_s=$(($(date +%s) - t0))
kill -TERM "$L_PID"
wait "$L_PID" 2>/dev/null || true
log "signatures kept: $prev rows in about ${kept_s} s"

start_timed second
second_ms=$START_MS
sleep 1
second_rss=$(rss_kib "$L_PID")
stop_pid "$L_PID"

echo "| hostnames | first start (signs all) ms | RSS KiB | signature rows kept | keeping took s | second start (stored signatures) ms | RSS KiB |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
echo "| $BIG | $first_ms | $first_rss | $prev | $kept_s | $second_ms | $second_rss |"

[ -n "${BASE_LUCENTD:-}" ] || exit 0
# Later starts, each binary in turn on the same store.
RUNS=${RUNS:-3}
declare -A MS RSS
for r in $(seq 1 "$RUNS"); do
  for b in this base; do
    bin=$LUCENTD
    [ "$b" = base ] && bin=$BASE_LUCENTD
    sync
    start_timed "$b-$r" "$bin"
    sleep 1
    rss=$(rss_kib "$L_PID")
    stop_pid "$L_PID"
    MS[$b]="${MS[$b]:-} $START_MS" RSS[$b]="${RSS[$b]:-} $rss"
    log "$b round $r: ${START_MS} ms, RSS ${rss} KiB"
  done
done
echo
echo "Later starts (stored signatures), $RUNS each, alternating; median (range)"
echo
echo "| binary | start-up ms | RSS MiB |"
echo "|---|---:|---:|"
for b in this base; do
  # shellcheck disable=SC2086
  ms_med=$(median_of ${MS[$b]})
  # shellcheck disable=SC2086
  rss_med=$(median_of ${RSS[$b]})
  # shellcheck disable=SC2086
  range=$(printf '%s\n' ${MS[$b]} | sort -n | sed -n '1p;$p' | paste -sd'-')
  name=$LUCENTD
  [ "$b" = base ] && name=$BASE_LUCENTD
  printf '| %s (%s) | %s (%s) | %s |\n' "$b" "$name" "$ms_med" "$range" "$(awk -v k="$rss_med" 'BEGIN {printf "%.1f", k / 1024}')"
done
