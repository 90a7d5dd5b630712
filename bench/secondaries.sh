#!/usr/bin/env bash
# Secondaries (#16): lucentd as the hidden primary of a shared zone of HOSTS hostnames, with NSD
# and Knot (and BIND with SECONDARIES="nsd knot bind") as its secondaries over TSIG on loopback,
# each configured as docs/install.md "Secondaries: NSD, Knot and BIND" shows.
#
#   bench/secondaries.sh     # HOSTS=1000 RATE=1000 DURATION=20 SAMPLE_MS=50 KS="1 10 100 1000"
#
# 0. The same load against lucentd without secondaries, for its CPU and HTTP latency.
# 1. Update to secondary answer: RATE updates/s through /update (bench/sec_latency.py load,
#    THREADS threads on fixed schedules) for DURATION s, of which one every SAMPLE_MS goes to a
#    hostname kept apart for sampling; for each sample, the time from the HTTP 200 to the first
#    answer with the new address from each secondary (UDP, polled every 2 ms) and, for
#    reference, from lucentd itself. p50/p99/max side by side, with the NOTIFYs and transfers
#    of each secondary and a comparison of every name's data after the run.
# 2. IXFR size against the change it carries: after K single-hostname updates (one at a time)
#    and after one /update naming K hostnames, a TSIG-signed `dig IXFR=<serial before>` against
#    lucentd: records, messages and bytes, beside the AXFR of the whole zone, and beside Knot
#    serving the same zone (`lucentd zone export`) and computing the same difference itself.
#
# Environment: HOSTS, RATE, DURATION, SAMPLE_MS, SAMPLE_HOSTS (hostnames kept for samples, 100),
# SECONDARIES, KS, SIGNED=1 (the zone signed; no Knot column then), SEC_CPU (the secondaries'
# CPU, default CLIENT_CPU), THREADS (load threads, 16), BASELINE=0 (skip step 0),
# NSD_RELOAD_TIMEOUT, LUCENTD_LOG, plus bench/lib.sh's. lucentd runs on SERVER_CPU, the load and
# the sampler on CLIENT_CPU. Everything listens on 127.0.0.1. The tables go to stdout, progress
# and details to stderr.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

HOSTS=${HOSTS:-1000}
RATE=${RATE:-1000}
DURATION=${DURATION:-20}
SAMPLE_MS=${SAMPLE_MS:-50}
SAMPLE_HOSTS=${SAMPLE_HOSTS:-100}
SECONDARIES=${SECONDARIES:-nsd knot}
KS=${KS-1 10 100 1000} # KS="" skips step 2
SIGNED=${SIGNED:-0}
SEC_CPU=${SEC_CPU:-$CLIENT_CPU}
# Load threads: each waits for its answer, so RATE needs THREADS / HTTP latency above it.
THREADS=${THREADS:-16}
# BASELINE=1: first the same load against lucentd without secondaries (no journal, no NOTIFY,
# no transfers), for its CPU and HTTP latency.
BASELINE=${BASELINE:-1}
# NSD reloads a zone at most once per xfrd-reload-timeout (default 1 s); NSD_RELOAD_TIMEOUT=0
# runs it without that pause.
NSD_RELOAD_TIMEOUT=${NSD_RELOAD_TIMEOUT:-}
PY=/usr/bin/python3
# lucentd logs each transfer at info (kind, key, records, bytes): the counts per secondary come
# from there, each secondary having a key of its own. LUCENTD_LOG=lucent_server::dns::xfr=debug
# adds every NOTIFY.
export RUST_LOG=${LUCENTD_LOG:-warn,lucent_server::dns::xfr::transfer=info}

need nsd:nsd knotd:knot dig:bind9-dnsutils sqlite3:sqlite3 taskset:util-linux "$PY":python3
case " $SECONDARIES " in *" bind "*) need named:bind9 ;; esac
ensure_binaries
[ "$HOSTS" -gt "$SAMPLE_HOSTS" ] || die "HOSTS must be more than SAMPLE_HOSTS"

# --- primary ---------------------------------------------------------------------------------
declare -A PORT PID SECRET
for s in $SECONDARIES; do
  PORT[$s]=$(free_port)
  SECRET[$s]=$(head -c 32 /dev/urandom | base64) # what `openssl rand -base64 32` makes
