#!/usr/bin/env bash
# DNS throughput: one 10,000-hostname zone served by lucentd, NSD, Knot, PowerDNS (gsqlite3)
# and BIND, each pinned to CPU $SERVER_CPU, loaded by dnsperf pinned to CPU $CLIENT_CPU.
#
#   bench/dns.sh            # RUNS=3 rounds, DURATION=10 s each, HOSTS=10000
#
# Environment: HOSTS, RUNS, DURATION, CLIENTS (dnsperf -c), LEVELS (dnsperf -q values, one
# table each: 500 saturates every server here, 100 stays below the UDP receive buffers),
# SERVERS (default "lucentd nsd knot pdns bind"), plus bench/lib.sh's.
# DNSSEC=1: every query with DO=1 (dnsperf -D), the zone signed by each server the way it signs
# by itself: lucentd by default (ECDSA P-256 CSK, NSEC3 with RFC 9276 parameters, denial made
# per query), Knot by its automatic signing with the same algorithm and NSEC3 parameters (its
# NSEC3 chain pre-signed). Only lucentd and Knot sign on their own here (default SERVERS then
# "lucentd knot").
# The zone data is made once (bench/lib.sh make_db: lucentd's store) and every other server's
# zone (NSD/Knot/BIND zone file, PowerDNS gsqlite3 database) is generated from that database.
# Query mix (QUERIES lines, shuffled): 80% A, 10% AAAA, 5% TXT of existing names, 5% A of
# names that do not exist (NXDOMAIN).
# Rounds are interleaved (round 1 of every server, then round 2, ...), so a burst of load from
# other users of the machine hits all servers alike; each server's median round is reported.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

HOSTS=${HOSTS:-10000}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-10}
LEVELS=${LEVELS:-500 100}
QUERIES=${QUERIES:-200000}
DNSSEC=${DNSSEC:-0}
if [ "$DNSSEC" = 1 ]; then
  SERVERS=${SERVERS:-lucentd knot}
  DO_FLAG=(-D)
else
  SERVERS=${SERVERS:-lucentd nsd knot pdns bind}
  DO_FLAG=()
fi

need dnsperf:dnsperf dig:bind9-dnsutils sqlite3:sqlite3 taskset:util-linux /usr/bin/python3:python3
for s in $SERVERS; do
  case $s in
    nsd) need nsd:nsd ;;
    knot) need knotd:knot ;;
    pdns) need pdns_server:pdns-server pdns_server:pdns-backend-sqlite3 ;;
    bind) need named:bind9 ;;
  esac
done
[ -e /usr/lib/x86_64-linux-gnu/pdns/libgsqlite3backend.so ] || [ -n "$(find /usr/lib -name 'libgsqlite3backend.so' 2>/dev/null | head -n1)" ] ||
  need /nonexistent:pdns-backend-sqlite3
ensure_binaries

# --- data ----------------------------------------------------------------------------------
DB=$WORK/lucent.db
CONF=$WORK/lucentd.toml
bench_config "$CONF"
log "loading $HOSTS hostnames into the lucentd store"
make_db "$DB" "$HOSTS"
SOA=$(soa_of "$DB")

# The zone file (NSD, Knot, BIND), from the same rows lucentd serves: A, AAAA, TXT and the
# wildcard TXT below each name (lucentd publishes *.LABEL TXT with the TXT value).
ZONEFILE=$WORK/$ZONE.zone
{
  printf '\044ORIGIN %s.\n\044TTL 60\n' "$ZONE"
  printf '@ 3600 IN SOA %s\n' "$SOA"
  printf '@ 86400 IN NS localhost.\n'
  sqlite3 -separator '|' "$DB" \
    "SELECT label, ttl, ifnull(ipv4, ''), ifnull(ipv6, ''), ifnull(txt, '') FROM hostnames ORDER BY rowid" |
    awk -F'|' '{
      if ($3 != "") printf "%s %s IN A %s\n", $1, $2, $3
      if ($4 != "") printf "%s %s IN AAAA %s\n", $1, $2, $4
      if ($5 != "") { printf "%s %s IN TXT \"%s\"\n", $1, $2, $5; printf "*.%s %s IN TXT \"%s\"\n", $1, $2, $5 }
    }'
} >"$ZONEFILE"


# The dnsperf query file.
QFILE=$WORK/queries.txt
awk -v n="$HOSTS" -v q="$QUERIES" -v z="$ZONE" 'BEGIN {
  srand(42)
  for (i = 0; i < q; i++) {
    r = rand(); k = int(rand() * n) + 1
    if (r < 0.80) printf "h%d.%s A\n", k, z
    else if (r < 0.90) printf "h%d.%s AAAA\n", k, z
    else if (r < 0.95) printf "h%d.%s TXT\n", k, z
    else printf "nx%d.%s A\n", k, z
  }
}' >"$QFILE"
log "query file: $(awk '{c[$2]++; if ($1 ~ /^nx/) nx++} END {printf "%d A (%d of them NXDOMAIN), %d AAAA, %d TXT", c["A"], nx, c["AAAA"], c["TXT"]}' "$QFILE")"

