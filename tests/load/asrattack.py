#!/usr/bin/env python3
"""asrattack.py: attacks on asr-central over HTTP(S), for tests/integration/test_attack.sh.

Every attack is bounded (a number of connections, requests and seconds), talks to a
loopback address only (127.0.0.0/8, ::1, localhost) and stops by itself. Each prints one
JSON object with what it saw. Agents are enrolled with --token (asrload.py's protocol).

  asrattack.py slowloris URL --token T [--conns N] [--seconds S] [--source ADDR]
                         [--sources K] [--probe-source ADDR] [--ca F]
      N connections (from ADDR, or spread over K addresses from ADDR up) each trickle a
      request's headers one byte a second; meanwhile an agent (from --probe-source)
      uploads a small signed batch every half second. Reports how many connections the
      central accepted, cut (and after how long), and the agent's answers.
  asrattack.py bomb URL --token T --kind levels|readings|gzip|values|string
                    [--copies C] [--readings N] [--levels L] [--ca F]
      C copies at once of one validly signed gzip body: N readings of L levels (default
      91,428 x 64, just under 64 MiB of JSON), 1,000,000 small readings, 1 GiB of zeros
      gzipped, millions of empty arrays in an unknown member, or a 60 MB string.
      Reports each answer (status, error text, seconds).
  asrattack.py flood URL --token T [--agents A] [--devices D] [--readings R] [--levels L]
      A agents send one big valid batch each, all at once, retrying 503/429 after their
      Retry-After (as the agent does) for at most --seconds; reports what was stored.
  asrattack.py pages URL --token T --path P [--bearer SK] [--conns N] [--seconds S]
                  [--probe-source ADDR]
      N clients GET P in a loop for S seconds while an agent uploads every half second.
  asrattack.py fill URL --token T [--devices D] [--days N]
      one agent stores D devices with N days of daily readings (a large site's page).

Python standard library only (tests/load/asrload.py for the protocol)."""

import argparse
import gzip
import http.client
import ipaddress
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asrload  # noqa: E402

MAX_SECONDS = 120  # no attack runs longer, whatever it is asked
MAX_CONNS = 2048


def loopback_only(url):
    host = urllib.parse.urlsplit(url).hostname or ''
    if host == 'localhost':
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    sys.exit('asrattack.py: %s is not a loopback address: refused' % host)


def context(ca):
    return ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()


def connect(url, ca, source=None, timeout=10):
    """A connected (TLS when https) socket to the URL's host, from source."""
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port or 80), timeout,
                                 (source, 0) if source else None)
    if u.scheme == 'https':
        s = context(ca).wrap_socket(s, server_hostname=u.hostname)
    return s


def http_conn(url, ca, source=None, timeout=30):
    u = urllib.parse.urlsplit(url)
    src = (source, 0) if source else None
    if u.scheme == 'https':
        return http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout,
                                           source_address=src, context=context(ca))
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout,
                                      source_address=src)


def post(url, ca, path, body, headers, source=None, timeout=60):
    """(status, parsed body, headers, seconds); status 0 when there was no answer."""
    t = time.time()
    c = http_conn(url, ca, source, timeout)
    try:
        try:
            c.connect()
        except (OSError, ssl.SSLError) as e:
            return 0, 'cannot connect: %s' % e, {}, time.time() - t
        try:
            c.request('POST', path, body=body, headers=headers)
        except OSError:
            pass  # answered before the body was read: read the answer
        try:
            r = c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            return 0, 'no answer: %s' % e, {}, time.time() - t
        try:
            parsed = json.loads(data.decode('utf-8'))
        except (UnicodeDecodeError, ValueError):
            parsed = data[:200].decode('utf-8', 'replace')
        return r.status, parsed, dict(r.getheaders()), time.time() - t
    finally:
        c.close()


def enroll(o, name, source=None):
    body = json.dumps({'site_token': o.token, 'hostname': name}).encode()
    st, cred, _, _ = post(o.url, o.ca, '/v1/enroll', body,
                          {'Content-Type': 'application/json'}, source)
    if st != 201:
        sys.exit('asrattack.py: enrolment refused: %s %s' % (st, cred))
    return cred


def signed_post(o, cred, body, source=None, timeout=60):
    h = asrload.signed_headers(cred['agent_id'], cred['secret'], '/v1/batches', body)
    return post(o.url, o.ca, '/v1/batches', body, h, source, timeout)


def small_batch(agent, seq, t):
    return gzip.compress(json.dumps({
        'protocol': 1, 'batch_id': '%s-p%09d' % (agent, seq), 'agent_id': agent,
        'created_at': int(time.time()),
        'devices': [{'key': 'serial:PROBE1', 'serial': 'PROBE1',
                     'supplies': [{'index': 1, 'type': 'toner', 'colorant': 'black'}]}],
        'readings': [{'device': 0, 't': t, 'levels': [[1, 50, 100, 50]]}]}).encode())


