#!/usr/bin/env bash
# Packaging checks for Lucent Drift. Run from anywhere after
#   cargo build --release --workspace --bins
# It builds both .debs (packaging/build-deb.sh), checks their contents and control data,
# unpacks them into a throw-away root and runs `systemd-analyze verify` there (so ExecStart=
# points at the packaged binaries, not at stubs), requires `systemd-analyze security
# --offline=true` exposure <= 2.5 for the shipped services, tests the OpenWrt UCI -> TOML
# glue (openwrt/tests/uci-to-toml.sh), and runs shellcheck on every shell script in the
# repository (found by shebang, .sh suffix or `# shellcheck shell=` directive).
#
# Installs what it needs with apt-get when missing (systemd, shellcheck, dpkg-dev, dash,
# python3).
# Exits non-zero if any check failed, after running all of them and listing the failures.
#
# Environment: BIN_DIR (default target/release), MAX_EXPOSURE (default 2.5).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bin_dir=${BIN_DIR:-target/release}
max_exposure=${MAX_EXPOSURE:-2.5}

failures=()
fail() { echo "FAIL: $*" >&2; failures+=("$*"); }
step() { printf '\n== %s\n' "$*"; }

# ---- prerequisites -----------------------------------------------------------------------------
for b in lucentd lucent-agent; do
    if [ ! -x "$bin_dir/$b" ]; then
        echo "packaging.sh: $bin_dir/$b is missing; run 'cargo build --release --workspace --bins' first" >&2
        exit 2
    fi
done

step "tools"
missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
command -v readelf >/dev/null || missing+=(binutils)
command -v dash >/dev/null || missing+=(dash)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
systemd_version=$(systemd-analyze --version | awk 'NR == 1 { print $2 }')
echo "systemd $systemd_version, $(shellcheck --version | sed -n 's/^version: /shellcheck /p'), $(dpkg-deb --version | head -n1)"
if [ "${systemd_version%%.*}" -lt 252 ]; then
    echo "packaging.sh: systemd-analyze security --offline needs systemd >= 252" >&2
    exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- build -------------------------------------------------------------------------------------
step "build .debs"
out=$work/debs
if ! packaging/build-deb.sh --bin-dir "$bin_dir" --out "$out"; then
    fail "packaging/build-deb.sh failed"
    # Nothing below can run without the packages, except shellcheck.
fi

deb_of() { local f; f=$(find "$out" -maxdepth 1 -name "$1_*.deb" 2>/dev/null | head -n1); echo "$f"; }

# ---- contents ----------------------------------------------------------------------------------
# check_deb NAME "conffile..." "path-in-package..."
check_deb() {
    local name=$1 conffiles=$2 paths=$3 deb ctrl listing p s
    deb=$(deb_of "$name")
    if [ -z "$deb" ]; then fail "$name: no .deb built"; return; fi
    echo "-- $(basename "$deb")"
    dpkg-deb -I "$deb" | sed 's/^/   /'
    listing=$(dpkg-deb -c "$deb")
    printf '%s\n' "$listing" | awk '{ print "   " $1, $2, $6 }'

    for p in $paths; do
        grep -q " \./${p#/}\$" <<<"$listing" || fail "$name: $p missing from the package"
    done
    grep -Eq '^-rwxr-xr-x root/root .* \./usr/bin/'"$name"'$' <<<"$listing" \
        || fail "$name: /usr/bin/$name is not root-owned 0755"
    # The config may hold secrets: never world-readable in the package.
    if grep -E ' \./etc/.*[^/]$' <<<"$listing" | grep -qv '^-rw-r----- root/root'; then
        fail "$name: a file under /etc is not root:root 0640"
    fi

    ctrl=$work/ctrl-$name
    dpkg-deb -e "$deb" "$ctrl"
    if [ "$(sort "$ctrl/conffiles")" != "$(tr ' ' '\n' <<<"$conffiles" | sort)" ]; then
        fail "$name: DEBIAN/conffiles is [$(tr '\n' ' ' <"$ctrl/conffiles")], expected [$conffiles]"
    fi
    for s in postinst prerm postrm; do
        [ -x "$ctrl/$s" ] || fail "$name: maintainer script $s missing or not executable"
    done
    for field in Package Version Architecture Maintainer Depends Description; do
        [ -n "$(dpkg-deb -f "$deb" "$field")" ] || fail "$name: control field $field empty"
    done
    dpkg-deb -f "$deb" Depends | grep -q adduser || fail "$name: Depends lacks adduser (postinst uses it)"
}

if [ -d "$out" ]; then
    step "package contents"
    check_deb lucentd "/etc/lucent/lucentd.toml" \
        "/usr/bin/lucentd /usr/lib/systemd/system/lucentd.service
         /usr/lib/systemd/system/lucentd-backup.service /usr/lib/systemd/system/lucentd-backup.timer
         /etc/lucent/lucentd.toml /usr/share/doc/lucentd/install.md"
    check_deb lucent-agent "/etc/lucent/agent.toml" \
        "/usr/bin/lucent-agent /usr/lib/systemd/system/lucent-agent.service
         /usr/lib/systemd/system/lucent-agent-once.service /usr/lib/systemd/system/lucent-agent-once.timer
         /etc/lucent/agent.toml /usr/share/doc/lucent-agent/install.md"
fi

