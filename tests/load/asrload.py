#!/usr/bin/env python3
"""asrload.py: a small client of the asr protocol (docs/protocol.md) for tests and load.

  asrload.py enroll URL TOKEN [--ca F]
      enrols one agent; prints {"agent_id", "secret", "site"} (the test keeps the secret).
  asrload.py batch --agent ID [--seq N] [--devices D] [--readings R] [--t0 T] [--prefix P]
      prints a protocol-1 batch (JSON): D devices, R readings each, an hour apart from T0.
  asrload.py send URL --agent ID --secret HEX (--body FILE | --json FILE) [--gzip]
                  [--encoding gzip] [--timestamp T | --skew S] [--bad-sig] [--path P]
                  [--no-sign] [--ca F]
      one signed POST (to /v1/batches by default); prints {"status", "body", "seconds"}.
      --body is sent as is (--encoding names its Content-Encoding), --json is gzipped when
      --gzip is given. --bad-sig signs with another key, --timestamp/--skew forge the clock.
  asrload.py load URL TOKEN --agents N [--batches B] [--devices D] [--readings R]
                  [--expect FILE] [--ca F]
      enrols N agents, then all of them at once send B gzip batches each (retrying 429/503/
      5xx and connection errors as an agent would); writes {"SERIAL": readings} to --expect.
      Exit 0 when every batch was acknowledged with 2xx.

Python standard library only."""

import argparse
import gzip
import hashlib
import hmac
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse


def connection(url, ca, timeout=120):
    u = urllib.parse.urlsplit(url)
    if u.scheme == 'https':
        ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
        return http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout,
                                           context=ctx)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)


def request(url, ca, method, path, body, headers):
    """One request on a new connection; (status, parsed or raw body, headers)."""
    c = connection(url, ca)
    try:
        try:
            c.request(method, path, body=body, headers=headers)
        except OSError:
            pass  # the server answered before reading everything (413): read the answer
        try:
            r = c.getresponse()
        except (OSError, http.client.HTTPException) as e:
            return 0, 'no answer: %s' % e, {}
        data = r.read()
        try:
            parsed = json.loads(data.decode('utf-8'))
        except (UnicodeDecodeError, ValueError):
            parsed = data.decode('utf-8', 'replace')
        return r.status, parsed, dict(r.getheaders())
    finally:
        c.close()


def sign(secret_hex, method, path, ts, body):
    canonical = '\n'.join(['v1', method, path, str(ts), hashlib.sha256(body).hexdigest()])
    mac = hmac.new(bytes.fromhex(secret_hex), canonical.encode(), hashlib.sha256)
    return 'v1=' + mac.hexdigest()


def signed_headers(agent, secret, path, body, ts=None, encoding='gzip'):
    ts = int(time.time()) if ts is None else ts
    h = {'Content-Type': 'application/json', 'X-ASR-Agent': agent, 'X-ASR-Timestamp': str(ts),
         'X-ASR-Signature': sign(secret, 'POST', path, ts, body)}
    if encoding:
        h['Content-Encoding'] = encoding
    return h


def enroll(url, token, ca, hostname='loadtest'):
    body = json.dumps({'site_token': token, 'hostname': hostname,
                       'agent_version': '0.1.0'}).encode()
    return request(url, ca, 'POST', '/v1/enroll', body, {'Content-Type': 'application/json'})


def make_batch(agent, seq, devices, readings, t0, prefix):
    devs, rds = [], []
    for d in range(devices):
        serial = '%s%04d' % (prefix, d)
        devs.append({
            'key': 'serial:' + serial, 'serial': serial,
            'mac': '02:52:00:%02x:%02x:%02x' % ((seq >> 8) & 255, seq & 255, d & 255),
            'ip': '192.0.2.%d' % (d % 250 + 1), 'vendor': 'Test', 'model': 'Load Printer 1',
            'sys_object_id': '1.3.6.1.4.1.99999.1', 'status': {'printer': 'idle', 'errors': []},
            'state': 'active', 'state_since': t0, 'last_good_poll': t0 + readings * 3600,
            'failed_polls': 0,
            'supplies': [
                {'index': 1, 'description': 'Black Toner', 'part_number': 'LT-1K',
                 'type': 'toner', 'class': 'consumed', 'colorant': 'black', 'unit': 'percent'},
                {'index': 2, 'description': 'Drum', 'part_number': 'LD-1',
                 'type': 'opc', 'class': 'consumed', 'colorant': '', 'unit': 'percent'}]})
        for r in range(readings):
            lvl = max(0, 100 - r - d % 50)
            rds.append({'device': d, 't': t0 + r * 3600, 'page_count': 1000 + r * 17,
                        'levels': [[1, lvl, 100, lvl], [2, 80, 100, 80]]})
    rds.sort(key=lambda x: x['t'])
    return {'protocol': 1, 'batch_id': '%s-%010d' % (agent, seq), 'agent_id': agent,
            'agent_version': '0.1.0', 'created_at': int(time.time()), 'devices': devs,
            'readings': rds, 'events': []}


def cmd_enroll(o):
    st, body, _ = enroll(o.url, o.token, o.ca)
    print(json.dumps(body) if st == 201 else json.dumps({'status': st, 'body': body}))
    return 0 if st == 201 else 1


def cmd_batch(o):
    t0 = o.t0 if o.t0 else int(time.time()) - 86400
    json.dump(make_batch(o.agent, o.seq, o.devices, o.readings, t0, o.prefix or 'LT'),
              sys.stdout)
    return 0