class Prober(threading.Thread):
    """An agent uploading a small batch every half second until stopped."""

    def __init__(self, o, source):
        super().__init__(daemon=True)
        self.o, self.source = o, source
        self.cred = enroll(o, 'probe', source)
        self.stop = threading.Event()
        self.answers = []

    def run(self):
        seq, t0 = 0, int(time.time()) - 86400
        while not self.stop.is_set() and seq < 10000:
            seq += 1
            try:
                st, body, _, secs = signed_post(self.o, self.cred,
                                                small_batch(self.cred['agent_id'], seq, t0 + seq),
                                                self.source, timeout=15)
            except OSError as e:
                st, body, secs = 0, str(e), 15
            self.answers.append((st, round(secs, 3), body if st != 200 else ''))
            self.stop.wait(0.5)

    def report(self):
        ok = [a for a in self.answers if a[0] == 200]
        return {'tries': len(self.answers), 'ok': len(ok),
                'max_seconds': max([a[1] for a in self.answers] or [0]),
                'max_ok_seconds': max([a[1] for a in ok] or [0]),
                'failures': [a for a in self.answers if a[0] != 200][:5]}


def addresses(first, n):
    base = ipaddress.ip_address(first)
    return [str(base + i) for i in range(n)]


# ---- slowloris ----------------------------------------------------------------------

def open_many(o, n, sources):
    socks, refused, lock = [], [0], threading.Lock()

    def one(i):
        try:
            s = connect(o.url, o.ca, sources[i % len(sources)], timeout=5)
            s.sendall(b'POST /v1/enroll HTTP/1.1\r\nHost: central\r\n')
            s.setblocking(False)
            with lock:
                socks.append([s, time.time(), None])
        except (OSError, ssl.SSLError):
            with lock:
                refused[0] += 1

    threads = []
    for i in range(n):
        t = threading.Thread(target=one, args=(i,), daemon=True)
        t.start()
        threads.append(t)
        if len(threads) >= 64:
            for t in threads:
                t.join(10)
            threads = []
    for t in threads:
        t.join(10)
    return socks, refused[0]


def closed_by_peer(s):
    try:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return False
        return not s.recv(4096)  # EOF; data (an error answer) also ends it below
    except ssl.SSLWantReadError:
        return False
    except (OSError, ssl.SSLError):
        return True


def trickle(socks, seconds):
    end = time.time() + seconds
    pattern, byte = b'X-Trickle: a\r\n', 0
    while time.time() < end:
        for e in socks:
            if e[2] is not None:
                continue
            if closed_by_peer(e[0]):
                e[2] = time.time()
                continue
            try:
                e[0].send(pattern[byte % len(pattern):][:1])
            except ssl.SSLWantWriteError:
                pass
            except (OSError, ssl.SSLError):
                e[2] = time.time()
        byte += 1
        time.sleep(1)


def cmd_slowloris(o):
    sources = addresses(o.source, o.sources)
    probe = Prober(o, o.probe_source)
    t = time.time()
    socks, refused = open_many(o, min(o.conns, MAX_CONNS), sources)
    opened = time.time() - t
    probe.start()
    trickle(socks, min(o.seconds, MAX_SECONDS))
    probe.stop.set()
    probe.join(20)
    cut = sorted(e[2] - e[1] for e in socks if e[2] is not None)
    for e in socks:
        e[0].close()
    print(json.dumps({
        'asked': o.conns, 'accepted': len(socks), 'refused': refused,
        'open_seconds': round(opened, 2), 'cut': len(cut), 'alive_at_end': len(socks) - len(cut),
        'cut_after_max': round(cut[-1], 1) if cut else None,
        'cut_after_min': round(cut[0], 1) if cut else None, 'probe': probe.report()}))
    return 0


# ---- bombs --------------------------------------------------------------------------

def batch_text(agent, seq, readings_json, n_supplies):
    dev = {'key': 'serial:BOMB1', 'serial': 'BOMB1',
           'supplies': [{'index': i + 1, 'type': 'toner'} for i in range(n_supplies)]}
    head = json.dumps({'protocol': 1, 'batch_id': '%s-b%09d' % (agent, seq), 'agent_id': agent,
                       'created_at': int(time.time()), 'devices': [dev]})
    return (head[:-1] + ',"readings":' + readings_json + ',"events":[]}').encode()


