#!/usr/bin/env bash
# IPv6 prefix pushes (issue #18): the cost of one `ipv6prefix` push against the number of
# hostnames with an ipv6Suffix it re-addresses (1, 10, 100), as durable pushes per second and
# hostname writes per second, each answer 200 only after the group commit that holds every
# changed AAAA. Beside it, the same hostname writes as one /update per hostname (bench/
# writes.sh's method), so the figures say what one push saves.
#
#   bench/prefix.sh        # RUNS=3 rounds of DURATION=10 s per size, CONNS=1
#
# Environment: SIZES (default "1 10 100"), RUNS, DURATION, CONNS, plus bench/lib.sh's. Server
# on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; the median round is reported.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

SIZES=${SIZES:-1 10 100}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-1}

need wrk:wrk curl:curl sqlite3:sqlite3 dig:bind9-dnsutils taskset:util-linux
ensure_binaries

printf '| suffix hostnames | pushes/s (range) | hostname writes/s | p50 ms | p99 ms | one /update per hostname: writes/s | errors |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|\n'
for n in $SIZES; do
  db=$WORK/prefix-$n.db
  conf=$WORK/prefix-$n.toml
  bench_config "$conf"
  make_db "$db" "$n"
  sqlite3 "$db" "UPDATE hostnames SET ipv6_suffix = printf('::1:0:0:%x', rowid)"
  token=$(cat "$db.token")
  start_lucentd "$db" "$conf" "prefix-$n"
  pushes=() p50s=() p99s=() errs=0 singles=()
  for _ in $(seq 1 "$RUNS"); do
    out=$(SECRET=$token taskset -c "$CLIENT_CPU" wrk -t 1 -c "$CONNS" -d "${DURATION}s" --timeout 5s \
      -s "$BENCH_DIR/wrk-prefix.lua" "http://$L_HTTP/" | grep '^RESULT')
    pushes+=("$(sed -E 's/.*ok_rps=([0-9.]+).*/\1/' <<<"$out")")
    p50s+=("$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$out")")
    p99s+=("$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$out")")
    errs=$((errs + $(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$out")))
    out=$(MODE=lucent SECRET=$token ZONE=$ZONE HOSTS=$n taskset -c "$CLIENT_CPU" wrk -t 1 -c "$CONNS" \
      -d "${DURATION}s" --timeout 5s -s "$BENCH_DIR/wrk-update.lua" "http://$L_HTTP/" | grep '^RESULT')
    singles+=("$(sed -E 's/.*ok_rps=([0-9.]+).*/\1/' <<<"$out")")
  done
  # The last push is in DNS: h1's AAAA is under a 2001:db8: prefix with its suffix.
  got=$(dig @127.0.0.1 -p "$L_DNS" "h1.$ZONE" AAAA +short +norec)
  case "$got" in 2001:db8:*:1::1) ;; *) die "h1 AAAA after the pushes: '$got'" ;; esac
  stop_pid "$L_PID"
  med=$(median_of "${pushes[@]}")
  lo=$(printf '%s\n' "${pushes[@]}" | sort -g | head -n1)
  hi=$(printf '%s\n' "${pushes[@]}" | sort -g | tail -n1)
  printf '| %d | %.0f (%.0f-%.0f) | %.0f | %s | %s | %.0f | %d |\n' "$n" "$med" "$lo" "$hi" \
    "$(awk -v a="$med" -v b="$n" 'BEGIN {print a * b}')" "$(median_of "${p50s[@]}")" \
    "$(median_of "${p99s[@]}")" "$(median_of "${singles[@]}")" "$errs"
done
echo
echo "Each push: one /update?token=…&ipv6prefix=P/64 over $CONNS connection(s), a new prefix every time;"
echo "wrk -t 1 -c $CONNS -d ${DURATION}s on CPU $CLIENT_CPU, lucentd on CPU $SERVER_CPU, median of $RUNS rounds."
echo "versions: $("$LUCENTD" --version 2>/dev/null | head -n1 || echo lucentd), wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')"
