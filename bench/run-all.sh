#!/usr/bin/env bash
# Runs the whole suite: bench/dns.sh, bench/writes.sh, bench/footprint.sh, one after the other
# (never two at once: they share the two CPUs), and writes everything they print to
# bench/out/run-YYYYmmdd-HHMMSS.md (tables on stdout as well). Bounded: about 15 minutes.
#
#   bench/run-all.sh
#
# Environment is passed on (LUCENTD, LUCENT_AGENT, RUNS, DURATION, ...: see each script).
# Needs root for apt-get when a peer is missing; builds lucentd when target/release has none.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${OUT:-$HERE/out/run-$(date -u +%Y%m%d-%H%M%S).md}
mkdir -p "$(dirname "$OUT")"

LUCENTD=${LUCENTD:-$ROOT/target/release/lucentd}
LUCENT_AGENT=${LUCENT_AGENT:-$ROOT/target/release/lucent-agent}
export LUCENTD LUCENT_AGENT
if [ ! -x "$LUCENTD" ] || [ ! -x "$LUCENT_AGENT" ]; then
  (cd "$ROOT" && cargo build --release --bin lucentd --bin lucent-agent)
fi

START=$(date +%s)
{
  echo "# Lucent Drift bench run $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "- lucentd: $LUCENTD ($("$LUCENTD" --version 2>/dev/null | head -n1)); repository at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT"

status=0
for part in dns writes prefix footprint; do
  printf '\n## %s\n' "$part" | tee -a "$OUT"
  t0=$(date +%s)
  # Each script's log lines (stderr) go to the run log, its tables to stdout and the file.
  if ! timeout 900 "$HERE/$part.sh" 2>"${OUT%.md}.$part.log" | tee -a "$OUT"; then
    echo "$part.sh failed (see ${OUT%.md}.$part.log)" | tee -a "$OUT"
    status=1
  fi
  echo "($part took $(($(date +%s) - t0)) s)" | tee -a "$OUT"
done
printf '\nload average at end: %s; total %s s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(($(date +%s) - START))" | tee -a "$OUT"
exit "$status"
