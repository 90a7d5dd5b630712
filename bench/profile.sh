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
need perf:linux-perf valgrind:valgrind callgrind_annotate:valgrind callgrind_control:valgrind ms_print:valgrind dnsperf:dnsperf strace:strace wrk:wrk \
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

# stop_valgrind PID: SIGTERM (lucentd shuts down gracefully, valgrind writes its file), wait up
# to 60 s, then the usual stop.
stop_valgrind() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 600); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  stop_pid "$1"
}

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
stop_valgrind "$CG_PID"
[ -s "$CG" ] || die "no callgrind output"
completed=$(awk '/Queries completed:/ {print $3}' "$WORK/dnsperf.out")
echo "== DNS: callgrind, $completed queries answered (10,000-hostname zone, bench/dns.sh mix)"
total_ir=$(callgrind_annotate "$CG" 2>/dev/null | awk '/PROGRAM TOTALS/ && t == "" {gsub(",", "", $1); t = $1} END {print t}')
echo "instructions per answered query (user space, collected part): $(awk -v t="$total_ir" -v q="$completed" 'BEGIN {if (q > 0) printf "%.0f", t / q}')"
echo
echo "-- inclusive (top 45)"
callgrind_annotate --inclusive=yes --threshold=100 "$CG" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 47 || true
echo
echo "-- self (top 45)"
callgrind_annotate --threshold=100 "$CG" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 47 || true
echo
echo "-- callers of memset, malloc and free (callgrind_annotate --tree=caller)"
callgrind_annotate --tree=caller --inclusive=yes --threshold=100 "$CG" 2>/dev/null >"$WORK/tree.txt" || true
grep -B10 -E '\*  .*(memset|malloc\.c:malloc |malloc\.c:free )' "$WORK/tree.txt" | head -n 80 || true
mkdir -p "$ROOT/bench/out"
cp "$CG" "$ROOT/bench/out/callgrind.dns.out" 2>/dev/null || true

# --- 1b. DNS at full load: perf sampling on the software cpu-clock ------------------------------
# Hardware counters are missing here, but the cpu-clock software event samples fine: true time
# shares at saturation, kernel included (callgrind counts instructions only, user space only, and
# counts each byte of a `rep stosb` memset as one instruction, so it overstates memset).
if perf record -e cpu-clock -o "$WORK/perf.probe" -- true >/dev/null 2>&1; then
  log "DNS: perf record -e cpu-clock (dwarf call graphs) at full load"
  release_lucentd=$LUCENTD
  LUCENTD=$PROFILE_LUCENTD # symbols for perf report
  start_lucentd "$DB" "$CONF" perf
  LUCENTD=$release_lucentd
  PERF_PID=$L_PID
  taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$L_DNS" -d "$QFILE" -l 9 -c 10 -q 500 -T 1 \
    >"$WORK/dnsperf.perf.out" 2>&1 &
  DP=$!
  sleep 2
  perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$PERF_PID" -o "$WORK/perf.data" -- sleep 4 \
    >/dev/null 2>&1 || true
  wait "$DP" || true
  stop_pid "$PERF_PID"
  echo
  echo "== DNS at full load: perf cpu-clock samples of lucentd ($(awk '/Queries per second/ {print $4}' "$WORK/dnsperf.perf.out") qps)"
  echo "-- by object"
  perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n 5 || true
  echo "-- self (top 30)"
  perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio --call-graph=none 2>/dev/null |
    grep -E '^ +[0-9]' | head -n 30 | cut -c1-160 || true
  echo "-- inclusive, selected frames"
  perf report -i "$WORK/perf.data" --children --sort symbol --stdio --call-graph=none 2>/dev/null |
    grep -E '^ +[0-9]' | grep -E '\] (lucent_server::dns::(lookup|server|zone)::[A-Za-z_:<>]+|hickory_server::server::ServerContext<T>::handle_raw_request::\{\{closure\}\}|hickory_server::zone_handler::message_response::MessageResponse<A,N,S,D>::destructive_emit|__libc_sendto|__libc_recvfrom|_int_malloc|_int_free|malloc|epoll_wait|hickory_server::server::reap_tasks|tokio::runtime::task::list::OwnedTasks<S>::bind_inner) *$' |
    head -n 25 | cut -c1-160 || true
  echo "-- callers of memcmp"
  perf report -i "$WORK/perf.data" --no-children --stdio --call-graph=caller,2 -S __memcmp_evex_movbe,__memcmp_avx2_movbe \
    2>/dev/null | grep -E '[0-9]+\.[0-9]+%' | head -n 8 | cut -c1-200 || true
fi

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
sed -n '1,25p' "$WORK/strace.out" || true

