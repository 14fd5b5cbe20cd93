#!/usr/bin/env python3
"""refprobe.py: the reference prober of bench/bench_scan.sh, the network's limit for a sweep.

  refprobe.py [--rate PPS] [--timeout MS] [--retries N] [--port P] [--community C] RANGE...

One UDP socket, as nmap's UDP scan or onesixtyone: an SNMPv2c GET of sysObjectID.0 to every
address of the ranges (a.b.c.d, a.b.c.d/n, a.b.c.d-e.f.g.h; loopback only), paced at --rate
probes a second (retries included), each silent address asked again after --timeout, up to
--retries more times. Answers are matched by source address and request id. Prints one line:
'addresses=N answered=M probes=P seconds=S'. Python standard library only; the BER template
of the probe is written out here (a benchmark's peer, not product code)."""

import argparse
import ipaddress
import os
import select
import socket
import sys
import time


def probe(community, reqid):
    """An SNMPv2c GET of 1.3.6.1.2.1.1.2.0 with a 4-byte request id."""
    vb = b'\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x02\x00\x05\x00'
    pdu = b'\x02\x04' + reqid.to_bytes(4, 'big') + b'\x02\x01\x00\x02\x01\x00' + \
        b'\x30' + bytes([len(vb)]) + vb
    body = b'\x02\x01\x01\x04' + bytes([len(community)]) + community + \
        b'\xa0' + bytes([len(pdu)]) + pdu
    return b'\x30' + bytes([len(body)]) + body


def answer_id(data, community):
    """The request id of a v2c Response with our community, or None."""
    off = 2 + 3 + 2 + len(community)
    if len(data) < off + 8 or data[0] != 0x30 or data[1] >= 0x80:
        return None
    if data[7:7 + len(community)] != community or data[off] != 0xa2 or data[off + 1] >= 0x80:
        return None
    if data[off + 2] != 0x02 or data[off + 3] != 4:
        return None
    return int.from_bytes(data[off + 4:off + 8], 'big')


def addresses(ranges):
    for r in ranges:
        if '/' in r:
            net = ipaddress.IPv4Network(r, strict=False)
            hosts = net.hosts() if net.prefixlen <= 30 else iter(net)
        elif '-' in r:
            a, b = (int(ipaddress.IPv4Address(x)) for x in r.split('-'))
            hosts = (ipaddress.IPv4Address(i) for i in range(a, b + 1))
        else:
            hosts = iter([ipaddress.IPv4Address(r)])
        for h in hosts:
            if not h.is_loopback:
                sys.exit('refprobe: refusing %s: loopback addresses only' % h)
            yield str(h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rate', type=int, default=20000)
    ap.add_argument('--timeout', type=int, default=1000)
    ap.add_argument('--retries', type=int, default=1)
    ap.add_argument('--port', type=int, default=161)
    ap.add_argument('--community', default='public')
    ap.add_argument('ranges', nargs='+')
    a = ap.parse_args()
    community = a.community.encode()
    todo = addresses(a.ranges)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.setblocking(False)
    base = int.from_bytes(os.urandom(2), 'big') << 14
    pending = {}        # reqid -> [address, tries, deadline]
    order = []          # (deadline, reqid), in deadline order: every probe waits as long
    head = 0
    count = answered = probes = 0
    exhausted = False
    t0 = time.monotonic()
    tokens, last = a.rate / 50.0, t0
    while True:
        now = time.monotonic()
        tokens = min(a.rate / 50.0, tokens + (now - last) * a.rate)
        last = now
        while head < len(order) and order[head][0] <= now:
            deadline, rid = order[head]
            entry = pending.get(rid)
            if entry is None or entry[2] != deadline:   # answered, or retried since
                head += 1
            elif entry[1] > a.retries:                  # silent after its last try
                del pending[rid]
                head += 1
            elif tokens >= 1:                           # another try, the same request id
                s.sendto(probe(community, rid), (entry[0], a.port))
                entry[1] += 1
                entry[2] = now + a.timeout / 1000.0
                order.append((entry[2], rid))
                tokens -= 1
                probes += 1
                head += 1
            else:
                break
        while tokens >= 1 and not exhausted:
            addr = next(todo, None)
            if addr is None:
                exhausted = True
                break
            count += 1
            rid = (base + count) & 0x7fffffff
            s.sendto(probe(community, rid), (addr, a.port))
            pending[rid] = [addr, 1, now + a.timeout / 1000.0]
            order.append((pending[rid][2], rid))
            tokens -= 1
            probes += 1
        if exhausted and not pending:
            break
        if head > 100000:
            order = order[head:]
            head = 0
        ready, _, _ = select.select([s], [], [], 0.001)
        while ready:
            try:
                data, (src, _) = s.recvfrom(65536)
            except BlockingIOError:
                break
            rid = answer_id(data, community)
            if rid in pending and pending[rid][0] == src:
                del pending[rid]
                answered += 1
    print('addresses=%d answered=%d probes=%d seconds=%.3f' %
          (count, answered, probes, time.monotonic() - t0))


if __name__ == '__main__':
    main()
