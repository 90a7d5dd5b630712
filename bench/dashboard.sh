#!/usr/bin/env bash
# Dashboard (#17): lucentd's resident memory with 10,000 hostnames and the dashboard in the
# binary (idle, after a sign-in, after every page below has been served PAGES times), and the
# time to serve each page: server-side (lucentd's debug log of each request) and request to last
# byte over loopback (curl's time_total, a fresh connection each time). Two signed-in users: one with 10 hostnames, one with 100; each of their
# hostnames has 30 address changes spread over 30 days (the pictures are drawn) and the zone has
# 30 days of query counts. With BASE_LUCENTD=path, also durable updates per second through
# /update (wrk, bench/wrk-update.lua: every request changes an address, so each one also
# counts it in its address_changes row) for that binary and this one on copies of the same store,
# interleaved rounds.
#
#   bench/dashboard.sh                  # HOSTS=10000, PAGES=200, RUNS=3 (wrk rounds), CONNS=4
#   BASE_LUCENTD=/tmp/lucentd-main bench/dashboard.sh
#
# Environment: HOSTS, PAGES, RUNS, CONNS, DURATION (s per wrk round, default 10), BASE_LUCENTD,
# plus bench/lib.sh's. lucentd runs on CPU $SERVER_CPU, curl and wrk on CPU $CLIENT_CPU.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

HOSTS=${HOSTS:-10000}
PAGES=${PAGES:-200}
RUNS=${RUNS:-3}
CONNS=${CONNS:-4}
DURATION=${DURATION:-10}
need sqlite3:sqlite3 curl:curl taskset:util-linux
[ -z "${BASE_LUCENTD:-}" ] || need wrk:wrk
ensure_binaries
CONF=$WORK/lucentd.toml
bench_config "$CONF"
DB=$WORK/dash.db
PASSWORD="a bench password"

log "making a store with $HOSTS hostnames"
make_db "$DB" "$HOSTS"
for who in dash10 dash100; do
  "$LUCENTD" user add "$who@example.org" --max-hostnames 1000 --db "$DB" >/dev/null
  echo "$PASSWORD" | "$LUCENTD" user passwd "$who@example.org" --db "$DB" >/dev/null
done
"$LUCENTD" user set dash10@example.org --role admin --db "$DB" >/dev/null
NOW=$(date +%s)
sqlite3 "$DB" <<EOF
BEGIN;
UPDATE hostnames SET updated_from = '192.0.2.1',
  user_id = (SELECT id FROM users WHERE email = 'dash10@example.org')
  WHERE CAST(substr(label, 2) AS INTEGER) BETWEEN 1 AND 10;
UPDATE hostnames SET updated_from = '2001:db8::1',
  user_id = (SELECT id FROM users WHERE email = 'dash100@example.org')
  WHERE CAST(substr(label, 2) AS INTEGER) BETWEEN 11 AND 110;
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 29)
INSERT INTO address_changes (hostname_id, hour, changes, at, ipv4, ipv6)
SELECT h.id, ($NOW - k.i * 86400 - 3600) / 3600, 1, $NOW - k.i * 86400 - 3600,
       printf('198.18.0.%d', k.i + 1), NULL
FROM hostnames h, k WHERE h.user_id IN
  (SELECT id FROM users WHERE email IN ('dash10@example.org', 'dash100@example.org'))
ORDER BY k.i DESC;
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 29)
INSERT INTO zone_queries_daily (zone_id, day, count)
SELECT (SELECT id FROM zones WHERE name = '$ZONE'), $NOW / 86400 - k.i, 1000 + k.i * 37 FROM k;
COMMIT;
EOF
log "store made ($(du -h "$DB" | cut -f1)); $(sqlite3 "$DB" 'SELECT COUNT(*) FROM address_changes') hours with address changes"

