#!/usr/bin/env python3
"""udpfront.py: UDP fronts that misbehave like slow or hostile SNMP agents, for the sweep test.

  udpfront.py --ready FILE FRONT=MODE[,BACKEND] ...

FRONT is ADDR:PORT, a loopback address this process listens on; BACKEND (ADDR:PORT) is a
real agent (snmpsimd) the front forwards requests to, from one socket per client, and
whose answers it sends back from FRONT, except as MODE says:

  delay:MS[:N]   answers MS milliseconds after the request came (only the first N requests of
                 each client address and port when N is given): a slow printer
  dup            every answer twice
  truncate       the first half of every answer
  wrongid        the answer with its request id changed
  otherport      the answer from another port of the same address
  otheraddr:A    the answer from address A (same port)
  garbage        (no backend) random bytes instead of an answer
  echo           (no backend) the request itself sent back
  flood          (no backend) 30 random datagrams and one of 65,000 bytes for each request

Only 127.0.0.0/8 addresses are accepted. FILE is created once every front listens; stop it
with SIGTERM. Python standard library only; the BER walking below (wrongid) is test code."""

import heapq
import ipaddress
import os
import select
import signal
import socket
import sys
import time


def hostport(text):
    host, _, port = text.rpartition(':')
    if not ipaddress.IPv4Address(host).is_loopback:
        sys.exit('udpfront: refusing %s: loopback addresses only' % host)
    return host, int(port)


def ber_len(b, i):
    """Length of the TLV at i and the offset of its content."""
    n = b[i + 1]
    if n < 0x80:
        return n, i + 2
    k = n & 0x7f
    return int.from_bytes(b[i + 2:i + 2 + k], 'big'), i + 2 + k


def change_reqid(data):
    """The message with the last byte of its request id changed (v1/v2c)."""
    b = bytearray(data)
    try:
        _, i = ber_len(b, 0)          # message SEQUENCE
        n, j = ber_len(b, i)          # version
        i = j + n
        n, j = ber_len(b, i)          # community
        i = j + n
        _, i = ber_len(b, i)          # PDU
        n, j = ber_len(b, i)          # request-id
        b[j + n - 1] ^= 0x5a
    except IndexError:
        pass
    return bytes(b)


class Front:
    def __init__(self, spec):
        front, _, rest = spec.partition('=')
        mode, _, backend = rest.partition(',')
        self.addr = hostport(front)
        self.mode, _, self.arg = mode.partition(':')
        self.backend = hostport(backend) if backend else None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(self.addr)
        self.clients = {}   # client (addr, port) -> backend socket
        self.count = {}     # client -> requests seen
        self.side = None
        if self.mode == 'otherport':
            self.side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.side.bind((self.addr[0], 0))
        elif self.mode == 'otheraddr':
            self.side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.side.bind((hostport(self.arg + ':0')[0], self.addr[1]))


class Proxy:
    def __init__(self, fronts):
        self.fronts = fronts
        self.timers = []    # (when, seq, socket, data, dest)
        self.seq = 0
        self.by_sock = {}   # socket -> (front, client) for backend sockets
        self.pending = {}   # (front, client) -> arrival times of unanswered requests

    def later(self, when, sock, data, dest):
        self.seq += 1
        heapq.heappush(self.timers, (when, self.seq, sock, data, dest))

    def backend_sock(self, f, client):
        s = f.clients.get(client)
        if s is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(f.backend)
            f.clients[client] = s
            self.by_sock[s] = (f, client)
        return s

    def on_request(self, f, data, client):
        now = time.monotonic()
        f.count[client] = f.count.get(client, 0) + 1
        if f.mode == 'garbage':
            f.sock.sendto(os.urandom(20 + len(data) % 200), client)
        elif f.mode == 'echo':
            f.sock.sendto(data, client)
        elif f.mode == 'flood':
            for _ in range(30):
                f.sock.sendto(os.urandom(1 + os.urandom(1)[0]), client)
            f.sock.sendto(b'\x30\x83\x00\xfd\xe5' + os.urandom(64995), client)
        elif f.backend:
            self.pending.setdefault((f, client), []).append((now, f.count[client]))
            self.backend_sock(f, client).send(data)

    def on_answer(self, s):
        f, client = self.by_sock[s]
        data = s.recv(65536)
        queue = self.pending.get((f, client)) or [(time.monotonic(), 0)]
        arrived, nth = queue.pop(0)
        out = f.sock
        if f.mode == 'delay':
            ms, _, limit = f.arg.partition(':')
            if not limit or nth <= int(limit):
                self.later(arrived + int(ms) / 1000.0, out, data, client)
                return
        elif f.mode == 'dup':
            out.sendto(data, client)
        elif f.mode == 'truncate':
            data = data[:len(data) // 2]
        elif f.mode == 'wrongid':
            data = change_reqid(data)
        elif f.mode in ('otherport', 'otheraddr'):
            out = f.side
        out.sendto(data, client)

    def run(self):
        socks = {f.sock: f for f in self.fronts}
        while True:
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, sock, data, dest = heapq.heappop(self.timers)
                sock.sendto(data, dest)
            wait = max(0.0, self.timers[0][0] - now) if self.timers else 1.0
            ready, _, _ = select.select(list(socks) + list(self.by_sock), [], [], wait)
            for s in ready:
                if s in socks:
                    data, client = s.recvfrom(65536)
                    self.on_request(socks[s], data, client)
                else:
                    self.on_answer(s)


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[0] != '--ready':
        sys.exit(__doc__)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    proxy = Proxy([Front(a) for a in args[2:]])
    open(args[1], 'w').close()
    proxy.run()


if __name__ == '__main__':
    main()