# --- servers -------------------------------------------------------------------------------
declare -A PORT PID
CHECK_NAME=h7.$ZONE
CHECK_WANT=$(sqlite3 "$DB" "SELECT ipv4 FROM hostnames WHERE label = 'h7'")

start_nsd() {
  local d=$WORK/nsd port
  port=$(free_port)
  mkdir -p "$d"
  cp "$ZONEFILE" "$d/"
  cat >"$d/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$port
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$d"
  database: ""
  zonelistfile: "$d/zone.list"
  xfrdfile: "$d/xfrd.state"
  xfrdir: "$d"
  pidfile: "$d/nsd.pid"
  logfile: "$d/nsd.log"
  verbosity: 0
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: $ZONE
  zonefile: $ZONE.zone
EOF
  spawn "$d/out" "$d/err" nsd -d -c "$d/nsd.conf"
  PORT[nsd]=$port PID[nsd]=$SPAWNED
}

start_knot() {
  local d=$WORK/knot port
  port=$(free_port)
  mkdir -p "$d/db"
  cp "$ZONEFILE" "$d/"
  cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$d/db"
$(if [ "$DNSSEC" = 1 ]; then cat <<POL
policy:
  - id: lucent
    algorithm: ecdsap256sha256
    single-type-signing: on
    nsec3: on
    nsec3-iterations: 0
    nsec3-salt-length: 0
POL
fi)
template:
  - id: default
    storage: "$d"
    zonefile-sync: -1
    journal-content: $([ "$DNSSEC" = 1 ] && echo changes || echo none)
$([ "$DNSSEC" = 1 ] && printf '    dnssec-signing: on\n    dnssec-policy: lucent\n')
zone:
  - domain: $ZONE
    file: "$ZONE.zone"
EOF
  spawn "$d/out" "$d/err" knotd -c "$d/knot.conf"
  PORT[knot]=$port PID[knot]=$SPAWNED
}

start_pdns() {
  local d=$WORK/pdns port
  port=$(free_port)
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
webserver=no
EOF
  spawn "$d/out" "$d/err" pdns_server --config-dir="$d"
  PORT[pdns]=$port PID[pdns]=$SPAWNED
}

start_bind() {
  local d=$WORK/bind port
  port=$(free_port)
  mkdir -p "$d"
  cp "$ZONEFILE" "$d/"
  cat >"$d/named.conf" <<EOF
options {
  directory "$d";
  listen-on port $port { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  pid-file "$d/named.pid";
  session-keyfile "$d/session.key";
  managed-keys-directory "$d";
};
controls { };
zone "$ZONE" { type primary; file "$d/$ZONE.zone"; };
EOF
  spawn "$d/out" "$d/err" named -f -n 1 -c "$d/named.conf"
  PORT[bind]=$port PID[bind]=$SPAWNED
}

start_lucent() {
  start_lucentd "$DB" "$CONF" lucentd
  PORT[lucentd]=$L_DNS PID[lucentd]=$L_PID
}

ACTIVE=()
for s in $SERVERS; do
  log "starting $s"
  case $s in
    lucentd) start_lucent ;;
    nsd) start_nsd ;;
    knot) start_knot ;;
    pdns) start_pdns ;;
    bind) start_bind ;;
    *) die "unknown server $s" ;;
  esac
  if wait_dns "${PORT[$s]}" "$CHECK_NAME" A "$CHECK_WANT" 300; then
    ACTIVE+=("$s")
  else
    log "$s did not serve the zone; skipped. stderr:"
    tail -n 20 "$WORK/$s/err" "$WORK/$s.log" 2>/dev/null >&2 || true
  fi
done
# Every server must give the same answers: spot checks of each query kind.
for s in "${ACTIVE[@]}"; do
  p=${PORT[$s]}
  a=$(dig @127.0.0.1 -p "$p" "h42.$ZONE" AAAA +short +norec)
  t=$(dig @127.0.0.1 -p "$p" "_acme-challenge.h42.$ZONE" TXT +short +norec)
  nx=$(dig @127.0.0.1 -p "$p" "nx1.$ZONE" A +norec | grep -o 'status: [A-Z]*' || true)
  aa=$(dig @127.0.0.1 -p "$p" "h42.$ZONE" A +norec | grep -o 'flags: [a-z ]*' || true)
  log "$s: AAAA=$a wildcard-TXT=$t nx=[$nx] [$aa]"
  if [ "$DNSSEC" = 1 ]; then
    # Signed: the answer carries an RRSIG, the NXDOMAIN its NSEC3 proof.
    sig=$(dig @127.0.0.1 -p "$p" "h42.$ZONE" A +dnssec +norec | grep -c 'RRSIG' || true)
    n3=$(dig @127.0.0.1 -p "$p" "nx1.$ZONE" A +dnssec +norec | grep -c 'NSEC3' || true)
    log "$s: DO=1 answer lines with RRSIG: $sig, NXDOMAIN lines with NSEC3: $n3"
    if [ "$sig" -eq 0 ] || [ "$n3" -eq 0 ]; then die "$s does not serve the zone signed"; fi
  fi
done