done
read -r -a SEC_LIST <<<"$SECONDARIES"
# The key dig uses to measure transfers: the first secondary's.
KEY=xfr-${SEC_LIST[0]}
KEY_SECRET=${SECRET[${SEC_LIST[0]}]}

DB=$WORK/lucent.db
CONF=$WORK/lucentd.toml
bench_config "$CONF"
{
  for s in $SECONDARIES; do
    printf '\n[[dns.tsig_keys]]\nname = "xfr-%s"\nalgorithm = "hmac-sha256"\nsecret = "%s"\n' "$s" "${SECRET[$s]}"
  done
  for s in $SECONDARIES; do
    printf '\n[[dns.secondaries]]\nnotify = "127.0.0.1:%s"\nkey = "xfr-%s"\nzones = ["%s"]\n' "${PORT[$s]}" "$s" "$ZONE"
  done
} >>"$CONF"
log "loading $HOSTS hostnames into the lucentd store"
make_db "$DB" "$HOSTS"
if [ "$SIGNED" != 1 ]; then
  # Zones are signed from creation; the admin command's two steps make this one unsigned.
  "$LUCENTD" zone dnssec "$ZONE" --disable --db "$DB" >/dev/null
  "$LUCENTD" zone dnssec "$ZONE" --disable --db "$DB" >/dev/null
fi
TOKEN=$(cat "$DB.token")
SAMPLE_RATE=$(awk -v m="$SAMPLE_MS" 'BEGIN { printf "%d", 1000 / m }')
LOAD_RATE=$((RATE - SAMPLE_RATE))
LAST_LOAD=$((HOSTS - SAMPLE_HOSTS))

BASELINE_LINE=""
if [ "$BASELINE" = 1 ]; then
  sqlite3 "$DB" ".backup '$WORK/base.db'"
  bench_config "$WORK/base.toml"
  start_lucentd "$WORK/base.db" "$WORK/base.toml" lucentd-base
  t0=$(cpu_ticks "$L_PID")
  taskset -c "$CLIENT_CPU" "$PY" "$BENCH_DIR/sec_latency.py" load "$L_HTTP" "$TOKEN" "$ZONE" 1 "$HOSTS" \
    "$RATE" "$DURATION" "$THREADS" >"$WORK/base-load.out" 2>&1 || true
  t1=$(cpu_ticks "$L_PID")
  BASELINE_LINE="$(grep -m1 '^LOAD ' "$WORK/base-load.out" || echo LOAD) cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')"
  log "baseline (no secondaries): $BASELINE_LINE"
  stop_pid "$L_PID"
fi

start_lucentd "$DB" "$CONF" lucentd
PID[lucentd]=$L_PID
PORT[lucentd]=$L_DNS

serial_of() { dig @127.0.0.1 -p "$1" "$ZONE" SOA +short +norec +time=1 +tries=1 2>/dev/null | awk '{print $3}'; }

