# shellcheck shell=bash
# Shared helpers of the bench scripts (sourced, not run). Everything talks to 127.0.0.1 only.
#
# Environment: LUCENTD / LUCENT_AGENT (default target/release/...; built with cargo when
# missing), KEEP=1 keeps the work directory, SERVER_CPU / CLIENT_CPU (default 1 / 0).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
ZONE=dyn.example.net
EMAIL=a@example.org
export RUST_LOG=warn
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 2
}

# --- packages ----------------------------------------------------------------------------
APT_UPDATED=0
# need CMD:PKG ...: apt-get install every PKG whose CMD is missing (apt-get update once first).
need() {
  local pair cmd pkg missing=()
  for pair in "$@"; do
    cmd=${pair%%:*}
    pkg=${pair#*:}
    if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "$cmd" ]; then missing+=("$pkg"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ "$APT_UPDATED" = 0 ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- binaries ----------------------------------------------------------------------------
LUCENTD=${LUCENTD:-$ROOT/target/release/lucentd}
LUCENT_AGENT=${LUCENT_AGENT:-$ROOT/target/release/lucent-agent}
ensure_binaries() {
  if [ ! -x "$LUCENTD" ] || [ ! -x "$LUCENT_AGENT" ]; then
    log "building lucentd and lucent-agent (release)"
    (cd "$ROOT" && cargo build --release --bin lucentd --bin lucent-agent)
  fi
  [ -x "$LUCENTD" ] || die "no lucentd at $LUCENTD"
}

# --- work dir and processes --------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lucent-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    # Each server runs in its own process group (setsid): end the whole group.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_pid PID: end one server started by spawn (its process group), wait for it.
stop_pid() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
    [ "$i" = 50 ] && kill -KILL -- "-$pid" 2>/dev/null
  done
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# spawn OUT ERR CMD...: run CMD on the server CPU in its own session; sets SPAWNED.
spawn() {
  local out=$1 err=$2
  shift 2
  setsid taskset -c "$SERVER_CPU" "$@" >"$out" 2>"$err" </dev/null &
  SPAWNED=$!
  PIDS+=("$SPAWNED")
}

# cpu_ticks PID: utime+stime (clock ticks) of PID and every descendant, threads included.
cpu_ticks() {
  local root=$1
  # cat, not awk on the files: a process that ends between the glob and the read is skipped.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$root" '
    {
      line = $0
      pid = line; sub(/ .*/, "", pid)
      sub(/^[0-9]+ \(.*\) /, "", line)   # comm may hold spaces
      split(line, f, " ")
      ppid[pid] = f[2]; ticks[pid] = f[12] + f[13]
    }
    END {
      in_tree[root] = 1
      changed = 1
      while (changed) {
        changed = 0
        for (p in ppid) if (!(p in in_tree) && (ppid[p] in in_tree)) { in_tree[p] = 1; changed = 1 }
      }
      t = 0
      for (p in in_tree) t += ticks[p]
      print t
    }'
}
# shellcheck disable=SC2034 # used by the scripts that source this
CLK_TCK=$(getconf CLK_TCK)

# udp_rcvbuf_errors: the kernel's count of UDP datagrams dropped for a full receive buffer
# (system-wide: /proc/net/snmp Udp RcvbufErrors).
udp_rcvbuf_errors() {
  awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ {print $6; exit}' /proc/net/snmp
}

# rss_kib PID: current VmRSS of PID in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# anon_kib PID: its RssAnon (heap, stacks and other private memory; not the mapped files).
anon_kib() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }

# free_port: a free TCP+UDP port on 127.0.0.1.
free_port() {
  /usr/bin/python3 - <<'EOF'
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close(); continue
    t.close(); u.close(); print(p); break
EOF
}

# wait_dns PORT NAME TYPE EXPECTED [TRIES]: until dig shows EXPECTED (0.1 s steps).
wait_dns() {
  local port=$1 name=$2 type=$3 want=$4 tries=${5:-200} got="" i
  for i in $(seq 1 "$tries"); do
    got=$(dig @127.0.0.1 -p "$port" "$name" "$type" +short +norec +time=1 +tries=1 2>/dev/null || true)
    [ "$got" = "$want" ] && return 0
    [ "$i" -lt "$tries" ] && sleep 0.1
  done
  log "dns on $port: $name $type gave '$got', wanted '$want'"
  return 1
}

# --- lucentd -----------------------------------------------------------------------------
# bench_config FILE: no rate limits, and no DNS response rate limiting (on by default since
# issue #14): the peers run without it, and the load comes from one address.
bench_config() {
  printf '[limits]\nrequests_per_5min = 0\nip_requests_per_5min = 0\n[dns]\nrrl_responses_per_second = 0\n' >"$1"
}

# make_db DB N: a shared zone, one user (token in DB.token) and N hostnames h1..hN, each with
# A, AAAA and TXT. The hostnames go straight into the store's own schema (server/src/store/
# schema.rs, table hostnames) with the sqlite3 CLI while no lucentd runs: the API would take
# minutes for 1M rows. The zone and user are made by lucentd's own admin commands.
make_db() {
  local db=$1 n=$2
  "$LUCENTD" zone add "$ZONE" --shared --db "$db" >/dev/null
  "$LUCENTD" user add "$EMAIL" --max-hostnames 2000000 --db "$db" | tail -n1 >"$db.token"
  [ "$n" -gt 0 ] || return 0
  sqlite3 "$db" <<EOF
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $n)
INSERT INTO hostnames (id, zone_id, label, user_id, ipv4, ipv6, txt, ttl, note, created_at, updated_at)
SELECT printf('host_%020x', i),
       (SELECT id FROM zones WHERE name = '$ZONE'),
       'h' || i,
       (SELECT id FROM users WHERE email = '$EMAIL'),
       printf('198.18.%d.%d', (i / 256) % 256, i % 256),
       printf('2001:db8::%x:%x', i / 65536, i % 65536),
       'bench-txt-' || i,
       60, NULL,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM n;
UPDATE zones SET serial = serial + 1 WHERE name = '$ZONE';
COMMIT;
EOF
}

