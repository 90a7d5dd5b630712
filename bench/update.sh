#!/usr/bin/env bash
# DNS UPDATE (RFC 2136) write path, issue #19: durable TSIG-signed (hmac-sha256) UPDATEs per
# second with CLIENTS concurrent clients (bench/update_load.py: one process per client, each
# waiting for every answer; each UPDATE replaces the A RRset of one of NAMES existing names),
# against lucentd (zone unsigned, and signed as by default), Knot (its own DDNS path; unsigned
# and with automatic signing) and PowerDNS (gsqlite3, dnsupdate=yes), all in one run, rounds
# interleaved. After every measured pass the last value of every name touched is asked with dig.
# Then, apart from the figures, one short pass per server under strace counts the fsync-family
# calls per update (what "durable" costs each server; strace slows the server, so that pass's
# rate is not reported).
#
#   bench/update.sh             # RUNS=3 rounds of WARMUP=3 + DURATION=15 s per server
#
# Environment: NAMES (default 1000), RUNS, WARMUP, DURATION, CLIENTS (default 4), TRANSPORT
# (udp or tcp, default udp), SYSTEMS (default "lucentd lucentd-signed knot knot-signed pdns"),
# SYNCS (default 1: the strace pass; 0 skips it), plus bench/lib.sh's (LUCENTD, SERVER_CPU,
# CLIENT_CPU, KEEP). Servers on CPU $SERVER_CPU, the load on CPU $CLIENT_CPU. Knot and PowerDNS
# run as their Debian system users (knot, pdns), on unprivileged ports of 127.0.0.1.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

NAMES=${NAMES:-1000}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-15}
CLIENTS=${CLIENTS:-4}
TRANSPORT=${TRANSPORT:-udp}
read -r -a SYSTEMS <<<"${SYSTEMS:-lucentd lucentd-signed knot knot-signed pdns}"
SYNCS=${SYNCS:-1}
PY=/usr/bin/python3
UZONE=upd.example.org # a hosted zone: DNS UPDATE reaches hosted zones by zone-wide keys
UEMAIL=upd@example.org
KEYNAME=bench-upd

need sqlite3:sqlite3 dig:bind9-dnsutils taskset:util-linux "$PY":python3 knotd:knot \
  pdns_server:pdns-server strace:strace
"$PY" -c 'import dns.tsig' 2>/dev/null || need /nonexistent:python3-dnspython
[ -n "$(find /usr/lib -name 'libgsqlite3backend.so' 2>/dev/null | head -n1)" ] ||
  need /nonexistent:pdns-backend-sqlite3
ensure_binaries
# Knot and PowerDNS drop to their own users: they must reach their directories under $WORK.
chmod 755 "$WORK"

# --- the zone: NAMES names hK with one A each, the same for every server ------------------------
ZONEFILE=$WORK/$UZONE.zone
{
  printf '\044ORIGIN %s.\n\044TTL 60\n' "$UZONE"
  printf '@ 3600 IN SOA localhost. hostmaster.%s. 1 1200 120 604800 60\n' "$UZONE"
  printf '@ 86400 IN NS localhost.\n'
  awk -v n="$NAMES" 'BEGIN { for (i = 1; i <= n; i++) printf "h%d 60 IN A 198.18.%d.%d\n", i, int(i / 256) % 256, i % 256 }'
} >"$ZONEFILE"
CHECK_WANT=198.18.0.7 # h7

