#!/usr/bin/python3
"""DNS UPDATE load: C concurrent clients, each sending TSIG-signed (hmac-sha256) UPDATEs
(RFC 2136) one at a time and waiting for each answer, for a warm-up and then a measured
window. Every UPDATE replaces the A RRset of one existing name:

    zone ZONE SOA IN
    update delete hK.ZONE A          (class ANY, TTL 0, no rdata: RFC 2136 §2.5.2)
    update add    hK.ZONE 60 A IP    (class IN)

Client c owns the names hK with K % C == c and walks them round-robin, so no two clients
touch one name and the last value of each name is known. Every IP is new in the run
(10.S.x.y, S from --salt and the client), so a stale answer cannot pass for the last write.

    update_load.py --port P --zone Z --key-name K --secret B64 [--names 1000] [--clients 4]
                   [--warmup 3] [--duration 15] [--transport udp|tcp] [--salt 0]
                   [--expect FILE]

One process per client (no GIL between them; no process per update). Messages are built and
signed by hand (struct + hmac, ~10 µs) because dnspython's builder costs more per update than
some of the servers measured; the first message and the first answer are cross-checked with
dnspython (the TSIG of the request must verify under dnspython, dnspython must verify the
server's signed answer), so the hand-written path is held to a reference. Each answer's TSIG
is verified (RFC 8945 §5.3: request MAC, answer without its TSIG, TSIG variables).

Prints `RESULT key=value ...`: ok (NOERROR answers received in the window), ok_rps, p50_ms,
p99_ms (latency of those), errors (everything else, window or not: rcodes, timeouts, bad
answer signatures), errs (breakdown), sent, client_cpu (share of one CPU the clients used in
the window), server_cpu_s (with --server-pid: CPU seconds of that process tree in the
window). --expect writes `name. ip [ip...]` per name touched: the value the server must serve now (several values only where the last update timed out: it may or may not be in).
Only 127.0.0.1 is contacted.
"""

import argparse
import base64
import hmac
import multiprocessing as mp
import os
import socket
import struct
import sys
import time
from array import array

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}
TSIG_ERRORS = {16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 22: "BADTRUNC"}
FUDGE = 300
TIMEOUT_S = 2.0
T_TSIG, C_ANY, C_IN, T_A, T_SOA = 250, 255, 1, 1, 6


