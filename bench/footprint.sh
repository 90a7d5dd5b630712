#!/usr/bin/env bash
# Footprint: lucentd's resident memory idle (empty store), with 10,000 and with 1,000,000
# hostnames, its start-up time to the listening line at 1M; lucent-agent's binary size and
# peak RSS for one update (--once) against a local lucentd, next to ddclient and inadyn doing
# the same one-shot update against the same lucentd; the binaries' sizes on disk.
#
#   bench/footprint.sh      # BIG=1000000 hostnames, RUNS=3 repeats (median reported)
#
# Environment: BIG, RUNS, plus bench/lib.sh's. lucentd runs on CPU $SERVER_CPU, the clients on
# CPU $CLIENT_CPU. RSS is VmRSS from /proc/PID/status after the listening line plus 1 s, then
# again after one DNS query and one HTTP request have been served ("warm"); peak RSS of the
# one-shot clients is GNU time's "Maximum resident set size".
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BIG=${BIG:-1000000}
RUNS=${RUNS:-3}
need sqlite3:sqlite3 dig:bind9-dnsutils curl:curl taskset:util-linux /usr/bin/time:time \
  ddclient:ddclient inadyn:inadyn
ensure_binaries
# Its whole file in the page cache first: the mapped binary's resident share (fault-around
# maps cached neighbours of each page touched) then does not depend on what ran before.
cat "$LUCENTD" >/dev/null
CONF=$WORK/lucentd.toml
bench_config "$CONF"

# mem_row LABEL DB: start lucentd RUNS times on DB; prints a table row (median values).
mem_row() {
  local label=$1 db=$2 i t0 t1 ms rss anon warm starts=() rsss=() anons=() warms=() name
  for i in $(seq 1 "$RUNS"); do
    sync
    t0=$(date +%s%N)
    start_lucentd "$db" "$CONF" "mem-$label-$i"
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    sleep 1
    rss=$(rss_kib "$L_PID")
    anon=$(anon_kib "$L_PID")
    dig @127.0.0.1 -p "$L_DNS" "h1.$ZONE" A +short +norec >/dev/null || true
    # (404 on the empty store: no h1 there; the request is served all the same.)
    curl -sS -m 5 -o /dev/null "http://$L_HTTP/update?domains=h1&token=$(cat "$db.token")&ip=192.0.2.77" || true
    sleep 0.2
    warm=$(rss_kib "$L_PID")
    stop_pid "$L_PID"
    starts+=("$ms") rsss+=("$rss") anons+=("$anon") warms+=("$warm")
    log "$label run $i: start ${ms} ms, RSS ${rss} KiB (anonymous ${anon}), warm ${warm} KiB"
  done
  name=$label
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" \
    "$(awk -v k="$(median_of "${rsss[@]}")" 'BEGIN {printf "%.1f", k / 1024}')" \
    "$(awk -v k="$(median_of "${anons[@]}")" 'BEGIN {printf "%.1f", k / 1024}')" \
    "$(awk -v k="$(median_of "${warms[@]}")" 'BEGIN {printf "%.1f", k / 1024}')" \
    "$(median_of "${starts[@]}")" "$(printf '%s ' "${starts[@]}")"
}

for n in 0 10000 "$BIG"; do
  log "making a store with $n hostnames"
  t0=$(date +%s)
  make_db "$WORK/h$n.db" "$n"
  log "store with $n hostnames made in $(($(date +%s) - t0)) s ($(du -h "$WORK/h$n.db" | cut -f1))"
done

ROWS=$WORK/mem.rows
{
  mem_row "empty store" "$WORK/h0.db"
  mem_row "10,000 hostnames" "$WORK/h10000.db"
  mem_row "$(echo "$BIG" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta') hostnames" "$WORK/h$BIG.db"
} >"$ROWS"

# --- one-shot clients against one lucentd --------------------------------------------------
DB=$WORK/h10000.db
TOKEN=$(cat "$DB.token")
start_lucentd "$DB" "$CONF" clients
# peak_kib OUT: GNU time's maximum RSS in OUT.
peak_kib() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

cat >"$WORK/agent.toml" <<EOF
server = "http://$L_HTTP"
token = "$TOKEN"
hostnames = ["h1.$ZONE"]
protocol = "lucent"
state_file = "$WORK/agent-state.json"
[ipv4]
source = "http"
allow_private = true
[ipv6]
source = "off"
EOF
cat >"$WORK/ddclient.conf" <<EOF
daemon=0
syslog=no
ssl=no
protocol=dyndns2
server=$L_HTTP
use=ip, ip=192.0.2.10
login=bench
password=$TOKEN
h2.$ZONE
EOF
chmod 600 "$WORK/ddclient.conf"
cat >"$WORK/inadyn.conf" <<EOF
period = 300
custom lucent {
    ssl            = false
    ddns-server    = "$L_HTTP"
    ddns-path      = "/update?domains=%h&token=%p&ip=%i"
    username       = "bench"
    password       = "$TOKEN"
    hostname       = "h3.$ZONE"
    checkip-command = "echo 192.0.2.30"
}
EOF