# ---- throw-away root ---------------------------------------------------------------------------
# The packages are unpacked (dpkg -x: files only, no maintainer scripts) over a copy of the
# host's systemd unit directory, so that verify finds sysinit.target, network-online.target, ...
# The helpers the units call besides our binaries (/bin/sh, /bin/kill, /usr/bin/find) are
# copies of the host's. The root has the merged-/usr layout of Debian 12.
root=$work/root
units=()
if [ -n "$(deb_of lucentd)" ] && [ -n "$(deb_of lucent-agent)" ]; then
    step "unpack into $root"
    mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib/systemd/system" "$root/etc/systemd/system"
    ln -s usr/bin "$root/bin"
    ln -s usr/sbin "$root/sbin"
    ln -s usr/lib "$root/lib"
    for d in /usr/lib/systemd/system /lib/systemd/system; do
        if [ -d "$d" ]; then cp -rn "$d/." "$root/usr/lib/systemd/system/"; fi
    done
    cp "$(readlink -f /bin/sh)" "$root/usr/bin/sh"
    cp "$(readlink -f /bin/kill)" "$root/usr/bin/kill"
    cp "$(readlink -f /usr/bin/find)" "$root/usr/bin/find"
    for deb in "$(deb_of lucentd)" "$(deb_of lucent-agent)"; do
        dpkg -x "$deb" "$root"
    done
    ls -l "$root/usr/bin/lucentd" "$root/usr/bin/lucent-agent"
    for f in "$repo"/systemd/*.service "$repo"/systemd/*.timer; do
        u=$(basename "$f")
        if [ -f "$root/usr/lib/systemd/system/$u" ]; then
            units+=("$u")
        else
            fail "systemd/$u is in the repository but in neither package"
        fi
    done
fi

# ---- systemd-analyze verify --------------------------------------------------------------------
if [ ${#units[@]} -gt 0 ]; then
    step "systemd-analyze verify --root (${units[*]})"
    # verify exits 0 on mere warnings (unknown keys, ...), so any output about our units fails too.
    paths=()
    for u in "${units[@]}"; do paths+=("$root/usr/lib/systemd/system/$u"); done
    rc=0
    vout=$(systemd-analyze verify --root="$root" "${paths[@]}" 2>&1) || rc=$?
    printf '%s\n' "${vout:-(no output)}"
    [ "$rc" -eq 0 ] || fail "systemd-analyze verify exited $rc"
    if grep -q 'lucent' <<<"$vout"; then fail "systemd-analyze verify reported problems with our units"; fi

    # The check must be able to fail: without the binary, verify has to complain.
    mv "$root/usr/bin/lucentd" "$root/usr/bin/lucentd.away"
    if systemd-analyze verify --root="$root" "$root/usr/lib/systemd/system/lucentd.service" >/dev/null 2>&1; then
        fail "self-test: systemd-analyze verify passed with /usr/bin/lucentd absent from the root"
    else
        echo "self-test: verify rejects lucentd.service when /usr/bin/lucentd is absent (good)"
    fi
    mv "$root/usr/bin/lucentd.away" "$root/usr/bin/lucentd"

# ---- systemd-analyze security ------------------------------------------------------------------
    step "systemd-analyze security --offline=true (max exposure $max_exposure)"
    for u in "${units[@]}"; do
        case $u in *.service) ;; *) continue ;; esac
        sout=$(systemd-analyze security --offline=true --root="$root" \
            "$root/usr/lib/systemd/system/$u" 2>&1) || true
        if [ "$u" = lucentd.service ]; then
            # The full table for the server, the one with a capability and the network.
            printf '%s\n' "$sout" | grep -v '^✓' || true
        fi
        level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$sout" | tail -n1)
        if [ -z "$level" ]; then
            printf '%s\n' "$sout"
            fail "$u: no 'Overall exposure level' in systemd-analyze security output"
            continue
        fi
        echo "$u: exposure $level"
        if awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l > m) }'; then
            fail "$u: exposure $level > $max_exposure"
        fi
    done
fi

# ---- OpenWrt UCI -> TOML glue ------------------------------------------------------------------
step "openwrt: UCI -> TOML glue (openwrt/tests/uci-to-toml.sh under dash)"
if ! python3 -c 'import tomllib' 2>/dev/null; then
    fail "openwrt/tests/uci-to-toml.sh needs python3 >= 3.11 (tomllib)"
elif ! dash openwrt/tests/uci-to-toml.sh; then
    fail "openwrt/tests/uci-to-toml.sh"
fi

# ---- shellcheck --------------------------------------------------------------------------------
step "shellcheck"
scripts=()
while IFS= read -r -d '' f; do
    case $f in target/*|*/target/*|.git/*) continue ;; esac
    [ -f "$f" ] || continue
    first=$(head -n1 "$f" 2>/dev/null | tr -d '\0')
    if [[ $f == *.sh ]] \
        || [[ $first =~ ^\#!.*(/|env[[:space:]]+)(sh|bash|dash|ash)([[:space:]]|$) ]] \
        || grep -q '^# shellcheck shell=' "$f" 2>/dev/null; then
        scripts+=("$f")
    fi
done < <(git ls-files -z --cached --others --exclude-standard)
# The maintainer scripts as packaged, too.
for d in "$work"/ctrl-*; do
    [ -d "$d" ] || continue
    for s in postinst prerm postrm preinst config; do
        [ -f "$d/$s" ] && scripts+=("$d/$s")
    done
done
printf '   %s\n' "${scripts[@]#"$work"/}"
if [ ${#scripts[@]} -eq 0 ]; then
    fail "shellcheck: no shell scripts found (the search is broken)"
elif shellcheck --external-sources "${scripts[@]}"; then
    echo "shellcheck: ${#scripts[@]} scripts clean"
else
    fail "shellcheck reported problems"
fi

# ---- result ------------------------------------------------------------------------------------
echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "packaging checks FAILED (${#failures[@]}):" >&2
    printf '  - %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "packaging checks passed"