def wire_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def skip_name(buf: bytes, i: int) -> int:
    while True:
        n = buf[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += n + 1


class Signer:
    """Builds and signs one UPDATE; verifies the signed answer."""

    def __init__(self, zone: str, key_name: str, secret: bytes, names: int):
        self.secret = secret
        self.key_wire = wire_name(key_name.lower())
        self.alg_wire = wire_name("hmac-sha256")
        self.zone_q = wire_name(zone) + struct.pack("!HH", T_SOA, C_IN)
        # Per name: the delete RR, and the add RR up to its 4 rdata octets.
        self.rrs = [None]
        for k in range(1, names + 1):
            n = wire_name(f"h{k}.{zone}")
            self.rrs.append((n + struct.pack("!HHIH", T_A, C_ANY, 0, 0),
                             n + struct.pack("!HHIH", T_A, C_IN, 60, 4)))
        self.tsig_rr_head = self.key_wire + struct.pack("!HHI", T_TSIG, C_ANY, 0)
        self.rdlen = len(self.alg_wire) + 6 + 2 + 2 + 32 + 6
        self.vars_head = self.key_wire + struct.pack("!HI", C_ANY, 0) + self.alg_wire

    def update(self, qid: int, k: int, ip: bytes, now: int):
        """The signed message and its MAC."""
        dele, add = self.rrs[k]
        body = self.zone_q + dele + add + ip
        t48 = struct.pack("!Q", now)[2:]
        unsigned = struct.pack("!6H", qid, 0x2800, 1, 0, 2, 0) + body
        tvars = self.vars_head + t48 + struct.pack("!HHH", FUDGE, 0, 0)
        mac = hmac.digest(self.secret, unsigned + tvars, "sha256")
        msg = (struct.pack("!6H", qid, 0x2800, 1, 0, 2, 1) + body + self.tsig_rr_head
               + struct.pack("!H", self.rdlen) + self.alg_wire + t48
               + struct.pack("!HH", FUDGE, 32) + mac + struct.pack("!HHH", qid, 0, 0))
        return msg, mac

    def check(self, resp: bytes, qid: int, req_mac: bytes) -> str:
        """'NOERROR' for a good signed NOERROR answer, else what was wrong."""
        if len(resp) < 12:
            return "short"
        rid, flags, qd, an, ns, ar = struct.unpack_from("!6H", resp, 0)
        if rid != qid:
            return "id"
        if not flags & 0x8000 or (flags >> 11) & 0xF != 5:
            return "not-an-update-answer"
        rc = RCODES.get(flags & 0xF, f"RCODE{flags & 0xF}")
        if ar == 0:
            return f"{rc}-unsigned"
        try:
            i = 12
            for _ in range(qd):
                i = skip_name(resp, i) + 4
            for _ in range(an + ns + ar - 1):
                i = skip_name(resp, i) + 8
                i += 2 + struct.unpack_from("!H", resp, i)[0]
            tsig_at = i
            i = skip_name(resp, i)
            rtype, = struct.unpack_from("!H", resp, i)
            if rtype != T_TSIG:
                return f"{rc}-last-rr-not-tsig"
            i += 10
            i = skip_name(resp, i)  # algorithm
            t48 = resp[i:i + 6]
            fudge, macsize = struct.unpack_from("!HH", resp, i + 6)
            i += 10
            mac = resp[i:i + macsize]
            i += macsize
            orig_id, error, olen = struct.unpack_from("!HHH", resp, i)
            other = resp[i + 6:i + 6 + olen]
        except (IndexError, struct.error):
            return f"{rc}-malformed"
        if error:
            return f"{rc}-TSIG-{TSIG_ERRORS.get(error, error)}"
        data = (struct.pack("!H", len(req_mac)) + req_mac
                + struct.pack("!H", orig_id) + resp[2:10] + struct.pack("!H", ar - 1)
                + resp[12:tsig_at] + self.vars_head + t48
                + struct.pack("!HHH", fudge, error, olen) + other)
        if not hmac.compare_digest(hmac.digest(self.secret, data, "sha256"), mac):
            return f"{rc}-answer-BADSIG"
        return rc


class Conn:
    def __init__(self, port: int, transport: str):
        self.tcp = transport == "tcp"
        self.port = port
        self.open()

    def open(self):
        if self.tcp:
            self.s = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT_S)
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        else:
            self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.s.connect(("127.0.0.1", self.port))
            self.s.settimeout(TIMEOUT_S)

    def exchange(self, msg: bytes, qid: int, deadline: float):
        """The answer with this id, or None on timeout."""
        try:
            if self.tcp:
                self.s.sendall(struct.pack("!H", len(msg)) + msg)
                n, = struct.unpack("!H", self._read(2))
                return self._read(n)
            self.s.send(msg)
            while True:
                r = self.s.recv(65535)
                if len(r) >= 2 and struct.unpack_from("!H", r, 0)[0] == qid:
                    return r
                # A late answer to an earlier (timed-out) request: keep waiting.
                if time.monotonic() > deadline:
                    return None
        except (socket.timeout, ConnectionError, OSError):
            if self.tcp:
                self.s.close()
                self.open()
            return None

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf


def client(c, a, secret, t_start, t_end, out):
    sg = Signer(a.zone, a.key_name, secret, a.names)
    conn = Conn(a.port, a.transport)
    mine = list(range(c + 1, a.names + 1, a.clients))
    lat = array("d")
    errs = {}
    expect = {}  # k -> list of possible current values (text)
    ok = sent = 0
    qid = (c * 16411) & 0xFFFF
    seq = 0
    cpu0 = None
    salt = ((a.salt * a.clients + c) % 200) + 20
    while True:
        now = time.monotonic()
        if now >= t_end:
            break
        if cpu0 is None and now >= t_start:
            cpu0 = os.times()
        k = mine[seq % len(mine)]
        ipn = (10 << 24) | (salt << 16) | (seq & 0xFFFF)
        ip = struct.pack("!I", ipn)
        ipt = socket.inet_ntoa(ip)
        seq += 1
        qid = (qid + 1) & 0xFFFF
        msg, mac = sg.update(qid, k, ip, int(time.time()))
        t0 = time.perf_counter()
        resp = conn.exchange(msg, qid, time.monotonic() + TIMEOUT_S)
        t1 = time.perf_counter()
        sent += 1
        done = time.monotonic()
        in_window = t_start <= done < t_end  # answers received in the measured window
        if resp is None:
            errs["timeout"] = errs.get("timeout", 0) + 1
            expect.setdefault(k, []).append(ipt)  # maybe applied, maybe not
            continue
        res = sg.check(resp, qid, mac)
        if res == "NOERROR":
            expect[k] = [ipt]
            if in_window:
                ok += 1
                lat.append(t1 - t0)
        else:
            errs[res] = errs.get(res, 0) + 1
            if not res.startswith(("FORMERR", "SERVFAIL", "REFUSED", "NOTAUTH", "NOTZONE",
                                   "NOTIMP", "YXDOMAIN", "YXRRSET", "NXDOMAIN", "NXRRSET")):
                expect.setdefault(k, []).append(ipt)
        if seq >= 0x10000:
            break  # would reuse an IP: 65,536 updates per client per run is plenty
    cpu1 = os.times()
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) if cpu0 else 0.0
    out.send((ok, sent, errs, lat.tobytes(), cpu,
              {f"h{k}.{a.zone}.": v for k, v in expect.items()}))
    out.close()


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system, all threads) of process `root` and its descendants."""
    ppid, ticks = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        ppid[int(d)] = int(f[1])
        ticks[int(d)] = int(f[11]) + int(f[12])
    tree, grown = {root}, True
    while grown:
        more = {p for p, pp in ppid.items() if pp in tree and p not in tree}
        tree |= more
        grown = bool(more)
    return sum(ticks.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def selftest(a, secret):
    """The hand-built request verifies under dnspython, and dnspython verifies the server's
    answer to it (one real update of the name selftest-load.ZONE, kept in --expect)."""
    import dns.message
    import dns.name
    import dns.rcode
    import dns.tsig

    key = dns.tsig.Key(a.key_name, secret, "hmac-sha256")
    ring = {dns.name.from_text(a.key_name): key}
    sg = Signer(a.zone, a.key_name, secret, 1)
    name = wire_name(f"selftest-load.{a.zone}")
    sg.rrs[1] = (name + struct.pack("!HHIH", T_A, C_ANY, 0, 0),
                 name + struct.pack("!HHIH", T_A, C_IN, 60, 4))
    ip = bytes([192, 0, 2, (a.salt % 250) + 1])
    msg, mac = sg.update(4242, 1, ip, int(time.time()))
    m = dns.message.from_wire(msg, keyring=ring)  # raises unless our MAC verifies
    assert m.opcode() == 5 and len(m.update) == 2, m
    resp = Conn(a.port, a.transport).exchange(msg, 4242, time.monotonic() + TIMEOUT_S)
    if resp is None:
        sys.exit("selftest: no answer to the first UPDATE")
    r = dns.message.from_wire(resp, keyring=ring, request_mac=mac)  # verifies the answer
    mine = sg.check(resp, 4242, mac)
    if mine != dns.rcode.to_text(r.rcode()):
        sys.exit(f"selftest: hand check says {mine}, dnspython {dns.rcode.to_text(r.rcode())}")
    if mine != "NOERROR":
        sys.exit(f"selftest: first UPDATE answered {mine}")
    return {f"selftest-load.{a.zone}.": [socket.inet_ntoa(ip)]}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--zone", required=True)
    p.add_argument("--key-name", required=True)
    p.add_argument("--secret", required=True, help="base64")
    p.add_argument("--names", type=int, default=1000)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    p.add_argument("--salt", type=int, default=0, help="varies the IPs between runs")
    p.add_argument("--expect", help="write the values the server must now serve here")
    p.add_argument("--server-pid", type=int, help="report this process tree's CPU in the window")
    a = p.parse_args()
    secret = base64.b64decode(a.secret)
    expect = selftest(a, secret)

    t_start = time.monotonic() + 0.2 + a.warmup
    t_end = t_start + a.duration
    ctx = mp.get_context("fork")
    pipes, procs = [], []
    for c in range(a.clients):
        r, w = ctx.Pipe(duplex=False)
        pr = ctx.Process(target=client, args=(c, a, secret, t_start, t_end, w))
        pr.start()
        pipes.append(r)
        procs.append(pr)
    server_cpu = -1.0
    if a.server_pid:
        time.sleep(max(0.0, t_start - time.monotonic()))
        c0 = tree_cpu(a.server_pid)
        time.sleep(max(0.0, t_end - time.monotonic()))
        server_cpu = tree_cpu(a.server_pid) - c0
    ok = sent = 0
    cpu = 0.0
    errs = {}
    lat = array("d")
    for r in pipes:
        o, s, e, lb, cp, ex = r.recv()
        ok += o
        sent += s
        cpu += cp
        for kk, v in e.items():
            errs[kk] = errs.get(kk, 0) + v
        part = array("d")
        part.frombytes(lb)
        lat.extend(part)
        expect.update(ex)
    for pr in procs:
        pr.join()
    s = sorted(lat)

    def pct(q):
        return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else 0.0

    if a.expect:
        with open(a.expect, "w") as f:
            for name, vals in sorted(expect.items()):
                f.write(name + " " + " ".join(vals) + "\n")
    nerr = sum(errs.values())
    breakdown = ",".join(f"{k}:{v}" for k, v in sorted(errs.items())) or "-"
    print(f"RESULT ok={ok} ok_rps={ok / a.duration:.1f} p50_ms={pct(0.50):.3f} "
          f"p99_ms={pct(0.99):.3f} errors={nerr} errs={breakdown} sent={sent} "
          f"client_cpu={cpu / a.duration:.2f} server_cpu_s={server_cpu:.2f} names={len(expect)}")


if __name__ == "__main__":
    main()