declare -A PORT PID SECRET CONFDESC
# --- lucentd: one store per configuration ----------------------------------------------------------
# start_lucent NAME SIGNED(0|1)
start_lucent() {
  local name=$1 signed=$2 db=$WORK/$1.db conf=$WORK/$1.toml
  bench_config "$conf"
  [ "$signed" = 1 ] || printf '[dnssec]\nenabled = false\n' >>"$conf"
  "$LUCENTD" user add "$UEMAIL" --config "$conf" --db "$db" >/dev/null
  "$LUCENTD" zone add "$UZONE" --owner "$UEMAIL" --config "$conf" --db "$db" >/dev/null
  "$LUCENTD" zone import "$UZONE" "$ZONEFILE" --config "$conf" --db "$db" >/dev/null
  SECRET[$name]=$("$LUCENTD" user tsig "$UEMAIL" --name "$KEYNAME" --zone "$UZONE" --config "$conf" --db "$db" | tail -n1)
  start_lucentd "$db" "$conf" "$name"
  PORT[$name]=$L_DNS PID[$name]=$L_PID
  if [ "$signed" = 1 ]; then
    CONFDESC[$name]="zone signed (default [dnssec]: ECDSA P-256, NSEC3)"
  else
    CONFDESC[$name]="[dnssec] enabled = false"
  fi
  CONFDESC[$name]+="; SQLite WAL, synchronous=FULL, group commit"
}

# --- Knot: the zone file, TSIG key, acl update by key -------------------------------------------
# start_knot NAME SIGNED(0|1)
start_knot() {
  local name=$1 signed=$2 d=$WORK/$1 port
  port=$(free_port)
  mkdir -p "$d/db"
  cp "$ZONEFILE" "$d/"
  cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d"
    user: knot:knot
    listen: 127.0.0.1@$port
log:
  - target: stderr
    any: warning
database:
    storage: "$d/db"
key:
  - id: $KEYNAME
    algorithm: hmac-sha256
    secret: ${SECRET[lucentd]}
acl:
  - id: update
    address: 127.0.0.1
    key: $KEYNAME
    action: update
$(if [ "$signed" = 1 ]; then cat <<POL
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
$([ "$signed" = 1 ] && printf '    dnssec-signing: on\n    dnssec-policy: lucent\n')
zone:
  - domain: $UZONE
    file: "$UZONE.zone"
    acl: update
EOF
  chown -R knot:knot "$d"
  spawn "$d/out" "$d/err" knotd -c "$d/knot.conf"
  PORT[$name]=$port PID[$name]=$SPAWNED SECRET[$name]=${SECRET[lucentd]}
  CONFDESC[$name]="Knot defaults: journal-content changes, journal-db-mode robust (LMDB synced per commit), zonefile-sync 0 (zone file rewritten after each change)"
  [ "$signed" = 1 ] && CONFDESC[$name]+="; dnssec-signing on (ECDSA P-256, NSEC3 0 iterations, no salt)"
  return 0
}

# --- PowerDNS: gsqlite3 with the key in tsigkeys and the zone's update metadata ----------------------
start_pdns() {
  local name=$1 d=$WORK/$1 port schema
  port=$(free_port)
  mkdir -p "$d"
  schema=$(find /usr/share/doc/pdns-backend-sqlite3 /usr/share/pdns-backend-sqlite3 -name schema.sqlite3.sql 2>/dev/null | head -n1)
  [ -n "$schema" ] || die "no PowerDNS sqlite3 schema found"
  sqlite3 "$d/pdns.sqlite3" <"$schema"
  {
    echo "BEGIN;"
    echo "INSERT INTO domains (id, name, type) VALUES (1, '$UZONE', 'NATIVE');"
    echo "INSERT INTO tsigkeys (name, algorithm, secret) VALUES ('$KEYNAME', 'hmac-sha256', '${SECRET[lucentd]}');"
    echo "INSERT INTO domainmetadata (domain_id, kind, content) VALUES (1, 'TSIG-ALLOW-DNSUPDATE', '$KEYNAME');"
    echo "INSERT INTO domainmetadata (domain_id, kind, content) VALUES (1, 'ALLOW-DNSUPDATE-FROM', '127.0.0.0/8');"
    awk -v z="$UZONE" '
      /^\$/ { next }
      {
        name = ($1 == "@") ? z : $1 "." z
        content = $5; for (i = 6; i <= NF; i++) content = content " " $i
        sub(/\.$/, "", content)
        if ($4 == "SOA") gsub(/\. /, " ", content)
        printf "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth) VALUES (1, %c%s%c, %c%s%c, %c%s%c, %d, 0, 0, 1);\n", 39, name, 39, 39, $4, 39, 39, content, 39, $2
      }' "$ZONEFILE"
    echo "COMMIT;"
  } | sqlite3 "$d/pdns.sqlite3"
  cat >"$d/pdns.conf" <<EOF
launch=gsqlite3
gsqlite3-database=$d/pdns.sqlite3
local-address=127.0.0.1:$port
socket-dir=$d
setuid=pdns
setgid=pdns
daemon=no
guardian=no
disable-syslog=yes
loglevel=3
dnsupdate=yes
allow-dnsupdate-from=
EOF
  chown -R pdns:pdns "$d"
  spawn "$d/out" "$d/err" pdns_server --config-dir="$d"
  PORT[$name]=$port PID[$name]=$SPAWNED SECRET[$name]=${SECRET[lucentd]}
  CONFDESC[$name]="gsqlite3 defaults: journal_mode WAL, synchronous unset (SQLite's default, FULL = $(sqlite3 :memory: 'PRAGMA synchronous')), one transaction per UPDATE; SOA-EDIT-DNSUPDATE DEFAULT; packet cache on (purged per update)"
}

# fsync_probe: the disk's fdatasync latency now (4 KiB rewritten + fdatasync, 200 times, in
# $WORK): every server here waits for it, so it tells a quiet disk from a busy one.
fsync_probe() {
  "$PY" - "$WORK" <<'PY'
import os, sys, time
p = os.path.join(sys.argv[1], "fsync.probe")
fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
t = []
for i in range(200):
    os.pwrite(fd, b"x" * 4096, (i % 16) * 4096)
    t0 = time.perf_counter()
    os.fdatasync(fd)
    t.append(time.perf_counter() - t0)
os.close(fd)
os.unlink(p)
t.sort()
print(f"median {t[100] * 1000:.2f} ms, p99 {t[198] * 1000:.2f} ms")
PY
}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
FSYNC_START=$(fsync_probe)
DATE_START=$(date -u '+%Y-%m-%d %H:%M UTC')
log "starting ${SYSTEMS[*]} ($NAMES names in $UZONE each)"
# lucentd's store makes the key that every server then shares: same name, same secret.
start_lucent lucentd 0
for s in "${SYSTEMS[@]}"; do
  case $s in
    lucentd) ;;
    lucentd-signed) start_lucent "$s" 1 ;;
    knot) start_knot "$s" 0 ;;
    knot-signed) start_knot "$s" 1 ;;
    pdns) start_pdns "$s" ;;
    *) die "unknown system $s" ;;
  esac
