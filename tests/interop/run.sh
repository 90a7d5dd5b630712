#!/usr/bin/env bash
# Interop suite: real, unmodified DDNS/DNS clients (ddclient, inadyn, dns-lexicon, and the
# exact ACME DuckDNS requests of acme.sh and lego) against a real lucentd.
#
#   cargo build --workspace --bins && tests/interop/run.sh
#
# Environment: LUCENTD=path (default target/debug/lucentd), AGENT=path (default lucent-agent
# next to lucentd), KEEP=1 keeps the temp dir,
# LUCENT_INTEROP_NO_NETNS=1 skips the private network namespace, PYTHON=path picks the
# interpreter that has dns-lexicon (default /usr/bin/python3, Debian's python3-lexicon).
# Needs: ddclient, libio-socket-ssl-perl, inadyn, dig, openssl, curl, python3 with dns-lexicon
# (tests/interop/install.sh installs them on Debian).
#
# Everything talks to 127.0.0.1 only. When it can (root, util-linux unshare), the script
# re-runs itself in a private network namespace with only loopback up, so nothing a client
# does on its own (inadyn resolves its hostname through the system resolver, lexicon's
# dependencies may look for proxies) can leave the machine.
# Each check prints PASS/FAIL; the last line is `interop: N passed, M failed`.
set -euo pipefail

if [ -z "${LUCENT_INTEROP_NETNS:-}" ] && [ "${LUCENT_INTEROP_NO_NETNS:-0}" != 1 ]; then
  if unshare -n true 2>/dev/null && command -v ip >/dev/null 2>&1; then
    exec unshare -n env LUCENT_INTEROP_NETNS=1 bash "$0" "$@"
  fi
  echo "note: no private network namespace available; clients run on the host's loopback" >&2
fi
if [ "${LUCENT_INTEROP_NETNS:-}" = 1 ]; then
  ip link set lo up
