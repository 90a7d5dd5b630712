#!/usr/bin/env bash
# The dashboard (#17) in a real headless browser: starts lucentd on 127.0.0.1:0 with a fresh
# database, a shared zone, a user and an invite link, then runs dashboard_browser.py
# (Selenium driving Debian's chromium + chromium-driver). Screenshots of every page at 1280 and
# 390 px wide are kept under target/dashboard-screenshots/.
#
#   cargo build --workspace --bins && tests/interop/dashboard_browser.sh
#
# Needs (Debian): chromium chromium-driver python3-selenium dnsutils.
# Environment: LUCENTD=path (default target/debug/lucentd), KEEP=1 keeps the temp dir.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LUCENTD=${LUCENTD:-$ROOT/target/debug/lucentd}
[ -x "$LUCENTD" ] || { echo "lucentd not found at $LUCENTD: run cargo build --workspace --bins" >&2; exit 2; }
for t in /usr/bin/chromium /usr/bin/chromedriver dig; do
  command -v "$t" >/dev/null 2>&1 || { echo "$t missing: apt-get install chromium chromium-driver python3-selenium dnsutils" >&2; exit 2; }
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || { echo "python3-selenium missing" >&2; exit 2; }
SHOTS=${SHOTS:-$ROOT/target/dashboard-screenshots}
mkdir -p "$SHOTS"

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lucent-dash.XXXXXX")
PID=
cleanup() {
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

DB=$WORK/lucent.db
"$LUCENTD" zone add dyn.test --shared --db "$DB" >/dev/null 2>&1
OLD_TOKEN=$("$LUCENTD" user add ann@example.org --db "$DB" | tail -n1)
INVITE=$("$LUCENTD" user invite ann@example.org --db "$DB" | tail -n1)
"$LUCENTD" zone add ann.example --owner ann@example.org --db "$DB" >/dev/null
"$LUCENTD" user add root@example.org --db "$DB" >/dev/null
"$LUCENTD" user set root@example.org --role admin --db "$DB" >/dev/null
echo "an admin's password" | "$LUCENTD" user passwd root@example.org --db "$DB" >/dev/null

"$LUCENTD" serve --db "$DB" --http 127.0.0.1:0 --dns 127.0.0.1:0 >"$WORK/out" 2>"$WORK/log" &
PID=$!
for _ in $(seq 1 100); do
  grep -q '^lucentd listening' "$WORK/out" 2>/dev/null && break
  sleep 0.1
done
LINE=$(grep '^lucentd listening' "$WORK/out") || { cat "$WORK/log" >&2; exit 1; }
HTTP=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' <<<"$LINE")
DNS=$(sed -n 's/.*dns=\([^ ,]*\).*/\1/p' <<<"$LINE")

# The invite link names public_url (unset: the configured listen address); the path is what
# counts.
export BASE="http://$HTTP" DNS_PORT="${DNS##*:}" OLD_TOKEN SHOTS
export INVITE_PATH="/invite/${INVITE##*/invite/}"
/usr/bin/python3 "$HERE/dashboard_browser.py"
