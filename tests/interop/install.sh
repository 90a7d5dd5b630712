#!/usr/bin/env bash
# Install what tests/interop/run.sh needs on Debian bookworm (as root). Idempotent: does
# nothing when everything is there, otherwise one `apt-get update` and one install.
#
#   ddclient 3.10 (+ libio-socket-ssl-perl for its HTTPS mode), inadyn 2.10, dig (dnsutils),
#   openssl, curl, python3 with dns-lexicon 3.11 (python3-lexicon), iproute2 (`ip`, to bring
#   up loopback in the suite's private network namespace).
#
# The clients' Debian packages ship daemons; while installing, a policy-rc.d (unless one is
# already there) keeps them from being started, so no ddclient/inadyn daemon runs with the
# package's default config (which would try to reach the internet).
set -euo pipefail

missing=()
need() { # PACKAGE CHECK-COMMAND...
  local pkg=$1
  shift
  "$@" >/dev/null 2>&1 || missing+=("$pkg")
}
need ddclient command -v ddclient
need libio-socket-ssl-perl perl -MIO::Socket::SSL -e 1
need inadyn command -v inadyn
need dnsutils command -v dig
need openssl command -v openssl
need curl command -v curl
need python3 test -x /usr/bin/python3
need python3-lexicon /usr/bin/python3 -c 'import lexicon.providers.luadns'
need iproute2 command -v ip

if [ ${#missing[@]} -eq 0 ]; then
  echo "interop install: everything present"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "interop install: missing ${missing[*]}; run as root" >&2
  exit 1
fi

made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\n# temporary, tests/interop/install.sh: start no services\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo "interop install: apt-get install ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