# soa_of DB: the SOA content lucentd serves for the zone (default [dns] settings).
soa_of() {
  echo "localhost. hostmaster.localhost. $(sqlite3 "$1" "SELECT serial FROM zones WHERE name = '$ZONE'") 1200 120 604800 60"
}

# make_pdns_db PDB DB: the PowerDNS gsqlite3 database PDB (Debian's schema) holding the same
# RRsets as lucentd's store DB: SOA, NS, and per hostname A, AAAA, TXT and the wildcard TXT.
make_pdns_db() {
  local pdb=$1 db=$2 schema soa
  soa=$(soa_of "$db")
  schema=$(find /usr/share/doc/pdns-backend-sqlite3 /usr/share/pdns-backend-sqlite3 -name schema.sqlite3.sql 2>/dev/null | head -n1)
  [ -n "$schema" ] || die "no PowerDNS sqlite3 schema found"
  sqlite3 "$pdb" <"$schema"
  sqlite3 "$pdb" <<EOF
ATTACH '$db' AS l;
BEGIN;
INSERT INTO domains (id, name, type) VALUES (1, '$ZONE', 'NATIVE');
INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth) VALUES
  (1, '$ZONE', 'SOA', '$soa', 3600, 0, 0, 1),
  (1, '$ZONE', 'NS', 'localhost.', 86400, 0, 0, 1);
INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth)
  SELECT 1, label || '.$ZONE', 'A', ipv4, ttl, 0, 0, 1 FROM l.hostnames WHERE ipv4 IS NOT NULL ORDER BY rowid;
INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth)
  SELECT 1, label || '.$ZONE', 'AAAA', ipv6, ttl, 0, 0, 1 FROM l.hostnames WHERE ipv6 IS NOT NULL ORDER BY rowid;
INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth)
  SELECT 1, label || '.$ZONE', 'TXT', '"' || txt || '"', ttl, 0, 0, 1 FROM l.hostnames WHERE txt IS NOT NULL ORDER BY rowid;
INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth)
  SELECT 1, '*.' || label || '.$ZONE', 'TXT', '"' || txt || '"', ttl, 0, 0, 1 FROM l.hostnames WHERE txt IS NOT NULL ORDER BY rowid;
COMMIT;
EOF
}

# start_lucentd DB CONF NAME: starts lucentd on the server CPU; sets L_PID L_HTTP L_DNS.
start_lucentd() {
  local db=$1 conf=$2 name=$3 line="" i
  spawn "$WORK/$name.out" "$WORK/$name.log" "$LUCENTD" serve --db "$db" --config "$conf" \
    --http 127.0.0.1:0 --dns 127.0.0.1:0
  L_PID=$SPAWNED
  for i in $(seq 1 600); do
    line=$(grep -m1 '^lucentd listening ' "$WORK/$name.out" 2>/dev/null || true)
    [ -n "$line" ] && break
    kill -0 "$L_PID" 2>/dev/null || break
    sleep 0.05
    [ "$i" = 600 ] && true
  done
  [ -n "$line" ] || {
    cat "$WORK/$name.log" >&2
    die "lucentd ($name) did not start"
  }
  L_HTTP=${line#*http=}
  L_HTTP=${L_HTTP%% *}
  L_DNS=${line#*dns=}
  L_DNS=${L_DNS%% *}
  L_DNS=${L_DNS%%,*}
  L_DNS=${L_DNS##*:}
}

# ratio A B: A/B with two decimals ("-" when B is 0 or missing).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
# median_of V1 V2 V3...: the median (by value) of the numbers.
median_of() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