def levels_bomb(agent, seq, n, levels):
    lv = ','.join('[%d,0,0,0]' % (i + 1) for i in range(levels))
    rd = ','.join('{"device":0,"t":%d,"levels":[%s]}' % (i + 1, lv) for i in range(n))
    return batch_text(agent, seq, '[' + rd + ']', levels)


def readings_bomb(agent, seq, n):
    rd = ','.join('{"device":0,"t":%d}' % (i + 1) for i in range(n))
    return batch_text(agent, seq, '[' + rd + ']', 1)


def values_bomb(agent, seq, n):
    """A valid small batch with an unknown member of n empty arrays (ignored members)."""
    text = batch_text(agent, seq, '[]', 1)
    return text[:-1] + b',"x_extra":[' + b','.join([b'[]'] * n) + b']}'


def string_bomb(agent, seq, n):
    text = batch_text(agent, seq, '[]', 1)
    return text[:-1] + b',"x_note":"' + b'a' * n + b'"}'


def gzip_zeros(n):
    """A gzip stream of n zero bytes, built without holding them."""
    import zlib
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b'\0' * (1 << 20)
    out = [z.compress(chunk) for _ in range(n >> 20)]
    out.append(z.flush())
    return b''.join(out)


def cmd_bomb(o):
    cred = enroll(o, 'bomb')
    agent = cred['agent_id']
    if o.kind == 'levels':
        text = levels_bomb(agent, 1, o.readings or 91428, o.levels)
    elif o.kind == 'readings':
        text = readings_bomb(agent, 1, o.readings or 1000000)
    elif o.kind == 'values':
        text = values_bomb(agent, 1, o.readings or 6000000)
    elif o.kind == 'string':
        text = string_bomb(agent, 1, o.readings or 60000000)
    else:
        text = None
    body = gzip_zeros(1 << 30) if text is None else gzip.compress(text, 6)
    answers = [None] * min(o.copies, 64)

    def one(i):
        st, b, h, secs = signed_post(o, cred, body, timeout=90)
        answers[i] = {'status': st, 'error': b.get('error') if isinstance(b, dict) else b,
                      'retry_after': h.get('Retry-After'), 'seconds': round(secs, 2)}

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(answers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(MAX_SECONDS)
    print(json.dumps({'kind': o.kind, 'json_bytes': len(text) if text else 1 << 30,
                      'body_bytes': len(body), 'answers': answers}))
    return 0


# ---- flood of big valid batches ---------------------------------------------------------

def big_batch(agent, seq, prefix, devices, readings, levels, t0):
    lv = [[i + 1, 50, 100, 50] for i in range(levels)]
    devs = [{'key': 'serial:%s%05d' % (prefix, d), 'serial': '%s%05d' % (prefix, d),
             'model': 'Flood Printer', 'vendor': 'Test', 'state': 'active',
             'supplies': [{'index': i + 1, 'description': 'Toner %d' % (i + 1), 'type': 'toner',
                           'class': 'consumed', 'colorant': 'black', 'unit': 'percent'}
                          for i in range(levels)]} for d in range(devices)]
    rds = [{'device': d, 't': t0 + r * 3600, 'page_count': 1000 + r, 'levels': lv}
           for d in range(devices) for r in range(readings)]
    return gzip.compress(json.dumps({'protocol': 1, 'batch_id': '%s-%010d' % (agent, seq),
                                     'agent_id': agent, 'created_at': int(time.time()),
                                     'devices': devs, 'readings': rds}).encode(), 6)


def cmd_flood(o):
    creds = [enroll(o, 'flood-%d' % i) for i in range(min(o.agents, 64))]
    t0 = int(time.time()) - 86400 * 2
    bodies = [big_batch(c['agent_id'], 1, 'FL%02dX' % i, o.devices, o.readings, o.levels, t0)
              for i, c in enumerate(creds)]
    results = [None] * len(creds)
    deadline = time.time() + min(o.seconds, MAX_SECONDS)
    barrier = threading.Barrier(len(creds))

    def one(i):
        barrier.wait(30)
        tries, statuses = 0, []
        while time.time() < deadline and tries < 50:
            tries += 1
            st, b, h, secs = signed_post(o, creds[i], bodies[i], timeout=90)
            statuses.append(st)
            if st == 200:
                break
            if st not in (0, 429, 503):
                break
            time.sleep(min(float(h.get('Retry-After') or 1), max(0, deadline - time.time())))
        results[i] = {'statuses': statuses, 'stored': statuses[-1:] == [200],
                      'last': b if statuses[-1:] != [200] else ''}

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(creds))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(MAX_SECONDS + 10)
    print(json.dumps({'agents': len(creds), 'stored': sum(1 for r in results if r and r['stored']),
                      'busy_answers': sum(r['statuses'].count(503) for r in results if r),
                      'body_bytes': len(bodies[0]), 'results': results}))
    return 0


