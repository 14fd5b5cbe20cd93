#!/usr/bin/env python3
"""fleetday.py: a provider's fleet through the asr protocol, a day at a time (for
bench/bench_central.sh). One agent per site, P printers a site, 4 toners a printer (black,
cyan, magenta, yellow), 24 hourly polls a day in one signed gzip batch a site.

  fleetday.py enroll URL --tokens FILE --creds FILE [--ca F] [--clock START]
      enrols one agent per site (FILE: "SITE TOKEN" lines, from `asr-central site add`);
      writes their credentials as JSON to --creds.
  fleetday.py day URL[,URL...] --creds FILE --day D --per-site P [--senders K] [--ca F]
                  [--clock START]
      builds every site's batch of day D (days since the epoch) in parallel (not timed),
      then sends them all, K at a time, retrying 429/503/5xx as an agent does (timed).
      Several URLs (nodes on one database, as behind a load balancer): site i's agent
      sends to URL i modulo their number.
      Prints one JSON object: levels, readings, batches, seconds, levels_per_s, errors.

--clock START: the central runs on a simulated clock (ASR_TEST_CLOCK=START, common/clock.c)
started at this script's start: requests are signed with that clock's time.

The fleet is deterministic (printer g's use and cartridge phases follow from g): a day can
be built without the days before it. Most printers use 1-6 % of a cartridge a day, one in
a hundred 35 % (a heavy user: 2+ cartridges a week); 7 in 10 report percents, the others
units of a 20,000 (black) or 12,000 (colour) capacity.

Python standard library only; the protocol (enrolment, signing, HTTP) is asrload.py's."""

import argparse
import gzip
import json
import multiprocessing
import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'load'))
import asrload  # noqa: E402

TONERS = (('Black Toner', 'black', 'TK-1K', 20000), ('Cyan Toner', 'cyan', 'TK-1C', 12000),
          ('Magenta Toner', 'magenta', 'TK-1M', 12000), ('Yellow Toner', 'yellow', 'TK-1Y', 12000))
POLLS = 24
T0 = time.time()
CLOCK = [None]  # the simulated clock's start (epoch seconds), or None for the real one


def now():
    return int(CLOCK[0] + (time.time() - T0)) if CLOCK[0] is not None else int(time.time())


def mix(g, k):
    """A reproducible pseudo-random number in [0, 1) for printer g and purpose k."""
    x = (g * 2654435761 + k * 40503 + 12345) & 0xffffffff
    x ^= x >> 13
    x = (x * 1274126177) & 0xffffffff
    x ^= x >> 16
    return x / 4294967296.0


def printer(g):
    """(percent?, [(capacity, daily use as a fraction, phase)] of the 4 toners) of printer g."""
    pct = mix(g, 1) < 0.7
    heavy = mix(g, 2) < 0.01
    base = 0.35 if heavy else 0.01 + 0.05 * mix(g, 3)
    toners = []
    for k, (_, _, _, cap) in enumerate(TONERS):
        rate = base if k == 0 else base * (0.3 + 0.6 * mix(g, 10 + k))
        toners.append((100 if pct else cap, rate, mix(g, 20 + k)))
    return pct, toners


def level(cap, rate, phase, t):
    """Remaining of a cartridge at time t: a saw tooth, a new cartridge when one is empty."""
    used = (phase + rate * t / 86400.0) % 1.0
    return int((1.0 - used) * cap)


