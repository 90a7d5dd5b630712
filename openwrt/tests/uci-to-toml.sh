#!/bin/sh
# Tests the UCI -> TOML glue of openwrt/lucent-drift/files/lucent-agent.init off the router:
# OpenWrt's config_* functions are replaced by stubs fed from shell variables, the init
# script's functions are sourced, write_config runs, and Python's tomllib parses the result
# (so quoting mistakes show up as TOML errors). Run with dash, the closest to busybox ash
# on Debian: `dash openwrt/tests/uci-to-toml.sh`. Needs python3 >= 3.11.
# The UCI_* variables are read by the stubs through eval, which shellcheck cannot follow:
# shellcheck disable=SC2034
# The sourced init script is found relative to this file:
# shellcheck source-path=SCRIPTDIR
set -eu

here=$(cd "$(dirname "$0")" && pwd)
init=$here/../lucent-drift/files/lucent-agent.init
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# --- stubs for /lib/functions.sh: UCI option X of section main is $UCI_X, list X is $UCILIST_X
config_load() { :; }
config_get() {
	eval "_val=\${UCI_$3:-}"
	# shellcheck disable=SC2154 # _val is assigned by the eval above
	[ -n "$_val" ] || _val=${4:-}
	eval "$1=\$_val"
}
# Called by the sourced init script, not here:
# shellcheck disable=SC2317
config_get_bool() {
	config_get "$1" "$2" "$3" "${4:-0}"
	eval "_b=\$$1"
	# shellcheck disable=SC2154 # _b is assigned by the eval above
	case "$_b" in 1|on|true|yes|enabled) eval "$1=1" ;; *) eval "$1=0" ;; esac
}
config_list_foreach() {
	eval "_list=\${UCILIST_$2:-}"
	# shellcheck disable=SC2154 # _list is assigned by the eval above
	for _item in $_list; do "$3" "$_item"; done
}

# The init script only defines variables and functions until rc.common runs it.
# shellcheck source=../lucent-drift/files/lucent-agent.init
. "$init"
CONF=$tmp/lucent-agent.toml
STATE_DIR=$tmp/state

reset_uci() {
	unset UCI_server UCI_token UCI_token_file UCI_protocol UCI_interval \
		UCI_ipv4_source UCI_ipv4_url UCI_ipv4_interface \
		UCI_ipv6_source UCI_ipv6_url UCI_ipv6_interface UCILIST_hostname \
		UCI_ipv6prefix_source UCI_ipv6prefix_interface
	rm -f "$CONF"
}

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1" >&2; failed=1; }

# check NAME PYTHON-ASSERTIONS: parse $CONF and evaluate assertions over `c`.
check() {
	if python3 - "$CONF" "$2" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    c = tomllib.load(f)
exec(sys.argv[2])
PY
	then ok "$1"; else bad "$1"; cat "$CONF" >&2; fi
}

# 1. a full config, with a token that needs escaping
reset_uci
UCI_server=https://ddns.example.net
UCI_token='ab"c\d'
UCILIST_hostname='home.dyn.example.net nas'
UCI_interval=120
UCI_ipv4_source=http
UCI_ipv4_url=https://ip.example.net/ip
UCI_ipv6_source=interface
UCI_ipv6_interface=eth1
if write_config; then
	check "full config parses with the right values" '
assert c["server"] == "https://ddns.example.net", c
assert c["token"] == "ab\"c\\d", c["token"]
assert "token_file" not in c
assert c["hostnames"] == ["home.dyn.example.net", "nas"], c
assert c["protocol"] == "lucent" and c["interval"] == 120, c
assert c["state_file"].endswith("/state.json"), c
assert c["ipv4"] == {"source": "http", "url": "https://ip.example.net/ip"}, c
assert c["ipv6"] == {"source": "interface", "interface": "eth1"}, c
'
	mode=$(stat -c %a "$CONF")
	if [ "$mode" = 600 ]; then ok "config written 0600"; else bad "config mode is $mode, not 600"; fi
else
	bad "write_config failed on a full config"
fi

# 2. token_file and defaults (ipv4/ipv6 from http, protocol lucent, interval 300)
reset_uci
UCI_server=http://10.0.0.1:8080
UCI_token_file=/etc/lucent-agent.token
UCILIST_hostname=router
if write_config; then
	check "defaults" '
assert c["token_file"] == "/etc/lucent-agent.token" and "token" not in c, c
assert c["interval"] == 300 and c["protocol"] == "lucent", c
assert c["ipv4"] == {"source": "http"} and c["ipv6"] == {"source": "http"}, c
assert "ipv6prefix" not in c, c
'
else
	bad "write_config failed on a minimal config"
fi

# 2b. the LAN prefix (issue #18): on, with the default interface and with a named one
reset_uci
UCI_server=http://10.0.0.1:8080
UCI_token=t
UCILIST_hostname=router
UCI_ipv6prefix_source=interface
if write_config; then
	check "ipv6prefix on, default interface" '
assert c["ipv6prefix"] == {"source": "interface", "interface": "lan"}, c
'
else
	bad "write_config failed with ipv6prefix_source interface"
fi
UCI_ipv6prefix_interface=br-lan
if write_config; then
	check "ipv6prefix on, named interface" '
assert c["ipv6prefix"] == {"source": "interface", "interface": "br-lan"}, c
'
else
	bad "write_config failed with ipv6prefix_interface"
fi
UCI_ipv6prefix_source=off
if write_config; then
	check "ipv6prefix off" '
assert "ipv6prefix" not in c, c
'
else
	bad "write_config failed with ipv6prefix_source off"
fi

# 3. configs the agent could not use are refused and leave no file behind
refused() {
	if write_config 2>/dev/null; then bad "$1: accepted"; elif [ -e "$CONF" ] || [ -e "$CONF.tmp" ]; then bad "$1: left a file"; else ok "$1: refused"; fi
}
reset_uci; UCILIST_hostname=a; refused "no server"
reset_uci; UCI_server=http://x; refused "no hostname"
reset_uci; UCI_server=http://x; UCILIST_hostname=a; UCI_token=t; UCI_token_file=/f; refused "token and token_file"
reset_uci; UCI_server=http://x; UCILIST_hostname=a; UCI_interval=5m; refused "interval not in seconds"
reset_uci; UCI_server=http://x; UCILIST_hostname=a; UCI_ipv6_source=dns; refused "unknown source"
reset_uci; UCI_server=http://x; UCILIST_hostname=a; UCI_ipv4_source=interface; refused "interface source without interface"
reset_uci; UCI_server=http://x; UCILIST_hostname=a; UCI_ipv6prefix_source=http; refused "ipv6prefix source http"

exit "$failed"