# client_row NAME EXPECT_NAME EXPECT_IP CMD...: RUNS one-shot runs under GNU time; the record
# must show EXPECT_IP afterwards (checked through DNS). Prints a table row.
client_row() {
  local name=$1 host=$2 want=$3 i peaks=() walls=() ok=0 got
  shift 3
  for i in $(seq 1 "$RUNS"); do
    # Change the record first so every run is a real update.
    curl -fsS -m 5 -o /dev/null "http://$L_HTTP/update?domains=$host&token=$TOKEN&ip=192.0.2.1"
    rm -rf "$WORK/cache" "$WORK/agent-state.json"
    mkdir -p "$WORK/cache"
    taskset -c "$CLIENT_CPU" /usr/bin/time -v -o "$WORK/time.$name.$i" timeout 60 "$@" \
      >"$WORK/out.$name.$i" 2>&1 || true
    got=$(dig @127.0.0.1 -p "$L_DNS" "$host.$ZONE" A +short +norec)
    [ "$got" = "$want" ] && ok=$((ok + 1))
    peaks+=("$(peak_kib "$WORK/time.$name.$i")")
    walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.$name.$i")")
    log "$name run $i: peak RSS ${peaks[-1]} KiB, wall ${walls[-1]}, DNS now $got"
  done
  [ "$ok" = "$RUNS" ] || { log "$name: output of the last run:"; cat "$WORK/out.$name.$RUNS" >&2; }
  printf '%s\t%s\t%s\t%s/%s\n' "$name" "$(median_of "${peaks[@]}")" "$(printf '%s ' "${peaks[@]}")" "$ok" "$RUNS"
}
CROWS=$WORK/clients.rows
{
  client_row lucent-agent h1 127.0.0.1 "$LUCENT_AGENT" --config "$WORK/agent.toml" --once
  client_row ddclient h2 192.0.2.10 ddclient -foreground -daemon=0 -force -file "$WORK/ddclient.conf" \
    -cache "$WORK/cache/ddclient.cache"
  client_row inadyn h3 192.0.2.30 inadyn -1 --force -n -f "$WORK/inadyn.conf" --cache-dir "$WORK/cache"
} >"$CROWS"

# size_of FILE: bytes; libs_of FILE: bytes of the shared libraries it loads other than libc's.
size_of() { stat -L -c %s "$1"; }
libs_of() {
  { ldd "$1" 2>/dev/null || true; } | awk '$3 ~ /^\// {print $3}' |
    { grep -Ev '/(libc|libm|libgcc_s|libpthread|libdl|librt|ld-linux[^/]*)\.so' || true; } |
    xargs -r stat -L -c %s | awk '{s += $1} END {print s + 0}'
}
mib() { awk -v b="$1" 'BEGIN {printf "%.2f", b / 1048576}'; }

echo
echo "lucentd memory and start-up (median of $RUNS starts; RSS 1 s after the listening line, and"
echo "'warm' after one DNS query and one /update have been served; 'anonymous' is RssAnon, the"
echo "process's own memory without the mapped binary and libraries, whose resident share varies"
echo "with the page cache)"
echo
echo "| store | RSS MiB | of which anonymous MiB | warm RSS MiB | start-up to listening line ms | start-ups ms |"
echo "|---|---:|---:|---:|---:|---|"
cat "$ROWS"
echo
echo "One-shot update clients against lucentd (median of $RUNS runs; GNU time maximum RSS)"
echo
echo "| client | peak RSS MiB | runs KiB | record updated | binary on disk MiB | + non-libc shared libs MiB |"
echo "|---|---:|---|---:|---:|---:|"
while IFS=$'\t' read -r name peak runs ok; do
  case $name in
    lucent-agent) bin=$LUCENT_AGENT ;;
    ddclient) bin=$(command -v ddclient) ;;
    inadyn) bin=$(command -v inadyn) ;;
  esac
  extra=$(libs_of "$bin")
  [ "$name" = ddclient ] && extra=$(size_of "$(readlink -f /usr/bin/perl)")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$(awk -v k="$peak" 'BEGIN {printf "%.2f", k / 1024}')" \
    "$runs" "$ok" "$(mib "$(size_of "$bin")")" "$(mib "$extra")"
done <"$CROWS"
echo
echo "(ddclient is a Perl script: its extra column is the perl interpreter binary alone, without"
echo " Perl's modules.) lucentd on disk: $(mib "$(size_of "$LUCENTD")") MiB, + non-libc shared libs $(mib "$(libs_of "$LUCENTD")") MiB."
echo
echo "versions: $("$LUCENTD" --version 2>/dev/null | head -n1 || echo lucentd), $("$LUCENT_AGENT" --version 2>/dev/null | head -n1 || echo lucent-agent), ddclient $(dpkg-query -W -f='${Version}' ddclient 2>/dev/null || echo '?'), inadyn $(dpkg-query -W -f='${Version}' inadyn 2>/dev/null || echo '?')"