# --- secondaries -------------------------------------------------------------------------------
# Each secondary's key and zone settings are the snippet of docs/install.md ("Secondaries: NSD,
# Knot and BIND"), taken from the file with the example's address, key name, secret and paths
# replaced by this run's; only the server settings (ports, work directory, logs) are added here.
DOC=$ROOT/docs/install.md
DOC_SECRET=c2VjcmV0LWZyb20tdHNpZy1rZXlnZW4tZ29lcy1oZXJlLg==
# doc_snippet LABEL: the code block after "**LABEL**" in that section of docs/install.md.
doc_snippet() {
  awk -v want="$1" '
    /^### / { insec = ($0 ~ /^### Secondaries: NSD, Knot and BIND/) }
    !insec { next }
    /^\*\*[A-Za-z]+\*\*/ { label = $0; sub(/^\*\*/, "", label); sub(/\*\*.*/, "", label) }
    /^```/ { if (inblock) { inblock = 0; if (label == want) done = 1 } else inblock = 1; next }
    inblock && label == want && !done { print }
  ' "$DOC"
}
# from_doc LABEL NAME DIR: the snippet for secondary NAME, files in DIR, primary at 127.0.0.1.
from_doc() {
  local text
  text=$(doc_snippet "$1")
  [ -n "$text" ] || die "no $1 snippet in $DOC"
  printf '%s\n' "$text" | sed \
    -e "s|xfr-ns2|xfr-$2|g" -e "s|$DOC_SECRET|${SECRET[$2]}|g" \
    -e "s|/var/lib/nsd/|$3/|g" -e "s|/var/cache/bind/|$3/|g" \
    -e "s|request-xfr: 203\.0\.113\.53 |request-xfr: 127.0.0.1@$L_DNS |" \
    -e "s|address: 203\.0\.113\.53@53|address: 127.0.0.1@$L_DNS|" \
    -e "s|primaries { 203\.0\.113\.53 key|primaries port $L_DNS { 127.0.0.1 key|" \
    -e "s|203\.0\.113\.53|127.0.0.1|g"
}

start_nsd() {
  local d=$WORK/nsd
  mkdir -p "$d"
  cat >"$d/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@${PORT[nsd]}
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$d"
  database: ""
  zonelistfile: "$d/zone.list"
  xfrdfile: "$d/xfrd.state"
  xfrdir: "$d"
  pidfile: "$d/nsd.pid"
  verbosity: 2
  rrl-ratelimit: 0
$([ -z "$NSD_RELOAD_TIMEOUT" ] || echo "  xfrd-reload-timeout: $NSD_RELOAD_TIMEOUT")
remote-control:
  control-enable: no

$(from_doc NSD nsd "$d")
EOF
  nsd-checkconf "$d/nsd.conf" || die "nsd-checkconf rejects $d/nsd.conf"
  SERVER_CPU=$SEC_CPU spawn "$d/out" "$d/log" nsd -d -c "$d/nsd.conf"
  PID[nsd]=$SPAWNED
}

start_knot() {
  local d=$WORK/knot
  mkdir -p "$d/db"
  cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d"
    listen: 127.0.0.1@${PORT[knot]}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "$d/db"
template:
  - id: default
    storage: "$d"

$(from_doc Knot knot "$d")
EOF
  knotc -c "$d/knot.conf" conf-check >/dev/null || die "knotc conf-check rejects $d/knot.conf"
  SERVER_CPU=$SEC_CPU spawn "$d/out" "$d/log" knotd -c "$d/knot.conf"
  PID[knot]=$SPAWNED
}

start_bind() {
  local d=$WORK/bind
  mkdir -p "$d"
  cat >"$d/named.conf" <<EOF
options {
  directory "$d";
  listen-on port ${PORT[bind]} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;   # else it primes the root's trust anchor: traffic off the loopback
  pid-file "$d/named.pid";
  session-keyfile "$d/session.key";
  managed-keys-directory "$d";
};
controls { };

$(from_doc BIND bind "$d")
EOF
  named-checkconf "$d/named.conf" || die "named-checkconf rejects $d/named.conf"
  SERVER_CPU=$SEC_CPU spawn "$d/out" "$d/log" named -g -n 1 -c "$d/named.conf"
  PID[bind]=$SPAWNED
}

SERIAL0=$(serial_of "$L_DNS")
[ -n "$SERIAL0" ] || die "lucentd does not answer the zone's SOA"
for s in $SECONDARIES; do
  log "starting $s on port ${PORT[$s]}"
  "start_$s"
done
for s in $SECONDARIES; do
  got=""
  for _ in $(seq 1 300); do
    got=$(serial_of "${PORT[$s]}")
    [ "$got" = "$SERIAL0" ] && break
    sleep 0.1
  done
  if [ "$got" != "$SERIAL0" ]; then
    tail -n 30 "$WORK/$s/log" >&2
    die "$s did not transfer the zone (serial '$got', lucentd has $SERIAL0)"
  fi
  log "$s serves serial $got"
done

# A first change before the load. lucentd sends each secondary a NOTIFY when it starts, before
# they listen here; the answer never comes, and the next NOTIFY waits for the retry (1 s).
WARM_IP=192.0.2.254
curl -fsS -o /dev/null "http://$L_HTTP/update?domains=h$HOSTS&token=$TOKEN&ip=$WARM_IP"
t_warm=$(date +%s%N)
for s in $SECONDARIES; do
  wait_dns "${PORT[$s]}" "h$HOSTS.$ZONE" A "$WARM_IP" 100 || die "$s did not follow the first change"
done
log "first change after the start reached every secondary in $((($(date +%s%N) - t_warm) / 1000000)) ms"

# --- 1. update to secondary answer ------------------------------------------------------------
SERVERS=(lucentd "${SEC_LIST[@]}")
declare -A T0 T1
for s in "${SERVERS[@]}"; do T0[$s]=$(cpu_ticks "${PID[$s]}"); done
wc -l <"$WORK/lucentd.log" >"$WORK/lucentd.log0"
for s in $SECONDARIES; do wc -l <"$WORK/$s/log" >"$WORK/$s.log0"; done
log "load: $LOAD_RATE updates/s over h1..h$LAST_LOAD, plus one sample every $SAMPLE_MS ms over h$((LAST_LOAD + 1))..h$HOSTS, for $DURATION s"
taskset -c "$CLIENT_CPU" "$PY" "$BENCH_DIR/sec_latency.py" load "$L_HTTP" "$TOKEN" "$ZONE" 1 "$LAST_LOAD" \
  "$LOAD_RATE" "$DURATION" "$THREADS" >"$WORK/load.out" 2>&1 &
LOADER=$!
sample_args=()
for s in "${SERVERS[@]}"; do sample_args+=("$s=${PORT[$s]}"); done
taskset -c "$CLIENT_CPU" "$PY" "$BENCH_DIR/sec_latency.py" sample "$L_HTTP" "$TOKEN" "$ZONE" "$((LAST_LOAD + 1))" \
  "$HOSTS" "$SAMPLE_MS" "$DURATION" "${sample_args[@]}" >"$WORK/sample.out" 2>&1 || true
wait "$LOADER" || true
for s in "${SERVERS[@]}"; do T1[$s]=$(cpu_ticks "${PID[$s]}"); done
cat "$WORK/load.out" "$WORK/sample.out" >&2 # RAW lines: each sample's latency in ms, in order

# Do the secondaries end on the primary's last serial?
FINAL=$(serial_of "$L_DNS")
declare -A CONVERGED
for s in $SECONDARIES; do
  CONVERGED[$s]=no
  for _ in $(seq 1 100); do
    if [ "$(serial_of "${PORT[$s]}")" = "$FINAL" ]; then
      CONVERGED[$s]=yes
      break
    fi
    sleep 0.1
  done
done

# Same data everywhere once the secondaries are on the last serial? (A, AAAA, TXT of every name)
taskset -c "$CLIENT_CPU" "$PY" "$BENCH_DIR/sec_latency.py" compare "$ZONE" 1 "$HOSTS" "${sample_args[@]}" \
  >"$WORK/compare.out" 2>&1 || true
cat "$WORK/compare.out" >&2

# NOTIFYs each secondary logged during the run (Knot: "notify, incoming"; NSD at verbosity 2:
# "notify for"; BIND: "received notify"), and the transfers lucentd logged for its key:
# "xfr: IXFR of …", "IXFR (answered with the whole zone)", "IXFR (up to date)", "AXFR", with
# records, messages and bytes.
tail -n "+$(($(cat "$WORK/lucentd.log0") + 1))" "$WORK/lucentd.log" >"$WORK/lucentd.runlog"
declare -A NOTIFIES XFRS
for s in $SECONDARIES; do
  tail -n "+$(($(cat "$WORK/$s.log0") + 1))" "$WORK/$s/log" >"$WORK/$s.runlog"
  case $s in
    knot) NOTIFIES[$s]=$(grep -c 'notify, incoming' "$WORK/$s.runlog" || true) ;;
    nsd) NOTIFIES[$s]=$(grep -c 'notify for' "$WORK/$s.runlog" || true) ;;
    bind) NOTIFIES[$s]=$(grep -c 'received notify' "$WORK/$s.runlog" || true) ;;
  esac
  # "ixfr whole uptodate axfr bytes"
  XFRS[$s]=$(awk -v key="(key xfr-$s):" '
    index($0, key) && /xfr: / {
      if ($0 ~ /IXFR \(answered with the whole zone\)/) w++
      else if ($0 ~ /IXFR \(up to date\)/) u++
      else if ($0 ~ /xfr: IXFR of/) i++
      else if ($0 ~ /xfr: AXFR of/) a++
      if (match($0, /[0-9]+ bytes/)) b += substr($0, RSTART, RLENGTH - 6)
    }
    END { printf "%d %d %d %d %d", i, w, u, a, b }' "$WORK/lucentd.runlog")
done

# --- 2. IXFR bytes against the change ---------------------------------------------------------
# xfr PORT SERIAL_OR_AXFR FILE: a TSIG-signed transfer; prints "records messages bytes".
xfr() {
  local port=$1 what=$2 out=$3 q
  q=AXFR
  [ "$what" = AXFR ] || q=IXFR=$what
  dig -y "hmac-sha256:$KEY:$KEY_SECRET" @127.0.0.1 -p "$port" "$ZONE" "$q" +tcp >"$out" 2>&1 || true
  # ";; XFR size: 6 records (messages 1, bytes 382)"
  sed -n 's/^;; XFR size: \([0-9]*\) records (messages \([0-9]*\), bytes \([0-9]*\)).*/\1 \2 \3/p' "$out" | tail -n1
}
# count_types FILE: "SOA A other" record counts in a dig transfer output (TSIG lines left out).
count_types() {
  awk '!/^;/ && NF >= 5 && $4 != "TSIG" { if ($4 == "SOA") s++; else if ($4 == "A") a++; else o++ }
       END { printf "%d %d %d\n", s, a, o }' "$1"
}

# For reference, Knot as the primary of the same zone: it loads `lucentd zone export` and, on
# `knotc zone-reload` of a newer export, computes the difference itself (zonefile-load:
# difference) and keeps it in its journal; its IXFR from the same serial then carries the same
# change. Unsigned zones only (Knot would sign it with its own keys).
KP_PORT=""
knot_sync() {
  local d=$WORK/knot-primary want got=""
  "$LUCENTD" zone export "$ZONE" --db "$DB" >"$d/$ZONE.zone.new" 2>/dev/null
  mv "$d/$ZONE.zone.new" "$d/$ZONE.zone"
  want=$(awk '{ for (i = 1; i < NF; i++) if ($i == "SOA") { print $(i + 3); exit } }' "$d/$ZONE.zone")
  knotc -c "$d/knot.conf" -b zone-reload "$ZONE" >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do
    got=$(serial_of "$KP_PORT")
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  log "knot primary serves serial '$got', the export has $want"
  return 1
}
if [ "$SIGNED" != 1 ]; then
  d=$WORK/knot-primary
  mkdir -p "$d/db"
  KP_PORT=$(free_port)
  cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d"
    listen: 127.0.0.1@$KP_PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$d/db"
key:
  - id: $KEY
    algorithm: hmac-sha256
    secret: $KEY_SECRET
acl:
  - id: transfer
    key: $KEY
    action: transfer
zone:
  - domain: $ZONE
    storage: "$d"
    file: "$ZONE.zone"
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
    acl: transfer
EOF
  "$LUCENTD" zone export "$ZONE" --db "$DB" >"$d/$ZONE.zone" 2>/dev/null
  SERVER_CPU=$SEC_CPU spawn "$d/out" "$d/log" knotd -c "$d/knot.conf"
  knot_sync || KP_PORT=""
fi

IXFR_ROWS=$WORK/ixfr.rows
: >"$IXFR_ROWS"
read -r AX_RECS AX_MSGS AX_BYTES < <(xfr "$L_DNS" AXFR "$WORK/axfr.txt" || echo "- - -") || true
KAX_BYTES=-
if [ -n "$KP_PORT" ]; then
  read -r KAX_RECS _ KAX_BYTES < <(xfr "$KP_PORT" AXFR "$WORK/knot-axfr.txt" || echo "- - -") || true
  log "AXFR: lucentd ${AX_RECS:-?} records ${AX_BYTES:-?} bytes, Knot ${KAX_RECS:-?} records $KAX_BYTES bytes"
fi
base=1000000 # addresses 10.x.y.z from here on were never sent before (the load's start at 0)
for k in $KS; do
  [ "$k" -le "$HOSTS" ] || continue
  for how in one-by-one one-request; do
    [ "$how" = one-request ] && [ "$k" -gt 100 ] && continue # the URL would pass the header cap
    [ "$how" = one-request ] && [ "$k" = 1 ] && continue     # the same as one-by-one
    [ -z "$KP_PORT" ] || knot_sync || true
    before=$(serial_of "$L_DNS")
    if [ "$how" = one-by-one ]; then
      # One thread, one update after the other (h1..hK): each its own write group and serial.
      taskset -c "$CLIENT_CPU" "$PY" "$BENCH_DIR/sec_latency.py" load "$L_HTTP" "$TOKEN" "$ZONE" 1 "$k" \
        500 "$(awk -v k="$k" 'BEGIN { print k / 500 }')" 1 "$base" >"$WORK/ixfr-load.out"
      grep -q "ok=$k " "$WORK/ixfr-load.out" || log "ixfr load: $(cat "$WORK/ixfr-load.out")"
      base=$((base + k))
    else
      names=$(seq 1 "$k" | sed 's/^/h/' | paste -sd,)
      [ "$(curl -fsS "http://$L_HTTP/update?domains=$names&token=$TOKEN&ip=192.0.2.$k")" = OK ] ||
        log "one-request update of $k names failed"
    fi
    after=$(serial_of "$L_DNS")
    read -r recs msgs bytes < <(xfr "$L_DNS" "$before" "$WORK/ixfr-$how-$k.txt" || echo "- - -") || true
    read -r soas as others < <(count_types "$WORK/ixfr-$how-$k.txt")
    kbytes=-
    if [ -n "$KP_PORT" ] && knot_sync; then
      read -r krecs _ kbytes < <(xfr "$KP_PORT" "$before" "$WORK/knot-ixfr-$how-$k.txt" || echo "- - -") || true
      log "knot ixfr $how k=$k: ${krecs:-?} records, ${kbytes:-?} bytes"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$how" "$k" "$before" "$after" "${recs:--}" "${msgs:--}" \
      "${bytes:--}" "$soas" "$as" "$others" "${kbytes:--}" >>"$IXFR_ROWS"
    log "ixfr $how k=$k serial $before -> $after: ${recs:-?} records, ${msgs:-?} messages, ${bytes:-?} bytes (SOA $soas, A $as, other $others)"
  done
done
# A transfer without the key, and one with a wrong secret, for the log.
dig @127.0.0.1 -p "$L_DNS" "$ZONE" AXFR +tcp >"$WORK/axfr-unsigned.txt" 2>&1 || true
dig -y "hmac-sha256:$KEY:$(head -c 32 /dev/urandom | base64)" @127.0.0.1 -p "$L_DNS" "$ZONE" AXFR +tcp \
  >"$WORK/axfr-badsig.txt" 2>&1 || true
log "unsigned AXFR: $(grep -m1 -E 'status:|Transfer failed|XFR size' "$WORK/axfr-unsigned.txt" || echo '?')"
log "AXFR with a wrong secret: $(grep -m1 -E 'status:|Transfer failed|tsig|XFR size' "$WORK/axfr-badsig.txt" || echo '?')"
curl -fsS "http://$L_HTTP/metrics" 2>/dev/null | grep -iE 'notify|xfr|transfer' | grep -v '^#' >&2 || true

# --- output --------------------------------------------------------------------------------------
kv() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) { split($i, f, "="); if (f[1] == k) print f[2] } }'; }
LOADLINE=$(grep -m1 '^LOAD ' "$WORK/load.out" || echo "LOAD")
echo "Secondaries: zone $ZONE, $HOSTS hostnames ($([ "$SIGNED" = 1 ] && echo signed || echo unsigned)), TSIG hmac-sha256;"
echo "lucentd on CPU $SERVER_CPU, secondaries on CPU $SEC_CPU, load and sampler on CPU $CLIENT_CPU"
echo "(sec_latency.py: $LOAD_RATE updates/s over h1..h$LAST_LOAD on $THREADS threads + one sampled update every"
echo " $SAMPLE_MS ms; latency from the HTTP 200 to the first UDP answer with the new address, polled every 2 ms)"
echo
echo "load: $(echo "$LOADLINE" | kv ok) updates ok of $(echo "$LOADLINE" | kv sent) ($(echo "$LOADLINE" | kv rps)/s),"\
  "$(echo "$LOADLINE" | kv failed) failed, $(echo "$LOADLINE" | kv late) sent >10 ms late;"\
  "HTTP p50 $(echo "$LOADLINE" | kv http_p50_ms) ms, p99 $(echo "$LOADLINE" | kv http_p99_ms) ms;"\
  "serials $SERIAL0 -> $FINAL"
if [ -n "$BASELINE_LINE" ]; then
  echo
  echo "baseline, the same DB and load without [[dns.secondaries]] (no journal, NOTIFY or transfers):"\
    "$(echo "$BASELINE_LINE" | kv ok) updates ok ($(echo "$BASELINE_LINE" | kv rps)/s),"\
    "$(echo "$BASELINE_LINE" | kv late) late; HTTP p50 $(echo "$BASELINE_LINE" | kv http_p50_ms) ms,"\
    "p99 $(echo "$BASELINE_LINE" | kv http_p99_ms) ms; lucentd CPU $(echo "$BASELINE_LINE" | kv cpu_s) s"
fi
echo
printf '| |'
printf ' %s |' "${SERVERS[@]}"
echo
printf '|---|'
for _ in "${SERVERS[@]}"; do printf -- '---:|'; done
echo
row() {
  local label=$1 key=$2 s line
  printf '| %s |' "$label"
  for s in "${SERVERS[@]}"; do
    line=$(grep -m1 "^RESULT name=$s " "$WORK/sample.out" || true)
    printf ' %s |' "$(echo "$line" | kv "$key")"
  done
  echo
}
row "samples" samples
row "seen (rest: timeouts > 10 s)" seen
row "update to answer p50 ms" p50_ms
row "update to answer p99 ms" p99_ms
row "update to answer max ms" max_ms
printf '| %s |' "NOTIFYs received in the run"
for s in "${SERVERS[@]}"; do
  if [ "$s" = lucentd ]; then printf ' (primary) |'; else printf ' %s |' "${NOTIFIES[$s]}"; fi
done
echo
xfr_row() {
  local label=$1 field=$2 s v
  printf '| %s |' "$label"
  for s in "${SERVERS[@]}"; do
    if [ "$s" = lucentd ]; then
      printf ' - |'
    else
      read -r -a v <<<"${XFRS[$s]}"
      printf ' %s |' "${v[$field]}"
    fi
  done
  echo
}
xfr_row "IXFRs served (lucentd's log)" 0
xfr_row "IXFRs answered with the whole zone" 1
xfr_row "IXFRs answered 'up to date'" 2
xfr_row "AXFRs served" 3
xfr_row "bytes sent in transfers" 4
printf '| %s |' "on the last serial within 10 s"
for s in "${SERVERS[@]}"; do
  if [ "$s" = lucentd ]; then printf ' - |'; else printf ' %s |' "${CONVERGED[$s]}"; fi
done
echo
printf '| %s |' "names whose A/AAAA/TXT differ from lucentd's after the run"
for s in "${SERVERS[@]}"; do
  if [ "$s" = lucentd ]; then printf ' - |'; else printf ' %s |' "$(grep -m1 "^COMPARE name=$s " "$WORK/compare.out" | kv differ)"; fi
done
echo
printf '| %s |' "CPU s in the run"
for s in "${SERVERS[@]}"; do printf ' %.2f |' "$(awk -v a="${T0[$s]}" -v b="${T1[$s]}" -v hz="$CLK_TCK" 'BEGIN { print (b - a) / hz }')"; done
echo
echo
echo "IXFR against the change (dig -y hmac-sha256:$KEY:… IXFR=<serial before> +tcp; each update changes one A RR:"
echo "one deleted and one added; 'one request' = one /update naming K hostnames). AXFR of the whole zone:"
echo "${AX_RECS:-?} records, ${AX_MSGS:-?} messages, ${AX_BYTES:-?} bytes from lucentd; $KAX_BYTES bytes from Knot serving"
echo "the same zone (lucentd zone export), whose IXFR of the same change is in the last column."
echo
echo "| change | serials | changed RRs | IXFR records (SOA / A / other) | messages | bytes | bytes per changed RR | ÷ AXFR bytes | Knot, same change: bytes |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
while IFS=$'\t' read -r how k before after recs msgs bytes soas as others kbytes; do
  label="$k updates one by one"
  [ "$k" = 1 ] && label="1 update"
  [ "$how" = one-request ] && label="1 update of $k names"
  printf '| %s | %s | %s | %s (%s / %s / %s) | %s | %s | %s | %s | %s |\n' "$label" "$((after - before))" "$((2 * k))" \
    "$recs" "$soas" "$as" "$others" "$msgs" "$bytes" \
    "$(awk -v b="$bytes" -v c="$((2 * k))" 'BEGIN { if (b + 0 > 0) printf "%.1f", b / c; else print "-" }')" \
    "$(ratio "$bytes" "${AX_BYTES:-0}")" "$kbytes"
done <"$IXFR_ROWS"
echo
echo "versions: $("$LUCENTD" --version 2>/dev/null | head -n1 || echo lucentd), nsd $(nsd -v 2>&1 | awk 'NR==1 {print $3}'), $(knotd --version 2>&1 | head -n1)$(case " $SECONDARIES " in *" bind "*) echo ", $(named -v)" ;; esac)"
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
