#!/usr/bin/env python3
"""Update-to-secondary-answer latency for bench/secondaries.sh. Two modes, run as two processes
at once so that the load's threads never hold the interpreter lock while the sampler waits:

    sec_latency.py load   HTTP_HOSTPORT TOKEN ZONE FIRST LAST RATE SECONDS [THREADS [BASE]]
    sec_latency.py sample HTTP_HOSTPORT TOKEN ZONE FIRST LAST EVERY_MS SECONDS NAME=PORT...

`load` changes the A record of hostnames hFIRST..hLAST through `/update` at RATE requests per
second in total (THREADS threads, default 4, each on its own keep-alive connection and its own
fixed schedule: a thread that falls behind sends at once and counts the send as late, it never
skips one). Request n (counting from BASE, default 0) sets the address 10.x.y.z numbered n, so
runs with bases far apart never send an address twice and each 200 is a change.
It prints one line: `LOAD sent=… ok=… failed=… rps=… late=… http_p50_ms=… http_p99_ms=…`.

`sample` changes hostnames hFIRST..hLAST in turn, one every EVERY_MS, and from the moment the
`/update` answer has been read in full it asks each named DNS server (UDP on 127.0.0.1:PORT,
RD clear) for the name every POLL_MS (2 ms) until that server answers the new address. For
each server it prints `RESULT name=… samples=… seen=… timeouts=… p50_ms=… p99_ms=… max_ms=…`,
then one line of raw latencies per server (`RAW name=ms,ms,...`). A sample still unseen after
TIMEOUT_S (10 s) counts as a timeout. The sample's hostnames must be apart from the load's, or
the load could overwrite the value being waited for.

`compare` asks every named server for the A, AAAA and TXT records of hFIRST..hLAST and prints
`COMPARE name=… names=… differ=…` for each server after the first, counting the names whose
answers (sorted) differ from the first server's: a check that the secondaries hold the same
zone as the primary once the load is over.

    sec_latency.py compare ZONE FIRST LAST NAME=PORT...

Only 127.0.0.1 is contacted. Standard library only.
"""

import http.client
import select
import socket
import struct
import sys
import threading
import time

POLL_MS = 2.0
TIMEOUT_S = 10.0


def pct(sorted_vals, p):
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


class Updater:
    """One keep-alive HTTP connection to lucentd's /update (http.client reconnects by itself
    when an answer says Connection: close)."""

    def __init__(self, hostport, token):
        host, port = hostport.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)
        self.token = token

    def update(self, label, ip):
        try:
            self.conn.request("GET", f"/update?domains={label}&token={self.token}&ip={ip}")
            r = self.conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            return False
        return r.status == 200 and data == b"OK"


def load(hostport, token, first, last, rate, seconds, threads, base):
    Updater(hostport, token)  # a malformed HOST:PORT fails here, before any thread starts
    span = last - first + 1
    per_thread = rate / threads
    lock = threading.Lock()
    stats = {"sent": 0, "ok": 0, "late": 0}
    times = []
    t_start = time.monotonic() + 0.2

    def worker(w):
        up = Updater(hostport, token)
        period = 1.0 / per_thread
        k = 0
        mine = []
        sent = ok = late = 0
        while True:
            due = t_start + (k + w / threads) * period
            if due - t_start >= seconds:
                break
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > 0.010:
                late += 1
            n = k * threads + w  # unique per request over the run
            label = f"h{first + n % span}"
            a = base + n
            ip = f"10.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
            t0 = time.monotonic()
            good = up.update(label, ip)
            mine.append(time.monotonic() - t0)
            sent += 1
            ok += good
            k += 1
        with lock:
            stats["sent"] += sent
            stats["ok"] += ok
            stats["late"] += late
            times.extend(mine)

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.monotonic() - t_start
    times.sort()
    print(
        f"LOAD sent={stats['sent']} ok={stats['ok']} failed={stats['sent'] - stats['ok']} "
        f"rps={stats['ok'] / elapsed:.1f} late={stats['late']} "
        f"http_p50_ms={pct(times, 50) * 1e3:.2f} http_p99_ms={pct(times, 99) * 1e3:.2f}",
        flush=True,
    )
    return 0


def dns_query(qid, name, qtype=1):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)  # RD clear: an authoritative question
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)  # IN