# ---- page flood -------------------------------------------------------------------------

def cmd_pages(o):
    probe = Prober(o, o.probe_source)
    stop = threading.Event()
    counts, lock = {}, threading.Lock()

    def flood():
        while not stop.is_set():
            try:
                c = http_conn(o.url, o.ca, o.source, timeout=30)
                c.request('GET', o.path, headers={'Authorization': 'Bearer ' + o.bearer}
                          if o.bearer else {})
                st = c.getresponse()
                st.read()
                st = st.status
                c.close()
            except (OSError, http.client.HTTPException):
                st = 0
            with lock:
                counts[st] = counts.get(st, 0) + 1

    threads = [threading.Thread(target=flood, daemon=True) for _ in range(min(o.conns, 256))]
    for t in threads:
        t.start()
    time.sleep(1)
    probe.start()
    time.sleep(min(o.seconds, MAX_SECONDS))
    probe.stop.set()
    stop.set()
    probe.join(20)
    for t in threads:
        t.join(35)
    print(json.dumps({'pages': {str(k): v for k, v in counts.items()}, 'probe': probe.report()}))
    return 0


def fill_batch(cred, seq, first, count, days):
    day = 86400
    t0 = (int(time.time()) // day - days) * day + 3600
    devs, rds = [], []
    for n, d in enumerate(range(first, first + count)):
        devs.append({'key': 'serial:BIG%05d' % d, 'serial': 'BIG%05d' % d, 'model': 'Big Printer',
                     'supplies': [{'index': i + 1, 'type': 'toner', 'class': 'consumed',
                                   'colorant': c, 'unit': 'percent'}
                                  for i, c in enumerate(('black', 'cyan', 'magenta', 'yellow'))]})
        for k in range(days):
            lvl = max(1, 100 - (k * (d % 7 + 1)) % 100)
            rds.append({'device': n, 't': t0 + k * day, 'page_count': 1000 + 40 * k,
                        'levels': [[i + 1, lvl, 100, lvl] for i in range(4)]})
    return gzip.compress(json.dumps({'protocol': 1, 'batch_id': '%s-%010d' % (cred['agent_id'], seq),
                                     'agent_id': cred['agent_id'],
                                     'created_at': int(time.time()), 'devices': devs,
                                     'readings': rds}).encode())


def cmd_fill(o):
    cred = enroll(o, 'fill')
    per = max(1, 50000 // max(1, o.days))  # devices a batch, within the central's bounds
    answers = []
    for seq, first in enumerate(range(0, o.devices, per)):
        body = fill_batch(cred, seq + 1, first, min(per, o.devices - first), o.days)
        st, b, _, secs = signed_post(o, cred, body, timeout=120)
        answers.append({'status': st, 'body': b, 'seconds': round(secs, 2)})
    print(json.dumps({'batches': len(answers), 'answers': answers}))
    return 0 if all(a['status'] == 200 for a in answers) else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest='cmd', required=True)

    def common(name):
        s = sub.add_parser(name)
        s.add_argument('url')
        s.add_argument('--token', required=True)
        s.add_argument('--ca')
        s.add_argument('--seconds', type=float, default=15)
        s.add_argument('--source')
        s.add_argument('--probe-source')
        return s

    s = common('slowloris')
    s.add_argument('--conns', type=int, default=512)
    s.add_argument('--sources', type=int, default=1)
    s = common('bomb')
    s.add_argument('--kind', choices=['levels', 'readings', 'gzip', 'values', 'string'],
                   required=True)
    s.add_argument('--copies', type=int, default=1)
    s.add_argument('--readings', type=int, default=0)
    s.add_argument('--levels', type=int, default=64)
    s = common('flood')
    s.add_argument('--agents', type=int, default=8)
    s.add_argument('--devices', type=int, default=1000)
    s.add_argument('--readings', type=int, default=6)
    s.add_argument('--levels', type=int, default=5)
    s = common('pages')
    s.add_argument('--path', required=True)
    s.add_argument('--bearer', default='')
    s.add_argument('--conns', type=int, default=16)
    s = common('fill')
    s.add_argument('--devices', type=int, default=2000)
    s.add_argument('--days', type=int, default=90)
    o = p.parse_args()
    loopback_only(o.url)
    if o.cmd == 'slowloris' and not o.source:
        o.source = '127.0.0.1'
    return {'slowloris': cmd_slowloris, 'bomb': cmd_bomb, 'flood': cmd_flood,
            'pages': cmd_pages, 'fill': cmd_fill}[o.cmd](o)


if __name__ == '__main__':
    sys.exit(main())
