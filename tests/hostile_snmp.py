#!/usr/bin/env python3
"""hostile_snmp.py: a hostile SNMP v1/v2c responder the integration tests drive.

It serves a recording (snmprec: "OID|TAG|VALUE" lines, TAG 4x = hex octets) on one UDP
address, answering GET, GETNEXT and GETBULK, and misbehaves on request:

  --delay S          answer every request S seconds late (0.0); a retry of the agent is
                     answered too, each as late (a slow printer: --delay 1.1)
  --spoof-from A:P   first answer every request from another socket (another port and/or
                     address) with the same request id, then answer genuinely --delay later
  --spoof-set ROW    what the forged answer changes (snmprec row, repeatable)
  --set ROW          a row added or replaced in the recording (repeatable), e.g. another
                     printer's serial number: a serial clone
  --rows PREFIX|TAG|VALUE|N  N more rows PREFIX.1 .. PREFIX.N (a table that walks for
                     hundreds of requests)
  --silent-after N   stop answering after N requests (the printer is gone)
  --repeat N         send every answer N times (duplicates, replays)
  --count FILE       rewritten with the number of requests received after each one
  --ready FILE       created once listening

Python 3 standard library only; a minimal hand-written BER codec (test tool only: the
agent itself uses net-snmp). Runs until killed or --lifetime seconds (default 600).
"""
import argparse
import heapq
import os
import select
import socket
import sys
import time

# ---- BER -------------------------------------------------------------------------------


def ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + ber_len(len(body)) + body


