#!/usr/bin/env bash
# Write path: durable updates per second through lucentd's /update against PowerDNS's HTTP API
# (gsqlite3, PATCH replacing one A RRset; once with default settings, once with
# default-api-rectify=no), with 4 and 8 concurrent clients (wrk, bench/wrk-update.lua), and the
# update-to-answer latency (bench/u2a.py: API answer -> DNS serving the new value).
#
#   bench/writes.sh         # RUNS=3 rounds of DURATION=10 s per client count, HOSTS=10000
#   BASE_LUCENTD=/tmp/lucentd-before bench/writes.sh   # + that binary, same rounds ("base")
#
# Environment: HOSTS, RUNS, DURATION, CONNS (default "1 4 8"), SAMPLES (u2a, default 200),
# BASE_LUCENTD (another lucentd binary, measured side by side on a store of its own),
# UNSIGNED=1 (also the same binary on a store whose zone is not signed: "unsigned"),
# ONLY (a subset of the systems, e.g. "lucentd base pdns-norectify"), plus bench/lib.sh's. Servers on CPU $SERVER_CPU, wrk and u2a on CPU $CLIENT_CPU; rounds are
# interleaved over the three servers; the median round is reported with the range.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

HOSTS=${HOSTS:-10000}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-1 4 8}
SAMPLES=${SAMPLES:-200}
PY=/usr/bin/python3

need wrk:wrk curl:curl sqlite3:sqlite3 dig:bind9-dnsutils taskset:util-linux "$PY":python3 \
  pdns_server:pdns-server
[ -n "$(find /usr/lib -name 'libgsqlite3backend.so' 2>/dev/null | head -n1)" ] ||
  need /nonexistent:pdns-backend-sqlite3
ensure_binaries

DB=$WORK/lucent.db
CONF=$WORK/lucentd.toml
bench_config "$CONF"
log "loading $HOSTS hostnames into the lucentd store"
make_db "$DB" "$HOSTS"
TOKEN=$(cat "$DB.token")
APIKEY=bench-$RANDOM$RANDOM
CHECK_WANT=$(sqlite3 "$DB" "SELECT ipv4 FROM hostnames WHERE label = 'h7'")

declare -A HTTP DNSP PID SECRET MODE FORM
# The binary before a change, side by side: a store of its own with the same rows, made by
# its own admin commands (an older binary may not open a newer schema).
if [ -n "${BASE_LUCENTD:-}" ]; then
  [ -x "$BASE_LUCENTD" ] || die "no lucentd at $BASE_LUCENTD"
  SAVED=$LUCENTD
  LUCENTD=$BASE_LUCENTD
  make_db "$WORK/base.db" "$HOSTS"
  start_lucentd "$WORK/base.db" "$CONF" base
  LUCENTD=$SAVED
  HTTP[base]=$L_HTTP DNSP[base]=$L_DNS PID[base]=$L_PID SECRET[base]=$(cat "$WORK/base.db.token")
  MODE[base]=lucent FORM[base]=label
fi
# The same binary on a store whose zone is not signed (zones.dnssec = 0, schema step 11):
# what signing costs, measured beside it.
if [ "${UNSIGNED:-0}" = 1 ]; then
  make_db "$WORK/unsigned.db" "$HOSTS"
  sqlite3 "$WORK/unsigned.db" "UPDATE zones SET dnssec = 0"
  start_lucentd "$WORK/unsigned.db" "$CONF" unsigned
  HTTP[unsigned]=$L_HTTP DNSP[unsigned]=$L_DNS PID[unsigned]=$L_PID
  SECRET[unsigned]=$(cat "$WORK/unsigned.db.token") MODE[unsigned]=lucent FORM[unsigned]=label
fi
start_lucentd "$DB" "$CONF" lucentd
HTTP[lucentd]=$L_HTTP DNSP[lucentd]=$L_DNS PID[lucentd]=$L_PID SECRET[lucentd]=$TOKEN MODE[lucentd]=lucent
FORM[lucentd]=label
# The same server, addressed with full names (domains=hN.ZONE) instead of bare labels.
HTTP[lucentd-fqdn]=$L_HTTP DNSP[lucentd-fqdn]=$L_DNS PID[lucentd-fqdn]=$L_PID SECRET[lucentd-fqdn]=$TOKEN
MODE[lucentd-fqdn]=lucent FORM[lucentd-fqdn]=fqdn

