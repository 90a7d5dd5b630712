#!/usr/bin/env bash
# Build the two Debian packages of Lucent Drift with plain dpkg-deb (no debhelper, no
# cargo-deb): lucentd_<ver>_<arch>.deb and lucent-agent_<ver>_<arch>.deb.
#
# Input: binaries already built (default target/release/, i.e. `cargo build --release`).
# The version comes from `[workspace.package] version` in the root Cargo.toml. Run from
# anywhere; paths are relative to the repository root.
#
#   packaging/build-deb.sh [--bin-dir DIR] [--out DIR] [--arch DEBARCH]
#
#   --bin-dir DIR  where lucentd and lucent-agent are (default target/release; for a cross
#                  build e.g. target/aarch64-unknown-linux-musl/release)
#   --out DIR      where the .debs go (default target/debian)
#   --arch ARCH    Debian architecture (default: `dpkg --print-architecture`; give it for
#                  cross builds: arm64, armhf, mipsel, ...)
# Environment: DEB_MAINTAINER overrides the Maintainer field.
#
# Library dependencies: a statically linked binary (musl) gets none; a dynamically linked one
# gets what dpkg-shlibdeps (package dpkg-dev) computes, which needs the target's libraries
# installed, so for cross builds use the static musl targets (packaging/README.md).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=target/release
out_dir=target/debian
arch=
maintainer=${DEB_MAINTAINER:-Lucent Drift maintainers <lucent-drift@example.invalid>}

die() { echo "build-deb: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        --bin-dir) bin_dir=${2:?--bin-dir needs a value}; shift 2 ;;
        --out) out_dir=${2:?--out needs a value}; shift 2 ;;
        --arch) arch=${2:?--arch needs a value}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

cd "$repo"
case $bin_dir in /*) ;; *) bin_dir=$repo/$bin_dir ;; esac
case $out_dir in /*) ;; *) out_dir=$repo/$out_dir ;; esac

command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg)"
[ -n "$arch" ] || arch=$(dpkg --print-architecture)

for b in lucentd lucent-agent; do
    [ -x "$bin_dir/$b" ] || die "missing $bin_dir/$b: run 'cargo build --release --workspace --bins' first"
done

# `version = "x.y.z"` inside [workspace.package], nowhere else.
version=$(awk '
    /^\[/ { in_pkg = ($0 ~ /^\[workspace\.package\][[:space:]]*$/) ; next }
    in_pkg && /^[[:space:]]*version[[:space:]]*=/ {
        sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print; exit
    }' Cargo.toml)
[ -n "$version" ] || die "no version in [workspace.package] of Cargo.toml"
# SemVer pre-releases (1.2.0-rc.1) must sort before the release in Debian: 1.2.0~rc.1.
deb_version=${version/-/\~}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out_dir"

# Depends for the shared libraries a binary links, empty for a static binary.
shlib_depends() {
    local bin=$1 dir
    if ! LC_ALL=C readelf -d "$bin" 2>/dev/null | grep -q '(NEEDED)'; then
        return 0
    fi
    command -v dpkg-shlibdeps >/dev/null \
        || die "$bin is dynamically linked and dpkg-shlibdeps is missing (apt-get install dpkg-dev)"
    # dpkg-shlibdeps wants to run inside a source package: give it a minimal one.
    dir=$work/shlibdeps
    mkdir -p "$dir/debian"
    printf 'Source: lucent-drift\n\nPackage: lucent-drift\nArchitecture: any\n' >"$dir/debian/control"
    (cd "$dir" && dpkg-shlibdeps -O -e"$bin" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

# build_pkg NAME SUMMARY DESCRIPTION
# Expects the staged tree in $work/NAME (without DEBIAN/) and fills in DEBIAN/.
build_pkg() {
    local name=$1 summary=$2 description=$3 root=$work/$1 depends libs
    depends=adduser
    libs=$(shlib_depends "$root/usr/bin/$name")
    [ -z "$libs" ] || depends="$libs, $depends"

    mkdir -p "$root/DEBIAN"
    {
        echo "Package: $name"
        echo "Version: $deb_version"
        echo "Architecture: $arch"
        echo "Maintainer: $maintainer"
        echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
        echo "Depends: $depends"
        echo "Section: net"
        echo "Priority: optional"
        echo "Description: $summary"
        # Extended description: every line indented by one space, empty lines as " .".
        printf '%s\n' "$description" | sed 's/^$/./; s/^/ /'
    } >"$root/DEBIAN/control"

    (cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
    for s in postinst prerm postrm; do
        install -m 0755 "packaging/deb/$name.$s" "$root/DEBIAN/$s"
    done
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort \
        | xargs md5sum) >"$root/DEBIAN/md5sums"

    dpkg-deb --root-owner-group -Zxz --build "$root" \
        "$out_dir/${name}_${deb_version}_${arch}.deb" >/dev/null
    echo "$out_dir/${name}_${deb_version}_${arch}.deb"
}

# Files common to both: documentation and licence note.
stage_docs() {
    local root=$1 name=$2 example=$3
    install -d "$root/usr/share/doc/$name"
    install -m 0644 docs/install.md "$root/usr/share/doc/$name/install.md"
    # The annotated sample config, once the crate ships it.
    if [ -f "$example" ]; then
        install -m 0644 "$example" "$root/usr/share/doc/$name/example.toml"
    fi
    printf '%s\n' \
        "Lucent Drift ($name)" \
        "License: MIT OR Apache-2.0" \
        >"$root/usr/share/doc/$name/copyright"
    chmod 0644 "$root/usr/share/doc/$name/copyright"
}

umask 022

# ---- lucentd -------------------------------------------------------------------------------
r=$work/lucentd
install -D -m 0755 "$bin_dir/lucentd" "$r/usr/bin/lucentd"
for u in lucentd.service lucentd-backup.service lucentd-backup.timer; do
    install -D -m 0644 "systemd/$u" "$r/usr/lib/systemd/system/$u"
done
# 0640: postinst adds a statoverride giving it to group lucent.
install -D -m 0640 packaging/lucentd.toml "$r/etc/lucent/lucentd.toml"
stage_docs "$r" lucentd server/example.toml
build_pkg lucentd "self-hosted dynamic-DNS server (HTTP API and authoritative DNS)" \
"Lucent Drift's server: a DuckDNS-, dyndns2- and LuaDNS-compatible HTTP API for updating
hostnames in shared DDNS zones and records in hosted zones, and an authoritative DNS
responder answering for them, with all state in one SQLite file.

The package runs lucentd as the unprivileged system user 'lucent' under a sandboxed
systemd unit that may bind port 53 and nothing more."

# ---- lucent-agent --------------------------------------------------------------------------
r=$work/lucent-agent
install -D -m 0755 "$bin_dir/lucent-agent" "$r/usr/bin/lucent-agent"
for u in lucent-agent.service lucent-agent-once.service lucent-agent-once.timer; do
    install -D -m 0644 "systemd/$u" "$r/usr/lib/systemd/system/$u"
done
install -D -m 0640 packaging/agent.toml "$r/etc/lucent/agent.toml"
stage_docs "$r" lucent-agent agent/example.toml
build_pkg lucent-agent "dynamic-DNS updater for Lucent Drift and compatible servers" \
"A small agent that detects the public IPv4 and IPv6 addresses of the host (by asking the
server or by reading an interface) and pushes changes to a Lucent Drift, DuckDNS-style or
dyndns2 server.

Nothing is started on installation: configure /etc/lucent/agent.toml, then enable
lucent-agent.service (daemon) or lucent-agent-once.timer (one push every 5 minutes)."