def skip_name(buf, i):
    while True:
        n = buf[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += n + 1


def parse_a(buf):
    """(id, [A addresses in the answer section]) of a response."""
    qid, _flags, qd, an = struct.unpack(">HHHH", buf[:8])
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
    return qid, out


def sample(hostport, token, zone, first, last, every_ms, seconds, servers):
    sys.setswitchinterval(0.0005)
    names = [n for n, _ in servers]
    socks = {}
    for n, port in servers:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        socks[n] = s
    by_fd = {s.fileno(): n for n, s in socks.items()}
    lock = threading.Lock()
    pending = []  # [label, ip, t0, {server: seconds or None}]
    done = []
    finished = threading.Event()

    def poller():
        qid = 0
        inflight = {}  # (server, qid) -> item
        last_sent = {}  # (server, id(item)) -> time of the last query
        while True:
            now = time.monotonic()
            with lock:
                items = list(pending)
            if not items and finished.is_set():
                return
            for it in items:
                label, ip, t0, seen = it
                for n in names:
                    if seen[n] is not None:
                        continue
                    if now - t0 > TIMEOUT_S:
                        seen[n] = float("inf")
                        continue
                    key = (n, id(it))
                    if now - last_sent.get(key, 0.0) < POLL_MS / 1e3:
                        continue
                    qid = (qid + 1) & 0xFFFF
                    inflight[(n, qid)] = it
                    last_sent[key] = now
                    try:
                        socks[n].send(dns_query(qid, f"{label}.{zone}"))
                    except BlockingIOError:
                        pass
                if all(seen[n] is not None for n in names):
                    with lock:
                        pending.remove(it)
                        done.append(it)
                    for n in names:
                        last_sent.pop((n, id(it)), None)
            ready, _, _ = select.select(list(socks.values()), [], [], POLL_MS / 1e3)
            for s in ready:
                n = by_fd[s.fileno()]
                while True:
                    try:
                        buf = s.recv(4096)
                    except BlockingIOError:
                        break
                    t = time.monotonic()
                    rid, addrs = parse_a(buf)
                    it = inflight.pop((n, rid), None)
                    if it is None:
                        continue
                    if it[3][n] is None and addrs == [it[1]]:
                        it[3][n] = t - it[2]
            # Forget queries whose answers never came (older than a second).
            if len(inflight) > 10000:
                inflight.clear()

    th = threading.Thread(target=poller)
    th.start()
    up = Updater(hostport, token)
    span = last - first + 1
    t_start = time.monotonic()
    k = 0
    failed = 0
    while True:
        due = t_start + k * every_ms / 1e3
        if due - t_start >= seconds:
            break
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        label = f"h{first + k % span}"
        ip = f"172.{16 + (k >> 16) % 16}.{(k >> 8) & 255}.{k & 255}"
        if up.update(label, ip):
            t0 = time.monotonic()
            with lock:
                pending.append([label, ip, t0, {n: None for n in names}])
        else:
            failed += 1
        k += 1
    finished.set()
    th.join()
    for n in names:
        lat = sorted(it[3][n] for it in done)
        seen = [v for v in lat if v != float("inf")]
        timeouts = len(lat) - len(seen)
        ms = lambda v: f"{v * 1e3:.1f}"  # noqa: E731
        print(
            f"RESULT name={n} samples={len(lat)} seen={len(seen)} timeouts={timeouts} failed_updates={failed} "
            f"p50_ms={ms(pct(lat, 50))} p99_ms={ms(pct(lat, 99))} max_ms={ms(lat[-1]) if lat else 'nan'}",
            flush=True,
        )
    for n in names:
        print(f"RAW {n}=" + ",".join(f"{it[3][n] * 1e3:.1f}" for it in done), flush=True)
    return 0


def rdatas(buf, qtype):
    """(id, sorted rdata of type qtype in the answer section) of a response."""
    qid, _flags, qd, an = struct.unpack(">HHHH", buf[:8])
    i = 12
    for _ in range(qd):
        i = skip_name(buf, i) + 4
    out = []
    for _ in range(an):
        i = skip_name(buf, i)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", buf[i : i + 10])
        i += 10
        if rtype == qtype:
            out.append(buf[i : i + rdlen])
        i += rdlen
    return qid, sorted(out)


def compare(zone, first, last, servers):
    answers = {}
    for n, port in servers:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", port))
        s.settimeout(1.0)
        got = {}
        qid = 0
        for h in range(first, last + 1):
            for qtype in (1, 28, 16):  # A, AAAA, TXT
                qid = (qid + 1) & 0xFFFF
                for _try in range(3):
                    s.send(dns_query(qid, f"h{h}.{zone}", qtype))
                    try:
                        rid, data = rdatas(s.recv(4096), qtype)
                    except socket.timeout:
                        continue
                    if rid == qid:
                        got[(h, qtype)] = data
                        break
        answers[n] = got
    ref_name = servers[0][0]
    ref = answers[ref_name]
    for n, _ in servers[1:]:
        differ = sum(1 for h in range(first, last + 1) if any(answers[n].get((h, t)) != ref.get((h, t)) for t in (1, 28, 16)))
        print(f"COMPARE name={n} against={ref_name} names={last - first + 1} differ={differ}", flush=True)
    return 0


def main():
    mode = sys.argv[1]
    if mode == "load":
        hostport, token, _zone, first, last, rate, seconds = sys.argv[2:9]
        threads = int(sys.argv[9]) if len(sys.argv) > 9 else 4
        base = int(sys.argv[10]) if len(sys.argv) > 10 else 0
        return load(hostport, token, int(first), int(last), float(rate), float(seconds), threads, base)
    if mode == "sample":
        hostport, token, zone, first, last, every_ms, seconds = sys.argv[2:9]
        servers = []
        for arg in sys.argv[9:]:
            n, p = arg.split("=", 1)
            servers.append((n, int(p)))
        return sample(hostport, token, zone, int(first), int(last), float(every_ms), float(seconds), servers)
    if mode == "compare":
        zone, first, last = sys.argv[2:5]
        servers = []
        for arg in sys.argv[5:]:
            n, p = arg.split("=", 1)
            servers.append((n, int(p)))
        return compare(zone, int(first), int(last), servers)
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