# start_pdns NAME EXTRA_SETTING: PowerDNS with the API on its own copy of the zone.
start_pdns() {
  local name=$1 extra=$2 d=$WORK/$1 port wport i
  port=$(free_port)
  wport=$(free_port)
  mkdir -p "$d"
  make_pdns_db "$d/pdns.sqlite3" "$DB"
  cat >"$d/pdns.conf" <<EOF
launch=gsqlite3
gsqlite3-database=$d/pdns.sqlite3
local-address=127.0.0.1:$port
socket-dir=$d
daemon=no
guardian=no
disable-syslog=yes
loglevel=3
api=yes
api-key=$APIKEY
webserver=yes
webserver-address=127.0.0.1
webserver-port=$wport
webserver-allow-from=127.0.0.0/8
$extra
EOF
  spawn "$d/out" "$d/err" pdns_server --config-dir="$d"
  HTTP[$name]=127.0.0.1:$wport DNSP[$name]=$port PID[$name]=$SPAWNED SECRET[$name]=$APIKEY MODE[$name]=pdns
  FORM[$name]=""
  for i in $(seq 1 100); do
    curl -fsS -m 2 -o /dev/null -H "X-API-Key: $APIKEY" "http://127.0.0.1:$wport/api/v1/servers/localhost" 2>/dev/null && return 0
    sleep 0.1
  done
  tail -n 20 "$d/err" >&2
  die "PowerDNS ($name) API did not come up"
}
case " ${ONLY:-pdns} " in *" pdns "*) start_pdns pdns "" ;; esac
case " ${ONLY:-pdns-norectify} " in *" pdns-norectify "*) start_pdns pdns-norectify "default-api-rectify=no" ;; esac
SYSTEMS=(lucentd lucentd-fqdn)
[ -n "${BASE_LUCENTD:-}" ] && SYSTEMS+=(base)
[ "${UNSIGNED:-0}" = 1 ] && SYSTEMS+=(unsigned)
SYSTEMS+=(pdns pdns-norectify)
if [ -n "${ONLY:-}" ]; then
  keep=()
  for s in "${SYSTEMS[@]}"; do
    case " $ONLY " in *" $s "*) keep+=("$s") ;; esac
  done
  SYSTEMS=("${keep[@]}")
fi
for s in "${SYSTEMS[@]}"; do
  wait_dns "${DNSP[$s]}" "h7.$ZONE" A "$CHECK_WANT" 100 || die "$s does not serve the zone"
done

RES=$WORK/writes.tsv
: >"$RES"
# run_wrk SYSTEM CONNS ROUND
run_wrk() {
  local s=$1 c=$2 r=$3 t0 t1 out=$WORK/wrk.$1.$2.$3 line
  t0=$(cpu_ticks "${PID[$s]}")
  MODE=${MODE[$s]} FORM=${FORM[$s]} SECRET=${SECRET[$s]} ZONE=$ZONE HOSTS=$HOSTS taskset -c "$CLIENT_CPU" \
    wrk -t "$((c < 2 ? c : 2))" -c "$c" -d "${DURATION}s" --timeout 5s -s "$BENCH_DIR/wrk-update.lua" "http://${HTTP[$s]}/" \
    >"$out" 2>&1 || true
  t1=$(cpu_ticks "${PID[$s]}")
  line=$(grep -m1 '^RESULT ' "$out" || echo "RESULT requests=0 ok_rps=0 errors=-1 socket_errors=-1 p50_ms=0 p99_ms=0")
  # system conns round rps errors other_errors p50 p99 cpu_s requests
  echo "$line" | awk -v s="$s" -v c="$c" -v r="$r" -v cpu="$((t1 - t0))" -v hz="$CLK_TCK" '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\n", s, c, r, v["ok_rps"], v["errors"], v["socket_errors"], v["p50_ms"], v["p99_ms"], cpu / hz, v["requests"]
  }' >>"$RES"
  tail -n1 "$RES" >&2
}