fi

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LUCENTD=${LUCENTD:-$ROOT/target/debug/lucentd}
case "$LUCENTD" in /*) ;; *) LUCENTD="$PWD/$LUCENTD" ;; esac
[ -x "$LUCENTD" ] || { echo "lucentd not found at $LUCENTD: run cargo build --workspace --bins" >&2; exit 2; }
AGENT=${AGENT:-$(dirname "$LUCENTD")/lucent-agent}
case "$AGENT" in /*) ;; *) AGENT="$PWD/$AGENT" ;; esac
[ -x "$AGENT" ] || { echo "lucent-agent not found at $AGENT: run cargo build --workspace --bins" >&2; exit 2; }

# Python for JSON checks and for lexicon: the system one (Debian's python3-lexicon) unless set.
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
fi

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lucent-interop.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "${KEEP:-0}" = 1 ]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
START=$(date +%s)

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
# check "description" command...: PASS if the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
# show FILE: a client's output, indented.
show() { sed 's/^/    | /' "$1"; }
# has FILE REGEX: the client printed a line matching REGEX (extended regex).
has() { grep -Eq -- "$2" "$1"; }
hasnt() { ! grep -Eq -- "$2" "$1"; }
section() { printf '\n== %s\n' "$*"; }

# --- certificates: a throw-away CA and a server certificate for IP 127.0.0.1 ---------------
section "setup"
(
  cd "$WORK"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.pem -days 2 -subj "/CN=Lucent Drift interop test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
  printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out server.pem -days 2 -extfile server.ext
) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; echo "openssl failed" >&2; exit 2; }
CA=$WORK/ca.pem

# --- database: a shared DDNS zone with a user, a hosted zone with an API key ----------------
DB=$WORK/lucent.db
admin() { "$LUCENTD" "$@" --db "$DB"; }
admin zone add dyn.example.net --shared >/dev/null
TOKEN=$(admin user add a@example.org | tail -n1)
admin zone add example.org --owner a@example.org >/dev/null
APIKEY=$(admin user apikey a@example.org | tail -n1)

# start_server NAME ARGS...: sets HTTP_<NAME> (host:port) and DNS_<NAME> (port).
start_server() {
  local name=$1 line=""
  shift
  RUST_LOG=${RUST_LOG:-debug} "$LUCENTD" serve --db "$DB" --http 127.0.0.1:0 --dns 127.0.0.1:0 "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.log" &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    line=$(grep -m1 '^lucentd listening ' "$WORK/$name.out" || true)
    [ -n "$line" ] && break
    sleep 0.1
  done
  if [ -z "$line" ]; then
    echo "lucentd ($name) did not start; log:" >&2
    cat "$WORK/$name.log" >&2
    exit 2
  fi
  echo "$line"
  local http=${line#*http=} dns=${line#*dns=}
  http=${http%% *}
  dns=${dns%% *}
  dns=${dns%%,*}
  printf -v "HTTP_$name" '%s' "$http"
  printf -v "DNS_$name" '%s' "${dns##*:}"
}
# Two servers on the one database: plain HTTP, and HTTPS with the test certificate.
start_server PLAIN
start_server TLS --tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key"
BASE=http://$HTTP_PLAIN
TBASE=https://$HTTP_TLS

# create_host LABEL: claim LABEL.dyn.example.net with the token API.
create_host() {
  curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    -d "{\"hostname\":\"$1\"}" "$BASE/v1/hostnames" >/dev/null
}
for h in home duck inadyn inadyn2 inadyn3 acme; do create_host "$h"; done

# api_field FQDN FIELD: the hostname's field from GET /v1/hostnames/FQDN ("" for null).
api_field() {
  curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" "$BASE/v1/hostnames/$1" |
    "$PYTHON" -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$2"
}
# dns PORT NAME TYPE: dig +short against lucentd.
dns() { dig @127.0.0.1 -p "$1" "$2" "$3" +short +norec +time=2 +tries=2; }
api_is() { [ "$(api_field "$1" "$2")" = "$3" ]; }
dns_is() { [ "$(dns "$1" "$2" "$3")" = "$4" ]; }
# state FQDN PORT: one line for the log.
state() {
  echo "    state: api ipv4=$(api_field "$1" ipv4) txt=$(api_field "$1" txt); dig A=$(dns "$2" "$1" A | tr '\n' ' ')"
}

# --- 1. ddclient, protocol=dyndns2, plain HTTP ---------------------------------------------
ddclient_version=$(dpkg-query -W -f='${Version}' ddclient 2>/dev/null || echo "?")
section "1. ddclient $ddclient_version protocol=dyndns2 over HTTP ($BASE/nic/update)"
# ddclient_conf FILE IP PASSWORD
ddclient_dyndns2_conf() {
  cat >"$1" <<EOF
# written by tests/interop/run.sh
daemon=0
syslog=no
ssl=no
protocol=dyndns2
server=$HTTP_PLAIN
use=ip, ip=$2
login=interop
password=$3
home.dyn.example.net
EOF
  chmod 600 "$1"
}
run_ddclient() { # CONF CACHE OUT
  timeout 60 ddclient -foreground -daemon=0 -force -verbose -file "$1" -cache "$2" >"$3" 2>&1 || true
  show "$3"
}
H=home.dyn.example.net
ddclient_dyndns2_conf "$WORK/ddclient.conf" 192.0.2.10 "$TOKEN"
run_ddclient "$WORK/ddclient.conf" "$WORK/ddclient.cache" "$WORK/dd1.out"
check "ddclient dyndns2: server answered 'good 192.0.2.10'" has "$WORK/dd1.out" '^RECEIVE: +good 192\.0\.2\.10$'
check "ddclient dyndns2: ddclient reports success" has "$WORK/dd1.out" "^SUCCESS: +updating $H: good: IP address set to 192\.0\.2\.10"
check "ddclient dyndns2: API shows ipv4 192.0.2.10" api_is "$H" ipv4 192.0.2.10
check "ddclient dyndns2: dig A $H = 192.0.2.10" dns_is "$DNS_PLAIN" "$H" A 192.0.2.10

ddclient_dyndns2_conf "$WORK/ddclient.conf" 192.0.2.11 "$TOKEN"
run_ddclient "$WORK/ddclient.conf" "$WORK/ddclient.cache" "$WORK/dd2.out"
check "ddclient dyndns2 (changed IP): ddclient reports success" has "$WORK/dd2.out" "^SUCCESS: +updating $H: good: IP address set to 192\.0\.2\.11"
check "ddclient dyndns2 (changed IP): API shows ipv4 192.0.2.11" api_is "$H" ipv4 192.0.2.11
check "ddclient dyndns2 (changed IP): dig A = 192.0.2.11" dns_is "$DNS_PLAIN" "$H" A 192.0.2.11

run_ddclient "$WORK/ddclient.conf" "$WORK/ddclient.cache" "$WORK/dd3.out"
check "ddclient dyndns2 (same IP, -force): server answered 'nochg 192.0.2.11'" has "$WORK/dd3.out" '^RECEIVE: +nochg 192\.0\.2\.11$'
check "ddclient dyndns2 (same IP): ddclient does not report a failure" hasnt "$WORK/dd3.out" '^FAILED:'

ddclient_dyndns2_conf "$WORK/ddclient-bad.conf" 192.0.2.99 "not-the-token"
run_ddclient "$WORK/ddclient-bad.conf" "$WORK/ddclient-bad.cache" "$WORK/dd4.out"
check "ddclient dyndns2 (wrong password): ddclient reports a failure" has "$WORK/dd4.out" '^FAILED:'
check "ddclient dyndns2 (wrong password): record unchanged" dns_is "$DNS_PLAIN" "$H" A 192.0.2.11

# --- 2. ddclient, protocol=duckdns, HTTPS ---------------------------------------------------
section "2. ddclient $ddclient_version protocol=duckdns over HTTPS ($TBASE/update, test CA)"
H=duck.dyn.example.net
cat >"$WORK/ddclient-duck.conf" <<EOF
# written by tests/interop/run.sh
daemon=0
syslog=no
ssl=yes
ssl_ca_file=$CA
protocol=duckdns
server=$HTTP_TLS
use=ip, ip=192.0.2.20
password=$TOKEN
$H
EOF
chmod 600 "$WORK/ddclient-duck.conf"
run_ddclient "$WORK/ddclient-duck.conf" "$WORK/ddclient-duck.cache" "$WORK/dd5.out"
check "ddclient duckdns: connected with TLS" has "$WORK/dd5.out" '^CONNECTED: +using SSL'
check "ddclient duckdns: server answered OK" has "$WORK/dd5.out" '^RECEIVE: +OK$'
check "ddclient duckdns: ddclient reports success" has "$WORK/dd5.out" "^SUCCESS: +updating $H: good: IP address set to 192\.0\.2\.20"
check "ddclient duckdns: API shows ipv4 192.0.2.20" api_is "$H" ipv4 192.0.2.20
check "ddclient duckdns: dig A $H = 192.0.2.20 (HTTPS server's DNS)" dns_is "$DNS_TLS" "$H" A 192.0.2.20

# --- 3. inadyn, custom providers ------------------------------------------------------------
inadyn_version=$(inadyn --version 2>/dev/null | head -n1 || echo "?")
section "3. inadyn $inadyn_version custom providers"
# run_inadyn NAME: runs CONF $WORK/NAME.conf once, output in $WORK/NAME.out.
run_inadyn() {
  mkdir -p "$WORK/$1.cache"
  timeout 60 inadyn -1 --force -n -l debug -f "$WORK/$1.conf" --cache-dir "$WORK/$1.cache" \
    -P "$WORK/$1.pid" >"$WORK/$1.out" 2>&1 || echo "(inadyn exit status $?)" >>"$WORK/$1.out"
  show "$WORK/$1.out"
}
H=inadyn.dyn.example.net
cat >"$WORK/inadyn-duck.conf" <<EOF
# written by tests/interop/run.sh: DuckDNS-style custom update path
period = 300
custom lucent-duckdns {
    ssl            = false
    ddns-server    = "$HTTP_PLAIN"
    ddns-path      = "/update?domains=%h&token=%p&ip=%i"
    username       = "interop"
    password       = "$TOKEN"
    hostname       = "$H"
    checkip-command = "echo 192.0.2.30"
}
EOF
echo "-- DuckDNS path, HTTP"
run_inadyn inadyn-duck
check "inadyn custom (DuckDNS path): server answered OK" has "$WORK/inadyn-duck.out" '^OK$'
check "inadyn custom (DuckDNS path): inadyn reports success" has "$WORK/inadyn-duck.out" "Successful alias table update for $H => new IP# 192\.0\.2\.30"
check "inadyn custom (DuckDNS path): API shows ipv4 192.0.2.30" api_is "$H" ipv4 192.0.2.30
check "inadyn custom (DuckDNS path): dig A $H = 192.0.2.30" dns_is "$DNS_PLAIN" "$H" A 192.0.2.30

H=inadyn2.dyn.example.net
cat >"$WORK/inadyn-dyndns2.conf" <<EOF
# written by tests/interop/run.sh: dyndns2 path with Basic auth
period = 300
custom lucent-dyndns2 {
    ssl            = false
    ddns-server    = "$HTTP_PLAIN"
    ddns-path      = "/nic/update?hostname=%h&myip=%i"
    username       = "interop"
    password       = "$TOKEN"
    hostname       = "$H"
    checkip-command = "echo 192.0.2.31"
}
EOF
echo "-- dyndns2 path, HTTP"
run_inadyn inadyn-dyndns2
check "inadyn custom (dyndns2 path): server answered 'good 192.0.2.31'" has "$WORK/inadyn-dyndns2.out" '^good 192\.0\.2\.31$'
check "inadyn custom (dyndns2 path): inadyn reports success" has "$WORK/inadyn-dyndns2.out" "Successful alias table update for $H => new IP# 192\.0\.2\.31"
check "inadyn custom (dyndns2 path): API shows ipv4 192.0.2.31" api_is "$H" ipv4 192.0.2.31
check "inadyn custom (dyndns2 path): dig A $H = 192.0.2.31" dns_is "$DNS_PLAIN" "$H" A 192.0.2.31

H=inadyn3.dyn.example.net
cat >"$WORK/inadyn-tls.conf" <<EOF
# written by tests/interop/run.sh: DuckDNS-style path over HTTPS, test CA
period = 300
ca-trust-file = "$CA"
custom lucent-https {
    ssl            = true
    ddns-server    = "$HTTP_TLS"
    ddns-path      = "/update?domains=%h&token=%p&ip=%i"
    username       = "interop"
    password       = "$TOKEN"
    hostname       = "$H"
    checkip-command = "echo 192.0.2.32"
}
EOF
echo "-- DuckDNS path, HTTPS"
run_inadyn inadyn-tls
check "inadyn custom (HTTPS): inadyn reports success" has "$WORK/inadyn-tls.out" "Successful alias table update for $H => new IP# 192\.0\.2\.32"
check "inadyn custom (HTTPS): API shows ipv4 192.0.2.32" api_is "$H" ipv4 192.0.2.32
check "inadyn custom (HTTPS): dig A $H = 192.0.2.32 (HTTPS server's DNS)" dns_is "$DNS_TLS" "$H" A 192.0.2.32

# --- 4. ACME DNS-01 TXT through /update, as acme.sh and lego send it -----------------------
section "4. ACME TXT set/clear through /update (acme.sh dns_duckdns, lego duckdns requests)"
H=acme.dyn.example.net
curl -fsS -m 10 "$BASE/update?domains=$H&token=$TOKEN&ip=192.0.2.40" >/dev/null
# body URL: the exact body, or "HTTP <code>" when the status is not 200.
body() {
  local out code
  out=$(curl -sS -m 10 -o "$WORK/body" -w '%{http_code}' "$1") || { echo "curl failed"; return; }
  code=$out
  if [ "$code" != 200 ]; then echo "HTTP $code: $(cat "$WORK/body")"; else cat "$WORK/body"; fi
}
# txt_step WHAT URL EXPECTED_DIG: body must be exactly OK; dig TXT _acme-challenge.$H then.
txt_step() {
  local got
  got=$(body "$2")
  echo "    GET ${2/$TOKEN/TOKEN} -> '$got'"
  check "$1: body is exactly OK" [ "$got" = OK ]
  check "$1: dig TXT _acme-challenge.$H = ${3:-(nothing)}" dns_is "$DNS_PLAIN" "_acme-challenge.$H" TXT "$3"
}
V1=acmesh-Xy9_kq3Jv0dVw1c8Ll1n2bEo7HvM4sTq-6QWzRtY0aB
V2=lego-k2Jd8s0Pq9Wm3Vx7Yz1Ab4Cd6Ef8Gh0Ij2Kl4Mn6Op8Q
# acme.sh dns_duckdns: add `domains=LABEL&token&txt`, remove `txt=&clear=true`.
txt_step "acme.sh add (domains=acme)" "$BASE/update?domains=acme&token=$TOKEN&txt=$V1" "\"$V1\""
check "acme.sh add: API shows the TXT value" api_is "$H" txt "$V1"
txt_step "acme.sh remove (txt=&clear=true)" "$BASE/update?domains=acme&token=$TOKEN&txt=&clear=true" ""
check "acme.sh remove: API shows no TXT" api_is "$H" txt ""
check "acme.sh remove: the A record is kept" dns_is "$DNS_PLAIN" "$H" A 192.0.2.40
# lego duckdns: keys sorted, `clear=false&domains&token&txt`, cleanup `clear=true&...&txt=`.
txt_step "lego present (clear=false)" "$BASE/update?clear=false&domains=$H&token=$TOKEN&txt=$V2" "\"$V2\""
check "lego present: API shows the TXT value" api_is "$H" txt "$V2"
txt_step "lego cleanup (clear=true&txt=)" "$BASE/update?clear=true&domains=$H&token=$TOKEN&txt=" ""
check "lego cleanup: the A record is kept" dns_is "$DNS_PLAIN" "$H" A 192.0.2.40
# The same over HTTPS (what both tools need once www.duckdns.org is mapped to the server).
got=$(curl -sS -m 10 --cacert "$CA" "$TBASE/update?domains=acme&token=$TOKEN&txt=$V1" || true)
check "acme.sh add over HTTPS: body is exactly OK" [ "$got" = OK ]
check "acme.sh add over HTTPS: dig TXT shows it (HTTPS server's DNS)" dns_is "$DNS_TLS" "_acme-challenge.$H" TXT "\"$V1\""
got=$(curl -sS -m 10 --cacert "$CA" "$TBASE/update?domains=acme&token=$TOKEN&txt=&clear=true" || true)
check "acme.sh remove over HTTPS: body is exactly OK" [ "$got" = OK ]
check "acme.sh remove over HTTPS: dig TXT empty" dns_is "$DNS_TLS" "_acme-challenge.$H" TXT ""
got=$(body "$BASE/update?domains=acme&token=wrong-token&txt=x")
check "wrong token: body is KO (no 'OK' substring)" [ "${got##*: }" = KO ]

# --- 5. dns-lexicon luadns provider against the LuaDNS-style API --------------------------
section "5. dns-lexicon luadns provider ($BASE/v1)"
lexicon() {
  timeout 60 "$PYTHON" "$HERE/lexicon_luadns.py" "$BASE/v1" a@example.org "$APIKEY" example.org "$@" \
    >"$WORK/lexicon.out" 2>&1
}
lexicon_step() { # WHAT ARGS...
  local what=$1
  shift
  if lexicon "$@"; then pass "$what"; else fail "$what"; fi
  show "$WORK/lexicon.out"
}
# api_txt: the TXT contents of _acme-challenge.example.org. in the zone, via the API (sorted).
api_txt() {
  local zid
  zid=$(curl -fsS -m 10 -u "a@example.org:$APIKEY" -H 'Accept: application/json' "$BASE/v1/zones" |
    "$PYTHON" -c 'import json,sys; print(next(z["id"] for z in json.load(sys.stdin) if z["name"]=="example.org"))')
  curl -fsS -m 10 -u "a@example.org:$APIKEY" -H 'Accept: application/json' "$BASE/v1/zones/$zid/records" |
    "$PYTHON" -c 'import json,sys
print(" ".join(sorted(r["content"] for r in json.load(sys.stdin) if r["type"]=="TXT" and r["name"]=="_acme-challenge.example.org.")))'
}
api_txt_is() { [ "$(api_txt)" = "$1" ]; }
dig_txt_is() { [ "$(dns "$DNS_PLAIN" _acme-challenge.example.org TXT | sort | tr '\n' ' ' | sed 's/ $//')" = "$1" ]; }
L1=lexicon-apex-7Yq2Lr0Nc5Vb8Xz1
L2=lexicon-wild-3Hd6Mk9Pt2Ws4Fg7
lexicon_step "lexicon luadns: authenticate (zone lookup by GET /v1/zones)" auth
lexicon_step "lexicon luadns: create TXT _acme-challenge = $L1" create _acme-challenge "$L1"
check "lexicon create: API lists the record" api_txt_is "$L1"
check "lexicon create: dig TXT _acme-challenge.example.org shows it" dig_txt_is "\"$L1\""
lexicon_step "lexicon luadns: create again (no duplicate)" create _acme-challenge "$L1"
check "lexicon create again: still one record" api_txt_is "$L1"
lexicon_step "lexicon luadns: create second TXT at the same name = $L2" create _acme-challenge "$L2"
check "lexicon second value: API lists both" api_txt_is "$L1 $L2"
check "lexicon second value: dig shows both" dig_txt_is "\"$L1\" \"$L2\""
lexicon_step "lexicon luadns: list TXT _acme-challenge" list _acme-challenge
check "lexicon list: both values listed" has "$WORK/lexicon.out" "^TXT _acme-challenge\.example\.org $L1\$"
check "lexicon list: second value listed" has "$WORK/lexicon.out" "^TXT _acme-challenge\.example\.org $L2\$"
lexicon_step "lexicon luadns: delete TXT _acme-challenge = $L1" delete _acme-challenge "$L1"
check "lexicon delete one: API keeps only the other" api_txt_is "$L2"
check "lexicon delete one: dig shows only the other" dig_txt_is "\"$L2\""
lexicon_step "lexicon luadns: delete TXT _acme-challenge = $L2" delete _acme-challenge "$L2"
check "lexicon delete: API lists no TXT at the name" api_txt_is ""
check "lexicon delete: dig TXT _acme-challenge.example.org empty" dig_txt_is ""
if "$PYTHON" "$HERE/lexicon_luadns.py" "$BASE/v1" a@example.org wrong-key example.org auth >"$WORK/lexicon.out" 2>&1; then
  fail "lexicon with a wrong API key fails"
else
  pass "lexicon with a wrong API key fails"
fi
show "$WORK/lexicon.out"

# --- 6. lucent-agent over HTTPS -----------------------------------------------------------
# Our agent's rustls client (its own ring-based provider) against lucentd's rustls listener
# with the test CA's ECDSA P-256 certificate: echo and update both over TLS.
section "6. lucent-agent over HTTPS ($TBASE, test CA)"
H=agent-tls.dyn.example.net
create_host agent-tls
# agent_conf NAME [EXTRA]: a config for $H against the HTTPS server, state in $WORK/NAME.state.
agent_conf() {
  cat >"$WORK/$1.toml" <<EOF
server = "$TBASE"
token = "$TOKEN"
hostnames = ["$H"]
state_file = "$WORK/$1.state"
$2
[ipv4]
source = "http"
allow_private = true
[ipv6]
source = "off"
EOF
}
agent_conf agent-tls "ca_file = \"$CA\""
if "$AGENT" --config "$WORK/agent-tls.toml" --once -v >"$WORK/agent-tls.out" 2>&1; then
  pass "lucent-agent HTTPS with ca_file: exits 0"
else
  fail "lucent-agent HTTPS with ca_file: exits 0"
fi
show "$WORK/agent-tls.out"
check "lucent-agent HTTPS: API shows ipv4 127.0.0.1 (echoed over TLS)" api_is "$H" ipv4 127.0.0.1
check "lucent-agent HTTPS: dig A $H = 127.0.0.1 (HTTPS server's DNS)" dns_is "$DNS_TLS" "$H" A 127.0.0.1
# Without the test CA the system roots do not vouch for the server: a clear failure, no push.
agent_conf agent-notrust ""
if "$AGENT" --config "$WORK/agent-notrust.toml" --once >"$WORK/agent-notrust.out" 2>&1; then
  fail "lucent-agent HTTPS without the CA: refuses the certificate"
else
  check "lucent-agent HTTPS without the CA: refuses the certificate" has "$WORK/agent-notrust.out" '[Cc]ertificate|[Ii]ssuer'
fi
show "$WORK/agent-notrust.out"

# --- summary -------------------------------------------------------------------------------
echo
echo "took $(($(date +%s) - START)) s"
if [ "$FAILED" -gt 0 ]; then
  for f in PLAIN TLS; do
    echo "--- lucentd $f log (last 30 lines)"
    tail -n 30 "$WORK/$f.log" || true
  done
fi
echo "interop: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