def cmd_send(o):
    if o.body:
        body = open(o.body, 'rb').read()
        enc = o.encoding
    else:
        body = open(o.json, 'rb').read()
        enc = None
        if o.gzip:
            body, enc = gzip.compress(body), 'gzip'
    ts = o.timestamp if o.timestamp is not None else int(time.time()) + o.skew
    key = o.secret if not o.bad_sig else hashlib.sha256(b'forged' + o.secret.encode()).hexdigest()
    h = signed_headers(o.agent, key, o.path, body, ts, enc)
    if o.no_sign:
        for k in ('X-ASR-Agent', 'X-ASR-Timestamp', 'X-ASR-Signature'):
            h.pop(k)
    t = time.time()
    st, rb, rh = request(o.url, o.ca, 'POST', o.path, body, h)
    print(json.dumps({'status': st, 'body': rb, 'seconds': round(time.time() - t, 4),
                      'retry_after': rh.get('Retry-After')}))
    return 0


class Agent(threading.Thread):
    def __init__(self, o, n, barrier):
        super().__init__(daemon=True)
        self.o, self.n, self.barrier = o, n, barrier
        self.ok = 0
        self.errors = []
        self.expect = {}

    def run(self):
        o = self.o
        # as a real agent does: a refused or dropped connection (the central's per-address
        # connection limit, when 100 agents share one loopback address) is tried again
        for attempt in range(10):
            st, cred, rh = enroll(o.url, o.token, o.ca, 'load-%03d' % self.n)
            if st and st < 500 and st != 429:
                break
            time.sleep(min(float(rh.get('Retry-After') or 0) or 0.2 * 2 ** attempt, 5))
        try:
            self.barrier.wait(120)
        except threading.BrokenBarrierError:
            pass
        if st != 201:
            self.errors.append('enroll %d %s' % (st, cred))
            return
        t0 = int(time.time()) - 86400 * 2
        prefix = 'LD%03dS' % self.n
        for b in range(o.batches):
            batch = make_batch(cred['agent_id'], b + 1, o.devices, o.readings,
                               t0 + b * o.readings * 3600, prefix)
            body = gzip.compress(json.dumps(batch).encode())
            self.send(cred, body, batch['batch_id'])
        for d in range(o.devices):
            self.expect['%s%04d' % (prefix, d)] = o.batches * o.readings

    def send(self, cred, body, bid):
        for attempt in range(20):
            h = signed_headers(cred['agent_id'], cred['secret'], '/v1/batches', body)
            try:
                st, rb, rh = request(self.o.url, self.o.ca, 'POST', '/v1/batches', body, h)
            except (OSError, http.client.HTTPException) as e:
                st, rb, rh = 0, str(e), {}
            if 200 <= st < 300:
                self.ok += 1
                return
            if st and st < 500 and st != 429:
                break
            time.sleep(min(float(rh.get('Retry-After') or 0) or 0.2 * 2 ** attempt, 5))
        self.errors.append('%s: %s %s' % (bid, st, rb))


def cmd_load(o):
    barrier = threading.Barrier(o.agents)
    agents = [Agent(o, n, barrier) for n in range(o.agents)]
    t = time.time()
    for a in agents:
        a.start()
    for a in agents:
        a.join()
    secs = time.time() - t
    expect = {}
    for a in agents:
        expect.update(a.expect)
    errors = [e for a in agents for e in a.errors]
    if o.expect:
        with open(o.expect, 'w') as f:
            json.dump(expect, f)
    acked = sum(a.ok for a in agents)
    print('# load: %d agents, %d batches acknowledged of %d, %d readings, %.2f s' %
          (o.agents, acked, o.agents * o.batches, sum(expect.values()), secs))
    for e in errors[:10]:
        print('#   error: %s' % e)
    return 0 if not errors and acked == o.agents * o.batches else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    e = sub.add_parser('enroll')
    e.add_argument('url')
    e.add_argument('token')
    e.add_argument('--ca')
    b = sub.add_parser('batch')
    b.add_argument('--agent', required=True)
    b.add_argument('--seq', type=int, default=1)
    b.add_argument('--devices', type=int, default=2)
    b.add_argument('--readings', type=int, default=3)
    b.add_argument('--t0', type=int, default=0)
    b.add_argument('--prefix')
    s = sub.add_parser('send')
    s.add_argument('url')
    s.add_argument('--agent', required=True)
    s.add_argument('--secret', required=True)
    s.add_argument('--body')
    s.add_argument('--json')
    s.add_argument('--gzip', action='store_true')
    s.add_argument('--encoding')
    s.add_argument('--timestamp', type=int)
    s.add_argument('--skew', type=int, default=0)
    s.add_argument('--bad-sig', action='store_true')
    s.add_argument('--no-sign', action='store_true')
    s.add_argument('--path', default='/v1/batches')
    s.add_argument('--ca')
    ld = sub.add_parser('load')
    ld.add_argument('url')
    ld.add_argument('token')
    ld.add_argument('--agents', type=int, default=100)
    ld.add_argument('--batches', type=int, default=3)
    ld.add_argument('--devices', type=int, default=5)
    ld.add_argument('--readings', type=int, default=4)
    ld.add_argument('--expect')
    ld.add_argument('--ca')
    o = p.parse_args()
    if o.cmd == 'send' and not (o.body or o.json):
        p.error('send needs --body or --json')
    return {'enroll': cmd_enroll, 'batch': cmd_batch, 'send': cmd_send,
            'load': cmd_load}[o.cmd](o)


if __name__ == '__main__':
    sys.exit(main())