log "columns: system conns round ok_updates/s bad_answers socket_errors p50_ms p99_ms server_cpu_s requests"
for r in $(seq 1 "$RUNS"); do
  for c in $CONNS; do
    for s in "${SYSTEMS[@]}"; do
      run_wrk "$s" "$c" "$r"
    done
  done
done

# After the load, the last write of each system is served: spot check one name.
for s in "${SYSTEMS[@]}"; do
  log "$s: h9 A = $(dig @127.0.0.1 -p "${DNSP[$s]}" "h9.$ZONE" A +short +norec | tr '\n' ' ')"
done

echo
echo "Writes: $HOSTS hostnames; wrk -t min(2,N) -c N -d ${DURATION}s on CPU $CLIENT_CPU, server on CPU $SERVER_CPU; median of $RUNS rounds"
echo "(lucentd: GET /update?domains=hN&token=…&ip=…, answer 200 OK after a synchronous=FULL group commit;"
echo " lucentd-fqdn: the same server with domains=hN.$ZONE;"
echo " PowerDNS: PATCH /api/v1/servers/localhost/zones/$ZONE. REPLACE one A RRset, answer 204)"
echo
echo "| system | clients | successful updates/s (median) | range over rounds | failed answers + socket errors (all rounds) | p50 ms | p99 ms | server CPU s | updates per CPU-s | lucentd ÷ this |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONNS; do
  lmed=""
  for s in "${SYSTEMS[@]}"; do
    awk -F'\t' -v s="$s" -v c="$c" '$1 == s && $2 == c' "$RES" | sort -t$'\t' -k4,4g >"$WORK/rows"
    n=$(wc -l <"$WORK/rows")
    row=$(sed -n "$(((n + 1) / 2))p" "$WORK/rows")
    lo=$(head -n1 "$WORK/rows" | cut -f4)
    hi=$(tail -n1 "$WORK/rows" | cut -f4)
    errs=$(awk -F'\t' '{e += ($5 < 0 ? 0 : $5) + ($6 < 0 ? 0 : $6)} END {print e + 0}' "$WORK/rows")
    IFS=$'\t' read -r _ _ _ rps _ _ p50 p99 cpu _ <<<"$row"
    [ -z "$lmed" ] && lmed=$rps
    eff=$(awk -v q="$rps" -v d="$DURATION" -v c="$cpu" 'BEGIN { if (c > 0) printf "%.0f", q * d / c; else print "-" }')
    printf '| %s | %s | %s | %s–%s | %s | %s | %s | %s | %s | %s |\n' "$s" "$c" "$rps" "$lo" "$hi" "$errs" \
      "$p50" "$p99" "$cpu" "$eff" "$(ratio "$lmed" "$rps")"
  done
done

echo
echo "Update-to-answer latency ($SAMPLES samples each; from the API answer to the first DNS response"
echo "carrying the new A value; includes one DNS round trip, shown alone as 'DNS RTT')"
echo
echo "| system | median µs | p99 µs | max µs | seen on first query | timeouts (>2 s) | DNS RTT median µs | DNS RTT p99 µs |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for s in "${SYSTEMS[@]}"; do
  [ "$s" = lucentd-fqdn ] && continue
  out=$(taskset -c "$CLIENT_CPU" "$PY" "$BENCH_DIR/u2a.py" "${MODE[$s]}" "${HTTP[$s]}" "${DNSP[$s]}" \
    "${SECRET[$s]}" "$ZONE" "$SAMPLES" 2>&1) || out="error: $out"
  log "$s: $out"
  echo "$out" | awk -v s="$s" '{
    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", s, v["median_us"], v["p99_us"], v["max_us"], v["first_query_hit"], v["timeouts"], v["dns_rtt_median_us"], v["dns_rtt_p99_us"]
  }'
done
echo
[ -n "${BASE_LUCENTD:-}" ] && echo "base: $BASE_LUCENTD ($("$BASE_LUCENTD" --version 2>/dev/null | head -n1 || echo lucentd))"
echo "versions: $("$LUCENTD" --version 2>/dev/null | head -n1 || echo lucentd), pdns $(dpkg-query -W -f='${Version}' pdns-server 2>/dev/null || echo '?'), wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')"