# --- load ----------------------------------------------------------------------------------
# run_dnsperf SERVER ROUND: one dnsperf run at $OUTSTANDING; appends a result line to $RES.
run_dnsperf() {
  local s=$1 round=$2 t0 t1 d0 d1 out=$WORK/dnsperf.$1.q$OUTSTANDING.$2
  d0=$(udp_rcvbuf_errors)
  t0=$(cpu_ticks "${PID[$s]}")
  taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$QFILE" -l "$DURATION" \
    -c "$CLIENTS" -q "$OUTSTANDING" -T 1 -t 2 "${DO_FLAG[@]}" >"$out" 2>&1 || true
  t1=$(cpu_ticks "${PID[$s]}")
  d1=$(udp_rcvbuf_errors)
  awk -v s="$s" -v r="$round" -v cpu="$((t1 - t0))" -v hz="$CLK_TCK" -v drops="$((d1 - d0))" '
    /Queries sent:/ {sent = $3}
    /Queries completed:/ {done = $3}
    /Queries lost:/ {lost = $3}
    /Queries per second:/ {qps = $4}
    /Average Latency/ {lat = $4}
    END {
      cs = cpu / hz
      printf "%s\t%s\t%d\t%d\t%d\t%.0f\t%.3f\t%.2f\t%.0f\t%d\n", s, r, sent, done, lost, qps, lat * 1000, cs, (cs > 0 ? done / cs : 0), drops
    }' "$out" >>"$RES"
  tail -n1 "$RES" >&2
}

# bench_level Q: every round at dnsperf -q Q, then the table.
bench_level() {
  local s r n row lo hi lost_total
  OUTSTANDING=$1
  RES=$WORK/results.q$1.tsv
  : >"$RES"
  log "warm-up: 2 s per server"
  for s in "${ACTIVE[@]}"; do
    taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$QFILE" -l 2 -c "$CLIENTS" \
      -q "$OUTSTANDING" -T 1 -t 2 "${DO_FLAG[@]}" >/dev/null 2>&1 || true
  done
  log "columns: server round sent completed lost qps avg_latency_ms server_cpu_s qps_per_cpu_s udp_rcvbuf_drops"
  for r in $(seq 1 "$RUNS"); do
    for s in "${ACTIVE[@]}"; do
      run_dnsperf "$s" "$r"
    done
  done

  # The median round by qps for each server, with the spread of qps over the rounds.
  SUMMARY=$WORK/summary.q$1.tsv
  : >"$SUMMARY"
  for s in "${ACTIVE[@]}"; do
    awk -F'\t' -v s="$s" '$1 == s' "$RES" | sort -t$'\t' -k6,6g >"$WORK/rows.$s.q$1"
    n=$(wc -l <"$WORK/rows.$s.q$1")
    row=$(sed -n "$(((n + 1) / 2))p" "$WORK/rows.$s.q$1")
    lo=$(head -n1 "$WORK/rows.$s.q$1" | cut -f6)
    hi=$(tail -n1 "$WORK/rows.$s.q$1" | cut -f6)
    lost_total=$(awk -F'\t' '{l += $5} END {print l + 0}' "$WORK/rows.$s.q$1")
    printf '%s\t%s\t%s\t%s\n' "$row" "$lo" "$hi" "$lost_total" >>"$SUMMARY"
  done
  L_QPS=$(awk -F'\t' '$1 == "lucentd" {print $6}' "$SUMMARY")
  L_EFF=$(awk -F'\t' '$1 == "lucentd" {print $9}' "$SUMMARY")

  echo
  echo "DNS$([ "$DNSSEC" = 1 ] && echo ', DO=1 (signed zones)'): $HOSTS hostnames; dnsperf -l $DURATION -c $CLIENTS -q $OUTSTANDING -T 1 on CPU $CLIENT_CPU, server on CPU $SERVER_CPU; median of $RUNS rounds"
  echo
  echo "| server | qps (median) | qps range over rounds | avg latency ms | lost (median round) | lost (all rounds) | kernel rcvbuf drops | server CPU s | qps per CPU-s | qps vs lucentd | qps/CPU-s vs lucentd |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  while IFS=$'\t' read -r s _ _ _ lost qps lat cpu eff drops lo hi lost_all; do
    printf '| %s | %s | %s–%s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$qps" "$lo" "$hi" "$lat" "$lost" \
      "$lost_all" "$drops" "$cpu" "$eff" "$(ratio "$qps" "$L_QPS")" "$(ratio "$eff" "$L_EFF")"
  done <"$SUMMARY"
  echo
}

for q in $LEVELS; do
  bench_level "$q"
done

echo "versions: $("$LUCENTD" --version 2>/dev/null | head -n1 || echo lucentd), nsd $(nsd -v 2>&1 | awk 'NR==1 {print $3}'), $(knotd --version 2>&1 | head -n1), pdns $(dpkg-query -W -f='${Version}' pdns-server 2>/dev/null || echo '?'), bind $(dpkg-query -W -f='${Version}' bind9 2>/dev/null || echo '?'), dnsperf $(dpkg-query -W -f='${Version}' dnsperf 2>/dev/null || echo '?')"
