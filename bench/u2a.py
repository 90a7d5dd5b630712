#!/usr/bin/env python3
"""Update-to-answer latency: change a hostname's A record through a server's HTTP API, then ask
the server's DNS for it in a tight loop until the new address shows. The time measured runs
from the moment the API answer has been read in full to the DNS response carrying the new
value (so it includes one DNS round trip: the `dns rtt` line gives that round trip alone).

    u2a.py lucent HTTP_HOSTPORT DNS_PORT TOKEN ZONE [SAMPLES]
    u2a.py pdns   HTTP_HOSTPORT DNS_PORT API_KEY ZONE [SAMPLES]

Prints one summary line: samples, timeouts, median/p99/max in microseconds, the share of samples
whose first DNS query already saw the new value, and the plain DNS round trip.
Only 127.0.0.1 is contacted. Standard library only.
"""

import http.client
import json
import socket
import struct
import sys
import time

TIMEOUT_S = 2.0  # per sample: give up waiting for the new value after this long


def dns_query(qid: int, name: str) -> bytes:
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)  # RD clear: authoritative question
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 1, 1)  # A IN


def skip_name(buf: bytes, i: int) -> int:
    while True:
        n = buf[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += n + 1


def a_records(buf: bytes, qid: int):
    """The A rdata of a response with id qid (None if it is not that response)."""
    if len(buf) < 12:
        return None
    rid, _flags, qd, an = struct.unpack(">HHHH", buf[:8])
    if rid != qid:
        return None
    i = 12
    for _ in range(qd):
        i = skip_name(buf, i) + 4
    out = []
    for _ in range(an):
        i = skip_name(buf, i)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", buf[i : i + 10])
        i += 10
        if rtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(buf[i : i + 4]))
        i += rdlen
    return out


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def main() -> int:
    mode, hostport, dns_port, secret, zone = sys.argv[1:6]
    samples = int(sys.argv[6]) if len(sys.argv) > 6 else 200
    host, port = hostport.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", int(dns_port)))
    sock.settimeout(0.5)
    qid = 0

    def ask(name):
        nonlocal qid
        qid = (qid + 1) & 0xFFFF
        sock.send(dns_query(qid, name))
        while True:
            try:
                got = a_records(sock.recv(4096), qid)
            except socket.timeout:
                return None
            if got is not None:
                return got

    def update(label, ip):
        if mode == "lucent":
            conn.request("GET", f"/update?domains={label}&token={secret}&ip={ip}")
        else:
            body = json.dumps(
                {
                    "rrsets": [
                        {
                            "name": f"{label}.{zone}.",
                            "type": "A",
                            "ttl": 60,
                            "changetype": "REPLACE",
                            "records": [{"content": ip, "disabled": False}],
                        }
                    ]
                }
            )
            conn.request(
                "PATCH",
                f"/api/v1/servers/localhost/zones/{zone}.",
                body=body,
                headers={"X-API-Key": secret, "Content-Type": "application/json"},
            )
        r = conn.getresponse()
        data = r.read()
        ok = (r.status == 200 and data == b"OK") if mode == "lucent" else r.status == 204
        if not ok:
            raise SystemExit(f"update failed: {r.status} {data[:200]!r}")

    # Plain DNS round trip (an unchanged name), for reference.
    rtts = []
    for _ in range(200):
        t = time.perf_counter()
        ask(f"h1.{zone}")
        rtts.append(time.perf_counter() - t)
    rtts.sort()

    lat, first_hit, timeouts = [], 0, 0
    for i in range(samples):
        label = f"h{i + 100}"
        ip = f"203.0.113.{(i % 250) + 1}" if i % 2 else f"198.51.100.{(i % 250) + 1}"
        update(label, ip)
        t0 = time.perf_counter()
        name = f"{label}.{zone}"
        tries = 0
        while True:
            tries += 1
            got = ask(name)
            now = time.perf_counter()
            if got == [ip]:
                lat.append(now - t0)
                first_hit += tries == 1
                break
            if now - t0 > TIMEOUT_S:
                timeouts += 1
                break
    lat.sort()
    us = lambda v: f"{v * 1e6:.0f}"  # noqa: E731
    print(
        f"samples={samples} timeouts={timeouts} median_us={us(pct(lat, 50))} p99_us={us(pct(lat, 99))} "
        f"max_us={us(lat[-1]) if lat else 'nan'} first_query_hit={100.0 * first_hit / samples:.0f}% "
        f"dns_rtt_median_us={us(pct(rtts, 50))} dns_rtt_p99_us={us(pct(rtts, 99))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