# Its debug log of HTTP requests gives each answer's server-side time (request read to reply
# built: routing, store reads, rendering).
RUST_LOG=warn,lucent_server::http=debug start_lucentd "$DB" "$CONF" dash
sleep 1
RSS_IDLE=$(rss_kib "$L_PID")

# sign_in EMAIL JAR: a session cookie in JAR.
sign_in() {
  local email=$1 jar=$2 csrf
  csrf=$(curl -fsS -c "$jar" "http://$L_HTTP/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
  [ -n "$csrf" ] || die "no CSRF token on /login"
  curl -sS -o /dev/null -b "$jar" -c "$jar" -w '%{http_code}' \
    --data-urlencode "csrf=$csrf" --data-urlencode "email=$email" --data-urlencode "password=$PASSWORD" \
    "http://$L_HTTP/login" | grep -qx 303 || die "sign-in of $email refused"
}
sign_in dash10@example.org "$WORK/jar10"
sign_in dash100@example.org "$WORK/jar100"
sleep 0.2
RSS_SIGNIN=$(rss_kib "$L_PID")

# time_page JAR PATH LABEL: PAGES requests; prints a table row (ms, from curl's time_total).
time_page() {
  local jar=$1 path=$2 label=$3 out=$WORK/times code size
  code=$(curl -sS -o "$WORK/page" -b "$jar" -w '%{http_code}' "http://$L_HTTP$path")
  [ "$code" = 200 ] || die "$path: HTTP $code"
  size=$(wc -c <"$WORK/page")
  for _ in $(seq 1 "$PAGES"); do
    taskset -c "$CLIENT_CPU" curl -sS -o /dev/null -b "$jar" -w '%{time_total}\n' "http://$L_HTTP$path"
  done >"$out"
  # Server-side times of this path from the log ("(N bytes, 412.3µs)"), in ms, sorted.
  grep -F " GET $path -> 200 " "$WORK/dash.log" | sed -n 's/.* bytes, \([0-9.]*\)\([µnm]*s\)).*/\1 \2/p' |
    awk '{u = $2; f = (u == "ns") ? 1e-6 : (u == "µs") ? 1e-3 : (u == "ms") ? 1 : 1000; print $1 * f}' |
    sort -g >"$WORK/server"
  sort -g "$out" | awk -v label="$label" -v size="$size" -v svgs="$(grep -o '<svg' "$WORK/page" | wc -l)" \
    -v srv="$WORK/server" '
    BEGIN {while ((getline x < srv) > 0) s[++n] = x}
    {v[NR] = $1 * 1000}
    END {printf "| %s | %d | %d | %.3f | %.3f | %.3f | %.3f | %.3f |\n", label, size, svgs,
      s[int(n * 0.5 + 0.5)], s[int(n * 0.9 + 0.5)], v[int(NR * 0.5 + 0.5)], v[int(NR * 0.9 + 0.5)], v[NR]}'
}
HOST10=$(sqlite3 "$DB" "SELECT id FROM hostnames WHERE label = 'h1'")
ZONE_ROWS=$WORK/pages.rows
{
  time_page "$WORK/jar10" / "hostnames page, 10 hostnames"
  time_page "$WORK/jar100" / "hostnames page, 100 hostnames"
  time_page "$WORK/jar10" "/hostnames/$HOST10" "a hostname's page (30 changes listed)"
  time_page "$WORK/jar10" /admin "admin: users (3)"
  time_page "$WORK/jar10" /admin/zones "admin: zones (1, 30 days of counts)"
  time_page "$WORK/jar10" /account "account"
} >"$ZONE_ROWS"
RSS_PAGES=$(rss_kib "$L_PID")
stop_pid "$L_PID"

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
echo
echo "lucentd with $HOSTS hostnames and the dashboard: VmRSS MiB"
echo
echo "| 1 s after the listening line | after two sign-ins | after $((PAGES * 6 + 6)) page loads |"
echo "|---:|---:|---:|"
echo "| $(mib "$RSS_IDLE") | $(mib "$RSS_SIGNIN") | $(mib "$RSS_PAGES") |"
echo
echo "Pages: server-side time (request read to reply built, from lucentd's debug log) and request"
echo "to last byte over loopback ($PAGES loads each, curl time_total, fresh connection)"
echo
echo "| page | bytes | pictures | server median ms | server p90 ms | curl median ms | curl p90 ms | curl max ms |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
cat "$ZONE_ROWS"

if [ -n "${BASE_LUCENTD:-}" ]; then
  # Updates per second: the base binary and this one, each on its own copy of the store made
  # by the base binary's schema (this one migrates it to step 10 on open), rounds interleaved.
  declare -A BIN=([base]=$BASE_LUCENTD [this]=$LUCENTD)
  RES=$WORK/writes.tsv
  : >"$RES"
  SAVED=$LUCENTD
  for s in base this; do
    LUCENTD=${BIN[$s]}
    make_db "$WORK/w-$s.db" "$HOSTS"
  done
  LUCENTD=$SAVED
  for r in $(seq 1 "$RUNS"); do
    for s in base this; do
      SAVED=$LUCENTD
      LUCENTD=${BIN[$s]}
      # The same malloc setting for both (this lucentd sets it itself; see server/src/main.rs),
      # so that only the code differs.
      export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576
      start_lucentd "$WORK/w-$s.db" "$CONF" "w-$s-$r"
      unset GLIBC_TUNABLES
      LUCENTD=$SAVED
      t0=$(cpu_ticks "$L_PID")
      MODE=lucent FORM=label SECRET=$(cat "$WORK/w-$s.db.token") ZONE=$ZONE HOSTS=$HOSTS \
        taskset -c "$CLIENT_CPU" wrk -t 2 -c "$CONNS" -d "${DURATION}s" --timeout 5s \
        -s "$BENCH_DIR/wrk-update.lua" "http://$L_HTTP/" >"$WORK/wrk.$s.$r" 2>&1 || true
      t1=$(cpu_ticks "$L_PID")
      stop_pid "$L_PID"
      # system round ok/s errors p50 p99 server-CPU-µs-per-update
      grep -m1 '^RESULT ' "$WORK/wrk.$s.$r" | awk -v s="$s" -v r="$r" -v cpu="$((t1 - t0))" \
        -v hz="$CLK_TCK" -v d="$DURATION" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        us = (v["ok_rps"] > 0) ? cpu / hz * 1e6 / (v["ok_rps"] * d) : 0
        printf "%s\t%s\t%s\t%s\t%s\t%s\t%.1f\n", s, r, v["ok_rps"], v["errors"], v["p50_ms"], v["p99_ms"], us }' >>"$RES"
      tail -n1 "$RES" >&2
    done
  done
  echo
  echo "Durable updates/s through /update, $CONNS clients, ${DURATION} s rounds, every update an address change"
  echo "(base: $("$BASE_LUCENTD" --version 2>/dev/null | head -n1 || echo base); this: with the address_changes insert)"
  echo
  echo "| binary | updates/s per round | median | failed answers | p99 ms per round | server CPU µs per update, per round | median |"
  echo "|---|---|---:|---:|---|---|---:|"
  for s in base this; do
    awk -F'\t' -v s="$s" '$1 == s' "$RES" >"$WORK/rows"
    # shellcheck disable=SC2046 # one number per word
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$(cut -f3 "$WORK/rows" | tr '\n' ' ')" \
      "$(median_of $(cut -f3 "$WORK/rows"))" "$(awk -F'\t' '{e += $4} END {print e + 0}' "$WORK/rows")" \
      "$(cut -f6 "$WORK/rows" | tr '\n' ' ')" "$(cut -f7 "$WORK/rows" | tr '\n' ' ')" \
      "$(median_of $(cut -f7 "$WORK/rows"))"
  done
fi
echo
echo "version: $("$LUCENTD" --version 2>/dev/null | head -n1 || echo lucentd)"