done
for s in "${SYSTEMS[@]}"; do
  wait_dns "${PORT[$s]}" "h7.$UZONE" A "$CHECK_WANT" 200 || {
    tail -n 20 "$WORK/$s.log" "$WORK/$s/err" 2>/dev/null >&2 || true
    die "$s does not serve the zone"
  }
done

# verify SYSTEM EXPECT_FILE: ask every name of EXPECT_FILE (name. ip [ip...]) with dig; print
# "served/total" (served = exactly one A, and it is one of the expected values).
verify() {
  local s=$1 want=$2 got=$WORK/got.$1
  awk '{print $1, "A"}' "$want" >"$want.q"
  dig @127.0.0.1 -p "${PORT[$s]}" +norec +noall +answer +time=2 +tries=2 -f "$want.q" >"$got" 2>&1 || true
  awk 'NR == FNR { if ($4 == "A") { n[tolower($1)]++; v[tolower($1)] = $5 }; next }
       { total++; k = tolower($1)
         if (n[k] == 1) for (i = 2; i <= NF; i++) if ($i == v[k]) { good++; break } }
       END { printf "%d/%d", good, total }' "$got" "$want"
}

RES=$WORK/update.tsv
: >"$RES"
# run_load SYSTEM ROUND
run_load() {
  local s=$1 r=$2 out=$WORK/load.$1.$2 exp=$WORK/expect.$1.$2 line ver
  taskset -c "$CLIENT_CPU" "$PY" "$BENCH_DIR/update_load.py" --port "${PORT[$s]}" --zone "$UZONE" \
    --key-name "$KEYNAME" --secret "${SECRET[$s]}" --names "$NAMES" --clients "$CLIENTS" \
    --warmup "$WARMUP" --duration "$DURATION" --transport "$TRANSPORT" --salt "$r" --expect "$exp" \
    --server-pid "${PID[$s]}" >"$out" 2>&1 || true
  line=$(grep -m1 '^RESULT ' "$out" || echo "RESULT ok=0 ok_rps=0 p50_ms=0 p99_ms=0 errors=-1 errs=load-generator-failed sent=0 client_cpu=0 server_cpu_s=0 names=0")
  grep -q '^RESULT ' "$out" || sed 's/^/  load: /' "$out" >&2
  if [ -s "$exp" ]; then ver=$(verify "$s" "$exp"); else ver="-"; fi
  # system round ok_rps p50 p99 errors errs server_cpu_s client_cpu verified
  echo "$line" | awk -v s="$s" -v r="$r" -v ver="$ver" '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s, r, v["ok_rps"], v["p50_ms"], v["p99_ms"], v["errors"], v["errs"], v["server_cpu_s"], v["client_cpu"], ver
  }' >>"$RES"
  tail -n1 "$RES" >&2
}