# --- 2b. writes under callgrind: where the CPU of an update goes ------------------------------
# Twice: domains=hN (bare label, as DuckDNS clients send it) and domains=hN.ZONE (full name).
for form in label fqdn; do
  log "writes: lucentd under callgrind, 4 clients, 20 s, FORM=$form"
  CG3=$WORK/callgrind.writes.$form.out
  spawn "$WORK/cg3.$form.out" "$WORK/cg3.$form.log" valgrind --tool=callgrind --callgrind-out-file="$CG3" \
    "$PROFILE_LUCENTD" serve --db "$DB" --config "$CONF" --http 127.0.0.1:0 --dns 127.0.0.1:0
  CG3_PID=$SPAWNED
  line=""
  for _ in $(seq 1 600); do
    line=$(grep -m1 '^lucentd listening ' "$WORK/cg3.$form.out" 2>/dev/null || true)
    [ -n "$line" ] && break
    sleep 0.1
  done
  [ -n "$line" ] || die "lucentd under valgrind did not start"
  http=${line#*http=}
  http=${http%% *}
  callgrind_control -z "$CG3_PID" >/dev/null
  MODE=lucent FORM=$form SECRET=$TOKEN ZONE=$ZONE HOSTS=$HOSTS taskset -c "$CLIENT_CPU" wrk -t 2 -c 4 -d 20s \
    --timeout 10s -s "$BENCH_DIR/wrk-update.lua" "http://$http/" >"$WORK/wrk3.$form.out" 2>&1 || true
  stop_valgrind "$CG3_PID"
  reqs3=$(awk '/^RESULT/ {for (i = 2; i <= NF; i++) {split($i, kv, "="); if (kv[1] == "requests") print kv[2]}}' "$WORK/wrk3.$form.out")
  total3=$(callgrind_annotate "$CG3" 2>/dev/null | awk '/PROGRAM TOTALS/ && t == "" {gsub(",", "", $1); t = $1} END {print t}')
  echo
  echo "== writes under callgrind, FORM=$form: $reqs3 updates (4 clients), $(awk -v t="$total3" -v q="$reqs3" 'BEGIN {if (q > 0) printf "%.0f", t / q}') instructions per update"
  echo "-- inclusive (top 45)"
  callgrind_annotate --inclusive=yes --threshold=100 "$CG3" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 47 || true
  echo "-- self (top 30)"
  callgrind_annotate --threshold=100 "$CG3" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 32 || true
done

# --- 3. start-up: callgrind over loading a 100,000-hostname store -------------------------------
N_START=${N_START:-100000}
log "start-up: lucentd under callgrind, $N_START hostnames, until the listening line"
make_db "$WORK/big.db" "$N_START"
CG2=$WORK/callgrind.start.out
spawn "$WORK/cg2.out" "$WORK/cg2.log" valgrind --tool=callgrind --callgrind-out-file="$CG2" \
  "$PROFILE_LUCENTD" serve --db "$WORK/big.db" --config "$CONF" --http 127.0.0.1:0 --dns 127.0.0.1:0
CG2_PID=$SPAWNED
for _ in $(seq 1 3000); do
  grep -q '^lucentd listening ' "$WORK/cg2.out" 2>/dev/null && break
  sleep 0.1
done
stop_valgrind "$CG2_PID"
echo
echo "== start-up with $N_START hostnames: callgrind (whole process until the listening line)"
echo "-- inclusive (top 40)"
callgrind_annotate --inclusive=yes --threshold=100 "$CG2" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 42 || true
echo "-- self (top 25)"
callgrind_annotate --threshold=100 "$CG2" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 27 || true

# --- 4. memory: massif heap profile with 10,000 hostnames ---------------------------------------
log "memory: lucentd under massif, $HOSTS hostnames"
MS=$WORK/massif.out
spawn "$WORK/ms.out" "$WORK/ms.log" valgrind --tool=massif --massif-out-file="$MS" --threshold=2.0 \
  "$PROFILE_LUCENTD" serve --db "$DB" --config "$CONF" --http 127.0.0.1:0 --dns 127.0.0.1:0
MS_PID=$SPAWNED
for _ in $(seq 1 600); do
  grep -q '^lucentd listening ' "$WORK/ms.out" 2>/dev/null && break
  sleep 0.1
done
sleep 2
stop_valgrind "$MS_PID"
echo
echo "== heap with $HOSTS hostnames: massif peak snapshot (allocation sites >= 2%)"
peak=$(ms_print "$MS" 2>/dev/null | sed -n 's/.*Detailed snapshots: \[.*[^0-9]\([0-9][0-9]*\) (peak).*/\1/p' | head -n 1)
ms_print "$MS" 2>/dev/null | awk -v p="$peak" '$1 == p && $2 ~ /^[0-9,]+$/ {f = 1; print; next} f && /^ +n +time/ {f = 0} f' |
  head -n 60 || true