def enc_int(v, tag=0x02):
    n = max(1, (v.bit_length() + 8) // 8)
    return tlv(tag, v.to_bytes(n, "big", signed=True))


def enc_uint(v, tag):
    v &= (1 << 64) - 1
    n = max(1, (v.bit_length() + 8) // 8)
    return tlv(tag, v.to_bytes(n, "big", signed=False))


def enc_oid(oid):
    arcs = oid
    body = bytes([arcs[0] * 40 + arcs[1]])
    for a in arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, body)


def dec(buf, pos):
    """One TLV at pos: (tag, body, next position)."""
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4:
            raise ValueError("bad length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        raise ValueError("truncated")
    return tag, buf[pos:pos + n], pos + n


def dec_seq(body):
    out, pos = [], 0
    while pos < len(body):
        tag, val, pos = dec(body, pos)
        out.append((tag, val))
    return out


def dec_oid(body):
    if not body:
        raise ValueError("empty OID")
    arcs = [body[0] // 40, body[0] % 40]
    v = 0
    for b in body[1:]:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(v)
            v = 0
    return tuple(arcs)


# ---- the recording -----------------------------------------------------------------------

TAGS = {"2": 0x02, "4": 0x04, "5": 0x05, "6": 0x06, "64": 0x40, "65": 0x41, "66": 0x42,
        "67": 0x43, "68": 0x44, "70": 0x46}


def parse_oid(s):
    return tuple(int(x) for x in s.strip(".").split("."))


def encode_value(tag, value):
    hexed = tag.endswith("x")
    t = TAGS[tag.rstrip("x")]
    if t == 0x02:
        return enc_int(int(value))
    if t in (0x41, 0x42, 0x43, 0x46):
        return enc_uint(int(value), t)
    if t == 0x06:
        return enc_oid(parse_oid(value))
    if t == 0x05:
        return tlv(0x05, b"")
    if t == 0x40 and not hexed:
        return tlv(0x40, bytes(int(x) for x in value.split(".")))
    raw = bytes.fromhex(value) if hexed else value.encode("utf-8", "surrogateescape")
    return tlv(t, raw)


def parse_row(line):
    oid, tag, value = line.rstrip("\r\n").split("|", 2)
    return parse_oid(oid), encode_value(tag, value)


def load(path, overrides, generated=()):
    rows = {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                oid, val = parse_row(line)
                rows[oid] = val
    for r in overrides:
        oid, val = parse_row(r)
        rows[oid] = val
    for g in generated:
        prefix, tag, value, n = g.rsplit("|", 3)
        val = encode_value(tag, value)
        base = parse_oid(prefix)
        for i in range(1, int(n) + 1):
            rows[base + (i,)] = val
    return sorted(rows.items())


class Mib:
    def __init__(self, rows):
        self.rows = rows
        self.index = {oid: i for i, (oid, _) in enumerate(rows)}

    def get(self, oid, v1):
        if oid in self.index:
            return self.rows[self.index[oid]][1]
        return None if v1 else tlv(0x81, b"")  # noSuchInstance

    def next(self, oid):
        lo, hi = 0, len(self.rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.rows[mid][0] <= oid:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self.rows):
            return self.rows[lo]
        return oid, None  # endOfMibView


# ---- answering ---------------------------------------------------------------------------


def varbind(oid, value):
    return tlv(0x30, enc_oid(oid) + value)


def answer(mib, msg, community):
    """The response message to one request, or None (not SNMP, wrong community)."""
    tag, body, _ = dec(msg, 0)
    if tag != 0x30:
        return None
    parts = dec_seq(body)
    if len(parts) != 3 or parts[0][0] != 0x02 or parts[1][0] != 0x04:
        return None
    version = int.from_bytes(parts[0][1], "big")
    if version not in (0, 1) or parts[1][1] != community:
        return None
    pdu_tag, pdu = parts[2]
    fields = dec_seq(pdu)
    reqid = int.from_bytes(fields[0][1], "big", signed=True)
    a = int.from_bytes(fields[1][1], "big", signed=True)
    b = int.from_bytes(fields[2][1], "big", signed=True)
    names = [dec_oid(dec_seq(vb)[0][1]) for _, vb in dec_seq(fields[3][1])]
    out, err, erridx = [], 0, 0
    v1 = version == 0
    if pdu_tag == 0xA0:  # GET
        for i, oid in enumerate(names):
            v = mib.get(oid, v1)
            if v is None:
                err, erridx = 2, i + 1
                break
            out.append(varbind(oid, v))
    elif pdu_tag == 0xA1 or (pdu_tag == 0xA5 and v1):  # GETNEXT
        for i, oid in enumerate(names):
            noid, v = mib.next(oid)
            if v is None:
                if v1:
                    err, erridx = 2, i + 1
                    break
                v = tlv(0x82, b"")
            out.append(varbind(noid, v))
    elif pdu_tag == 0xA5:  # GETBULK
        nonrep, maxrep = max(0, a), max(0, min(b, 100))
        for oid in names[:nonrep]:
            noid, v = mib.next(oid)
            out.append(varbind(noid, v if v is not None else tlv(0x82, b"")))
        cur = list(names[nonrep:])
        for _ in range(maxrep):
            for k, oid in enumerate(cur):
                noid, v = mib.next(oid)
                out.append(varbind(noid, v if v is not None else tlv(0x82, b"")))
                cur[k] = noid
            if len(out) > 60:
                break
    else:
        return None
    if err:
        out = [varbind(o, tlv(0x05, b"")) for o in names]
    pdu_out = enc_int(reqid) + enc_int(err) + enc_int(erridx) + tlv(0x30, b"".join(out))
    return tlv(0x30, enc_int(version) + tlv(0x04, community) + tlv(0xA2, pdu_out))


def addr(s):
    host, port = s.rsplit(":", 1)
    if not host.startswith("127."):
        raise argparse.ArgumentTypeError("loopback addresses only: %s" % s)
    return host, int(port)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", type=addr, required=True)
    p.add_argument("--recording", required=True)
    p.add_argument("--community", default="public")
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--spoof-from", type=addr)
    p.add_argument("--spoof-set", action="append", default=[])
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--rows", action="append", default=[])
    p.add_argument("--silent-after", type=int, default=-1)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--count")
    p.add_argument("--ready")
    p.add_argument("--lifetime", type=float, default=600.0)
    a = p.parse_args()

    mib = Mib(load(a.recording, a.set, a.rows))
    forged = Mib(load(a.recording, a.set + a.spoof_set, a.rows)) if a.spoof_from else None
    community = a.community.encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(a.listen)
    spoof = None
    if a.spoof_from:
        spoof = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        spoof.bind(a.spoof_from)
    if a.ready:
        open(a.ready, "w").close()
    queue = []  # (when, seq, data, peer)
    seq = 0
    received = 0
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, data, peer = heapq.heappop(queue)
            for _ in range(a.repeat):
                sock.sendto(data, peer)
        timeout = max(0.0, queue[0][0] - now) if queue else 0.5
        ready, _, _ = select.select([sock], [], [], min(timeout, 0.5))
        if not ready:
            continue
        msg, peer = sock.recvfrom(65535)
        received += 1
        if a.count:
            with open(a.count + ".tmp", "w") as f:
                f.write("%d\n" % received)
            os.replace(a.count + ".tmp", a.count)
        if 0 <= a.silent_after < received:
            continue
        try:
            data = answer(mib, msg, community)
            fake = answer(forged, msg, community) if forged else None
        except (ValueError, IndexError):
            continue
        if data is None:
            continue
        if fake is not None:
            spoof.sendto(fake, peer)
        seq += 1
        heapq.heappush(queue, (time.monotonic() + a.delay, seq, data, peer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