def site_batch(job):
    """One site's batch of day `day` as gzip bytes, and its number of levels."""
    site, agent, per, day, first = job
    devs, rds = [], []
    for n in range(per):
        g = first + n
        pct, toners = printer(g)
        serial = 'BC%07d' % g
        devs.append({
            'key': 'serial:' + serial, 'serial': serial,
            'mac': '02:bc:%02x:%02x:%02x:%02x' % (g >> 24 & 255, g >> 16 & 255, g >> 8 & 255, g & 255),
            'ip': '192.0.2.%d' % (n % 250 + 1), 'vendor': 'Bench', 'model': 'Bench Colour 500',
            'sys_object_id': '1.3.6.1.4.1.99999.3', 'status': {'printer': 'idle', 'errors': []},
            'state': 'active', 'state_since': day * 86400, 'last_good_poll': day * 86400 + 82800,
            'failed_polls': 0,
            'supplies': [{'index': k + 1, 'description': d, 'part_number': p, 'type': 'toner',
                          'class': 'consumed', 'colorant': c,
                          'unit': 'percent' if pct else 'impressions'}
                         for k, (d, c, p, _) in enumerate(TONERS)]})
        for h in range(POLLS):
            t = day * 86400 + h * 3600 + g % 1800
            lv = []
            for k, (cap, rate, phase) in enumerate(toners):
                x = level(cap, rate, phase, t)
                lv.append([k + 1, x, cap, x * 100 // cap])
            rds.append({'device': n, 't': t, 'page_count': 1000 + int(t / 86400.0 * 400 * toners[0][1]),
                        'levels': lv})
    rds.sort(key=lambda r: r['t'])
    batch = {'protocol': 1, 'batch_id': '%s-d%07d' % (agent, day), 'agent_id': agent,
             'agent_version': '0.1.0', 'created_at': day * 86400 + 86000, 'devices': devs,
             'readings': rds, 'events': []}
    return site, gzip.compress(json.dumps(batch, separators=(',', ':')).encode(), 6), per * POLLS * 4


def cmd_enroll(o):
    sites = [line.split() for line in open(o.tokens) if line.strip()]
    creds = [None] * len(sites)
    work = queue.Queue()
    for i in range(len(sites)):
        work.put(i)
    errors = []

    def worker():
        while True:
            try:
                i = work.get_nowait()
            except queue.Empty:
                return
            name, token = sites[i]
            for attempt in range(10):
                st, body, rh = asrload.enroll(o.url, token, o.ca, 'bench-%s' % name)
                if st == 201:
                    creds[i] = {'site': name, 'agent_id': body['agent_id'], 'secret': body['secret']}
                    break
                if st and st < 500 and st != 429:
                    break
                time.sleep(min(float(rh.get('Retry-After') or 0) or 0.2 * 2 ** attempt, 5))
            if creds[i] is None:
                errors.append('%s: %s %s' % (name, st, body))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump(creds, open(o.creds, 'w'))
    print(json.dumps({'agents': sum(1 for c in creds if c), 'errors': errors[:5]}))
    return 0 if not errors else 1


def send_all(o, creds, bodies):
    """Sends bodies[i] as creds[i], o.senders at a time; (acknowledged, errors, retries)."""
    work = queue.Queue()
    for i in range(len(bodies)):
        work.put(i)
    acked, errors, retries = [0], [], [0]
    lock = threading.Lock()

    def worker():
        while True:
            try:
                i = work.get_nowait()
            except queue.Empty:
                return
            cred, body = creds[i], bodies[i]
            for attempt in range(30):
                h = asrload.signed_headers(cred['agent_id'], cred['secret'], '/v1/batches', body,
                                           now())
                url = o.urls[i % len(o.urls)]
                try:
                    st, rb, rh = asrload.request(url, o.ca, 'POST', '/v1/batches', body, h)
                except Exception as e:  # noqa: BLE001 (http.client fails in several ways)
                    st, rb, rh = 0, str(e), {}
                if 200 <= st < 300:
                    with lock:
                        acked[0] += 1
                    break
                with lock:
                    retries[0] += 1
                if st and st < 500 and st != 429:
                    with lock:
                        errors.append('%s: %s %s' % (cred['site'], st, rb))
                    break
                time.sleep(min(float(rh.get('Retry-After') or 0) or 0.2 * 2 ** attempt, 5))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(o.senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acked[0], errors, retries[0]


def cmd_day(o):
    creds = [c for c in json.load(open(o.creds)) if c]
    jobs = [(i, c['agent_id'], o.per_site, o.day, i * o.per_site) for i, c in enumerate(creds)]
    t = time.time()
    with multiprocessing.Pool(o.jobs) as pool:
        built = pool.map(site_batch, jobs, chunksize=max(1, len(jobs) // (o.jobs * 8)))
    built.sort()
    bodies = [b for _, b, _ in built]
    levels = sum(n for _, _, n in built)
    build_s = time.time() - t
    t = time.time()
    acked, errors, retries = send_all(o, creds, bodies)
    secs = time.time() - t
    print(json.dumps({'day': o.day, 'batches': len(bodies), 'acknowledged': acked,
                      'levels': levels, 'readings': levels // 4, 'seconds': round(secs, 2),
                      'levels_per_s': int(levels / secs) if secs > 0 else 0,
                      'build_seconds': round(build_s, 2),
                      'body_bytes': sum(len(b) for b in bodies), 'retries': retries,
                      'errors': errors[:5]}))
    return 0 if acked == len(bodies) else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    e = sub.add_parser('enroll')
    e.add_argument('url')
    e.add_argument('--tokens', required=True)
    e.add_argument('--creds', required=True)
    e.add_argument('--ca')
    e.add_argument('--clock', type=int)
    d = sub.add_parser('day')
    d.add_argument('url')
    d.add_argument('--creds', required=True)
    d.add_argument('--day', type=int, required=True)
    d.add_argument('--per-site', type=int, default=50)
    d.add_argument('--senders', type=int, default=4)
    d.add_argument('--jobs', type=int, default=2)
    d.add_argument('--ca')
    d.add_argument('--clock', type=int)
    o = p.parse_args()
    o.urls = o.url.split(',')
    for u in o.urls:
        asrload_url_check(u)
    CLOCK[0] = o.clock
    return {'enroll': cmd_enroll, 'day': cmd_day}[o.cmd](o)


def asrload_url_check(url):
    """Loopback only: the bench never sends a packet elsewhere."""
    import ipaddress
    import urllib.parse
    host = urllib.parse.urlsplit(url).hostname or ''
    try:
        ok = host == 'localhost' or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        sys.exit('fleetday.py: %s is not a loopback address: refused' % host)


if __name__ == '__main__':
    sys.exit(main())
