#!/usr/bin/env bash
# Where lucentd spends its time, for bench/RESULTS.md (not part of run-all: it builds a
# symbolised binary and runs under valgrind, ~5 minutes).
#
#   bench/profile.sh
#
# 1. DNS: lucentd built like the release profile but with line tables and no strip
#    (target/bench-profile), serving the 10,000-hostname zone under callgrind while dnsperf
#    sends the bench/dns.sh query mix at a fixed rate; callgrind_annotate's inclusive and
#    exclusive (self) tables follow. Hardware counters are not available in this VM
#    (perf stat -e instructions: <not supported>), hence callgrind: its shares are instruction
#    counts (Ir), not time, and exclude the kernel.
# 2. Writes: syscalls of the release lucentd under 4 concurrent /update clients (strace -c -f):
#    commits (fsync of the WAL) per update, and the time in fsync.
#
# Environment: QPS (dnsperf -Q under callgrind, default 1500), SECONDS_DNS (default 20),
# LUCENTD (release binary for part 2), PROFILE_LUCENTD (symbolised binary; built when unset).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

QPS=${QPS:-1500}
SECONDS_DNS=${SECONDS_DNS:-20}
HOSTS=10000
need valgrind:valgrind callgrind_annotate:valgrind callgrind_control:valgrind dnsperf:dnsperf strace:strace wrk:wrk \
  sqlite3:sqlite3 dig:bind9-dnsutils
ensure_binaries

if [ -z "${PROFILE_LUCENTD:-}" ]; then
  log "building a symbolised lucentd (release profile + line tables) in target/bench-profile"
  (cd "$ROOT" && CARGO_TARGET_DIR=$ROOT/target/bench-profile CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
    CARGO_PROFILE_RELEASE_STRIP=none cargo build --release --bin lucentd)
  PROFILE_LUCENTD=$ROOT/target/bench-profile/release/lucentd
fi

DB=$WORK/lucent.db
CONF=$WORK/lucentd.toml
bench_config "$CONF"
make_db "$DB" "$HOSTS"
QFILE=$WORK/queries.txt
awk -v n="$HOSTS" -v q=200000 -v z="$ZONE" 'BEGIN {
  srand(42)
  for (i = 0; i < q; i++) {
    r = rand(); k = int(rand() * n) + 1
    if (r < 0.80) printf "h%d.%s A\n", k, z
    else if (r < 0.90) printf "h%d.%s AAAA\n", k, z
    else if (r < 0.95) printf "h%d.%s TXT\n", k, z
    else printf "nx%d.%s A\n", k, z
  }
}' >"$QFILE"

# --- 1. DNS under callgrind ------------------------------------------------------------------
log "DNS: lucentd under callgrind, dnsperf -Q $QPS -l $SECONDS_DNS"
CG=$WORK/callgrind.out
spawn "$WORK/cg.out" "$WORK/cg.log" valgrind --tool=callgrind --callgrind-out-file="$CG" \
  "$PROFILE_LUCENTD" serve --db "$DB" --config "$CONF" --http 127.0.0.1:0 --dns 127.0.0.1:0
CG_PID=$SPAWNED
line=""
for _ in $(seq 1 600); do
  line=$(grep -m1 '^lucentd listening ' "$WORK/cg.out" 2>/dev/null || true)
  [ -n "$line" ] && break
  sleep 0.1
done
[ -n "$line" ] || die "lucentd under valgrind did not start: $(tail -n 5 "$WORK/cg.log")"
port=${line#*dns=}
port=${port%% *}
port=${port##*:}
wait_dns "$port" "h7.$ZONE" A "$(sqlite3 "$DB" "SELECT ipv4 FROM hostnames WHERE label = 'h7'")" 100
# Count from here on: the start-up (zone load) is not part of the query path.
callgrind_control -z "$CG_PID" >/dev/null
taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$QFILE" -l "$SECONDS_DNS" -Q "$QPS" -c 10 -T 1 \
  >"$WORK/dnsperf.out" 2>&1 || true
grep -E 'Queries (sent|completed|lost)' "$WORK/dnsperf.out" >&2 || true
# callgrind writes its file when the process ends: stop it gently.
kill -TERM "$CG_PID" 2>/dev/null || true
for _ in $(seq 1 300); do
  kill -0 "$CG_PID" 2>/dev/null || break
  sleep 0.1
done
stop_pid "$CG_PID"
[ -s "$CG" ] || die "no callgrind output"
completed=$(awk '/Queries completed:/ {print $3}' "$WORK/dnsperf.out")
echo "== DNS: callgrind, $completed queries answered (10,000-hostname zone, bench/dns.sh mix)"
total_ir=$(callgrind_annotate "$CG" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
echo "instructions per answered query (user space, collected part): $(awk -v t="$total_ir" -v q="$completed" 'BEGIN {if (q > 0) printf "%.0f", t / q}')"
echo
echo "-- inclusive (top 45)"
callgrind_annotate --inclusive=yes --threshold=100 "$CG" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 47
echo
echo "-- self (top 45)"
callgrind_annotate --threshold=100 "$CG" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 47
cp "$CG" "$ROOT/bench/out/callgrind.dns.out" 2>/dev/null || true

# --- 2. writes: syscalls per update -------------------------------------------------------------
log "writes: strace -c -f of the release lucentd under 4 clients"
start_lucentd "$DB" "$CONF" wr
TOKEN=$(cat "$DB.token")
strace -c -f -p "$L_PID" -o "$WORK/strace.out" &
ST=$!
sleep 1
MODE=lucent SECRET=$TOKEN ZONE=$ZONE HOSTS=$HOSTS taskset -c "$CLIENT_CPU" wrk -t 2 -c 4 -d 10s \
  -s "$BENCH_DIR/wrk-update.lua" "http://$L_HTTP/" >"$WORK/wrk.out" 2>&1 || true
kill -INT "$ST" 2>/dev/null || true
wait "$ST" 2>/dev/null || true
reqs=$(awk '/^RESULT/ {for (i = 2; i <= NF; i++) {split($i, kv, "="); if (kv[1] == "requests") print kv[2]}}' "$WORK/wrk.out")
fsyncs=$(awk '$NF == "fsync" || $NF == "fdatasync" {s += $4} END {print s + 0}' "$WORK/strace.out")
echo
echo "== writes: 10 s, 4 clients: $reqs updates, $fsyncs fsync/fdatasync calls ($(ratio "$reqs" "$fsyncs") updates per fsync)"
grep '^RESULT' "$WORK/wrk.out" || true
sed -n '1,25p' "$WORK/strace.out"