log "columns: system round ok_updates/s p50_ms p99_ms errors breakdown server_cpu_s client_cpu last_values_served"
for r in $(seq 1 "$RUNS"); do
  for s in "${SYSTEMS[@]}"; do
    run_load "$s" "$r"
  done
done

# --- fsync-family calls per update (strace -c, a short pass apart from the figures) ----------------
declare -A SYNCSTAT
if [ "$SYNCS" = 1 ]; then
  for s in "${SYSTEMS[@]}"; do
    st=$WORK/strace.$s
    strace -f -c -e trace=fsync,fdatasync,msync,sync_file_range,syncfs,sync -p "${PID[$s]}" -o "$st" 2>/dev/null &
    spid=$!
    sleep 1
    taskset -c "$CLIENT_CPU" "$PY" "$BENCH_DIR/update_load.py" --port "${PORT[$s]}" --zone "$UZONE" \
      --key-name "$KEYNAME" --secret "${SECRET[$s]}" --names "$NAMES" --clients "$CLIENTS" \
      --warmup 0 --duration 5 --transport "$TRANSPORT" --salt $((RUNS + 1)) >"$WORK/sync.$s" 2>&1 || true
    kill -INT "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    sent=$(awk '/^RESULT/ {for (i = 2; i <= NF; i++) {split($i, kv, "="); if (kv[1] == "sent") print kv[2]}}' "$WORK/sync.$s")
    SYNCSTAT[$s]=$(awk -v n="${sent:-0}" '$NF ~ /^(fsync|fdatasync|msync|sync_file_range|syncfs|sync)$/ && $4 ~ /^[0-9]+$/ { c[$NF] += $4; t += $4 }
      END { s = ""; for (k in c) s = s (s == "" ? "" : ", ") k " " c[k]; if (n > 0) printf "%s updates: %s (%.2f per update)", n, (s == "" ? "none" : s), t / n; else print "no updates" }' "$st")
    log "$s: ${SYNCSTAT[$s]}"
  done
fi

echo "# bench/update.sh, started $DATE_START"
echo
echo "- machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
echo "- lucentd: $LUCENTD (repository at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "- settings: NAMES=$NAMES RUNS=$RUNS WARMUP=$WARMUP DURATION=$DURATION CLIENTS=$CLIENTS TRANSPORT=$TRANSPORT"
echo "- load average at start: $LOAD_START (other work on the machine shows here)"
echo "- fdatasync of 4 KiB in the work dir: $FSYNC_START at start, $(fsync_probe) at the end"
echo
echo "DNS UPDATE: $NAMES names (one A each) in $UZONE; $CLIENTS clients (bench/update_load.py, one process each, $TRANSPORT), each"
echo "sending one TSIG hmac-sha256 UPDATE (delete hK A + add hK 60 A <new ip>) and waiting for its answer;"
echo "${WARMUP} s warm-up then ${DURATION} s measured, $RUNS rounds interleaved over the servers; server on CPU $SERVER_CPU, clients on CPU $CLIENT_CPU."
echo "updates/s = NOERROR answers (signature verified) received in the window / ${DURATION} s; median round shown with the range."
echo
echo "| server | config | updates/s (median) | range | p50 ms | p99 ms | errors (all rounds) | server CPU s in the window | updates per CPU-s | client CPU (of 1 core) | last values served | lucentd ÷ this |"
echo "|---|---|---:|---|---:|---:|---|---:|---:|---:|---|---:|"
L_MED=$(awk -F'\t' '$1 == "lucentd" {print $3}' "$RES" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
for s in "${SYSTEMS[@]}"; do
  # The median round by updates/s; its latency and CPU figures.
  med=$(awk -F'\t' -v s="$s" '$1 == s' "$RES" | sort -t$'\t' -k3,3g | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
  lo=$(awk -F'\t' -v s="$s" '$1 == s {print $3}' "$RES" | sort -g | head -n1)
  hi=$(awk -F'\t' -v s="$s" '$1 == s {print $3}' "$RES" | sort -g | tail -n1)
  errs=$(awk -F'\t' -v s="$s" '$1 == s { t += $6; if ($7 != "-") b = b (b == "" ? "" : " ") $7 } END { printf "%d%s", t, (b == "" ? "" : " (" b ")") }' "$RES")
  vers=$(awk -F'\t' -v s="$s" '$1 == s {printf "%s%s", (n++ ? ", " : ""), $10}' "$RES")
  echo "$med" | awk -F'\t' -v s="$s" -v conf="${CONFDESC[$s]}" -v lo="$lo" -v hi="$hi" -v errs="$errs" -v vers="$vers" -v lm="$L_MED" -v d="$DURATION" '{
    per = ($8 > 0) ? sprintf("%.0f", $3 * d / $8) : "-"
    rat = ($3 > 0) ? sprintf("%.2f", lm / $3) : "-"
    printf "| %s | %s | %.0f | %.0f–%.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, conf, $3, lo, hi, $4, $5, errs, $8, per, $9, vers, rat
  }'
done
echo
echo "Every round (system, round, updates/s, p50 ms, p99 ms, errors, breakdown, server CPU s, client CPU, last values served):"
echo
echo '```'
cat "$RES"
echo '```'
if [ "$SYNCS" = 1 ]; then
  echo
  echo "fsync-family system calls per update (strace -f -c on the server, a separate 5 s pass with the same load;"
  echo "strace slows the server, so that pass's rate is not a figure):"
  echo
  for s in "${SYSTEMS[@]}"; do echo "- $s: ${SYNCSTAT[$s]}"; done
fi
echo
echo "versions: $("$LUCENTD" --version 2>/dev/null | head -n1 || echo lucentd), $(knotd --version 2>&1 | head -n1), pdns $(dpkg-query -W -f='${Version}' pdns-server 2>/dev/null || echo '?'), sqlite3 $(sqlite3 --version | cut -d' ' -f1), dnspython $("$PY" -c 'import dns.version; print(dns.version.version)'), python $("$PY" -c 'import platform; print(platform.python_version())')"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
